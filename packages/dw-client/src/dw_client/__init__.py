"""Async and sync HTTP client for the Durable Workflow server: control plane and the low-level worker-
plane calls.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-client")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
