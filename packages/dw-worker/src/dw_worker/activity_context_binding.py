"""Installs the running attempt's context so ``activity.context()`` finds it, and clears it afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dw_core import activity as core_activity

from dw_worker.activity_context import HeartbeatRuntime


def _build_context(info: dict[str, Any], heartbeat: HeartbeatRuntime, client: Any) -> Any:
    activity_info = core_activity.ActivityInfo(**info)
    return core_activity.ActivityContext(
        info=activity_info,
        client=client,
        heartbeat=heartbeat.heartbeat,
        is_cancelled=lambda: heartbeat.cancelled,
    )


@contextlib.contextmanager
def activity_context_scope(info: dict[str, Any], heartbeat: HeartbeatRuntime, client: Any) -> Iterator[Any]:
    """Make the attempt's context current for the block (thread-pool calls copy it with the context)."""
    context = _build_context(info, heartbeat, client)
    token = core_activity._current_context.set(context)
    try:
        yield context
    finally:
        core_activity._current_context.reset(token)
