"""Testing helpers for Durable Workflow: in-process WorkflowEnvironment, replay helpers and a local
dev-server environment with a pytest plugin.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-testing")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
