"""@activity.defn registration and the activity context accessor."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest
from dw_core import activity
from dw_core.activity import ActivityContext, ActivityInfo


@activity.defn(name="defn.charge")
def charge(amount: int) -> int:
    return amount * 2


@activity.defn(name="defn.async-charge")
async def async_charge(amount: int) -> int:
    return amount * 3


def test_defn_registers_and_returns_the_function_unchanged() -> None:
    assert charge(2) == 4
    assert charge.__activity_name__ == "defn.charge"  # type: ignore[attr-defined]
    registered = activity.registry()
    assert registered["defn.charge"] is charge and registered["defn.async-charge"] is async_charge
    registered.clear()  # a copy
    assert "defn.charge" in activity.registry()


@pytest.mark.parametrize("bad", ["", None, 5])
def test_defn_needs_a_type_name(bad: Any) -> None:
    with pytest.raises(TypeError, match="non-empty type name"):
        activity.defn(name=bad)


def test_context_outside_an_activity_raises() -> None:
    with pytest.raises(RuntimeError, match="outside an activity execution"):
        activity.context()


def test_context_is_what_the_runtime_installed_and_is_cleared_after() -> None:
    beats: list[Any] = []

    async def heartbeat(details: Any) -> None:
        beats.append(details)

    info = ActivityInfo("task-1", "defn.charge", "attempt-1", task_queue="q", worker_id="w")
    context = ActivityContext(info=info, heartbeat=heartbeat, is_cancelled=lambda: bool(beats))
    token = activity._current_context.set(context)
    try:
        current = activity.context()
        assert current.info.attempt_number == 1 and current.info.task_queue == "q"
        before = current.is_cancelled
        asyncio.run(_beat(current))
        after = current.is_cancelled
        assert (before, after) == (False, True)
        assert beats == [{"progress": 1}]
    finally:
        activity._current_context.reset(token)
    with pytest.raises(RuntimeError):
        activity.context()


async def _beat(context: ActivityContext) -> None:
    await context.heartbeat({"progress": 1})


def test_context_follows_copied_contexts_into_threads() -> None:
    info = ActivityInfo("task-2", "defn.charge", "attempt-9", attempt_number=3)
    token = activity._current_context.set(ActivityContext(info=info))
    try:
        copied = contextvars.copy_context()
    finally:
        activity._current_context.reset(token)
    assert copied.run(lambda: activity.context().info.attempt_number) == 3


def test_heartbeat_without_a_runtime_is_a_harmless_awaitable() -> None:
    context = ActivityContext(info=ActivityInfo("t", "a", "x"))
    asyncio.run(_beat(context))
    assert context.is_cancelled is False
