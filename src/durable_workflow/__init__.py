"""Durable Workflow Python SDK.

The facade over the ``dw-*`` packages: the public API users already know
(``from durable_workflow import Client, Worker, workflow, activity``) re-exported
from the packages that implement it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("durable-workflow")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
