"""Installs the running attempt's context so ``activity.context()`` finds it, and clears it afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dw_core.activity import ActivityContext, ActivityInfo, _current_context

from dw_worker.activity_context import HeartbeatRuntime


@contextlib.contextmanager
def activity_context_scope(
    info: dict[str, Any], heartbeat: HeartbeatRuntime, client: Any
) -> Iterator[ActivityContext]:
    """Make the attempt's context current for the block (thread-pool calls copy it with the context)."""
    context = ActivityContext(
        info=ActivityInfo(**info),
        client=client,
        heartbeat=heartbeat.heartbeat,
        is_cancelled=lambda: heartbeat.cancelled,
    )
    token = _current_context.set(context)
    try:
        yield context
    finally:
        _current_context.reset(token)
