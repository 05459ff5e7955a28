"""The worker runtime (re-exported from ``dw_worker``)."""

from dw_worker.handshake import QUERY_TASKS_CAPABILITY, ServerCompatibilityError
from dw_worker.worker import Worker

__all__ = ["QUERY_TASKS_CAPABILITY", "ServerCompatibilityError", "Worker"]
