"""Google Cloud Storage external-payload storage driver for Durable Workflow."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-storage-gcs")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
