"""The workflow-task poll, with the first-page size the sticky cache wants.

``Client.poll_workflow_task`` (public-api §3.2) has no ``history_page_size`` parameter, although the
server accepts one (worker-plane.md §3.3). When the client in use accepts it, it is passed through;
otherwise the poll goes out without it and the server's default first page (500 events) is used.
"""

from __future__ import annotations

import inspect
from typing import Any


def _accepts(method: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


async def poll_workflow_task(
    client: Any, *, worker_id: str, task_queue: str, timeout: float, history_page_size: int | None
) -> dict[str, Any] | None:
    method = client.poll_workflow_task
    kwargs: dict[str, Any] = {"worker_id": worker_id, "task_queue": task_queue, "timeout": timeout}
    if history_page_size is not None and _accepts(method, "history_page_size"):
        kwargs["history_page_size"] = history_page_size
    task = await method(**kwargs)
    return task if isinstance(task, dict) else None
