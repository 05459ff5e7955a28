"""The Durable Workflow Worker runtime: pollers, workflow-task execution with a sticky workflow cache,
activities, queries, updates and interceptors.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_worker.handshake import QUERY_TASKS_CAPABILITY, ServerCompatibilityError
from dw_worker.worker import Worker

try:
    __version__ = version("dw-worker")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["QUERY_TASKS_CAPABILITY", "ServerCompatibilityError", "Worker", "__version__"]
