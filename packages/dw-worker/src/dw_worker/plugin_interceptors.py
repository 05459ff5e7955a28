"""Worker interceptors contributed by plugins through core's ``dw_worker_interceptors`` hook."""

from __future__ import annotations

from typing import Any

from dw_core.plugins import worker_interceptors


def plugin_interceptors(*, task_queue: str, worker_id: str) -> tuple[Any, ...]:
    """Interceptors every installed plugin provides for this worker, in plugin registration order."""
    return tuple(worker_interceptors(task_queue=task_queue, worker_id=worker_id))
