"""Codec, protocol, workflow authoring API, replay engine, errors, retry policies, metrics protocol,
external-storage core and the plugin manager of the Durable Workflow Python SDK.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-core")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
