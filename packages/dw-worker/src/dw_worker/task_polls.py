"""The workflow-task poll, with the first-page size the sticky cache wants.

``Client.poll_workflow_task`` (public-api §3.2) has no ``history_page_size`` parameter, although the
server accepts one (worker-plane.md §3.3), and a worker with the run cached only needs the history
tail: fetching the default 500-event first page on every task would dominate its CPU time on long
histories. So when the client accepts ``history_page_size`` it is passed; otherwise, when the client
exposes its worker-plane call (``dw_client.Client._worker_call``), the same poll is sent with the
extra field; anything else gets the plain poll.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Mapping
from typing import Any

import httpx
from dw_core import protocol

_accepts_cache: dict[tuple[type, str, str], bool] = {}


def _accepts(method: Any, name: str) -> bool:
    owner = getattr(method, "__self__", None)
    key = (type(owner), getattr(method, "__name__", ""), name)
    known = _accepts_cache.get(key)
    if known is None:
        known = _accepts_cache[key] = _inspect_accepts(method, name)
    return known


def _inspect_accepts(method: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


async def poll_workflow_task(
    client: Any,
    *,
    worker_id: str,
    task_queue: str,
    timeout: float,
    build_id: str | None,
    history_page_size: int | None,
) -> dict[str, Any] | None:
    method = client.poll_workflow_task
    kwargs: dict[str, Any] = {"worker_id": worker_id, "task_queue": task_queue, "timeout": timeout}
    if build_id:
        kwargs["build_id"] = build_id
    if history_page_size is None:
        return _task(await method(**kwargs))
    if _accepts(method, "history_page_size"):
        return _task(await method(**kwargs, history_page_size=history_page_size))
    worker_call = getattr(client, "_worker_call", None)
    if worker_call is None:
        return _task(await method(**kwargs))
    body: dict[str, Any] = {
        "worker_id": worker_id,
        "task_queue": task_queue,
        "poll_request_id": protocol.WORKFLOW_POLL_REQUEST_PREFIX + secrets.token_hex(16),
        "history_page_size": history_page_size,
    }
    if build_id:
        body["build_id"] = build_id
    # Same contract as the client's poll: one more try with the same id after an HTTP timeout.
    for attempt in range(2):
        try:
            data = await worker_call("/workflow-tasks/poll", body, timeout=timeout, retry_timeouts=False)
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            if attempt == 0:
                continue
            return None
        return _task(data.get("task") if isinstance(data, Mapping) else None)
    return None


def _task(task: Any) -> dict[str, Any] | None:
    return dict(task) if isinstance(task, Mapping) else None
