"""The embedded Durable Workflow dev server: the same HTTP protocol on SQLite in one process."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-devserver")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
