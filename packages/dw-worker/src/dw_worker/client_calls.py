"""Client calls with optional arguments that only some clients accept.

The worker accepts any client with the public call signatures of 0.4.84; ``dw_client.Client`` takes
a few more optional arguments, passed only to a client whose method has them: a worker with the run
cached only needs the history tail, so it asks for a small first page with the poll, and a full
replay pages the rest in at the largest page size (worker-plane.md §3.3); large failure details of
an activity are offloaded with the worker's external-storage settings.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

_accepts_cache: dict[tuple[type, str, str], bool] = {}


def accepts(method: Any, name: str) -> bool:
    """Whether the bound ``method`` takes a keyword argument ``name`` (cached per class)."""
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
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


async def poll_workflow_task(
    client: Any,
    *,
    worker_id: str,
    task_queue: str,
    timeout: float,
    build_id: str | None,
    history_page_size: int | None,
) -> dict[str, Any] | None:
    """``client.poll_workflow_task``, with ``history_page_size`` when the client takes it."""
    method = client.poll_workflow_task
    kwargs: dict[str, Any] = {"worker_id": worker_id, "task_queue": task_queue, "timeout": timeout}
    if build_id:
        kwargs["build_id"] = build_id
    if history_page_size is not None and accepts(method, "history_page_size"):
        kwargs["history_page_size"] = history_page_size
    task = await method(**kwargs)
    return dict(task) if isinstance(task, Mapping) else None


async def workflow_task_history(
    client: Any,
    *,
    task_id: str,
    next_history_page_token: str,
    lease_owner: str,
    workflow_task_attempt: int,
    history_page_size: int | None,
) -> Any:
    """``client.workflow_task_history``, with ``history_page_size`` when the client takes it."""
    method = client.workflow_task_history
    kwargs: dict[str, Any] = {
        "task_id": task_id,
        "next_history_page_token": next_history_page_token,
        "lease_owner": lease_owner,
        "workflow_task_attempt": workflow_task_attempt,
    }
    if history_page_size is not None and accepts(method, "history_page_size"):
        kwargs["history_page_size"] = history_page_size
    return await method(**kwargs)
