"""What stands in for activity workers and child runs inside the in-process environment.

A registered activity mock is called the way a worker calls the real activity: with arguments
decoded from the command's payload (so values round-trip the codec exactly as in production), an
``activity.context()`` describing the attempt, and the retry policy of the command applied to
exceptions it raises.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dw_core import activity as core_activity
from dw_core.errors import NonRetryableError

from dw_testing.errors import MissingMockError

__all__ = ["ActivityMocks", "AttemptOutcome", "is_non_retryable", "retry_budget", "run_awaitable"]

WORKER_ID = "workflow-environment"


@dataclass
class AttemptOutcome:
    """What one activity attempt did: returned ``result`` or raised ``error``."""

    result: Any = None
    error: BaseException | None = None


def run_awaitable(awaitable: Any) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running event loop.

    ``execute_workflow`` is synchronous, but tests are often ``async def``: a loop may already run
    in this thread, where ``asyncio.run`` is refused, so the coroutine then runs on a helper thread.
    """

    async def wrapper() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrapper())
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            box["result"] = context.run(asyncio.run, wrapper())
        except BaseException as exc:  # re-raised on the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="dw-testing-awaitable")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


class ActivityMocks:
    """Canned results and callables standing in for activities and child workflows."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}
        self.functions: dict[str, Callable[..., Any]] = {}
        self.child_results: dict[str, Any] = {}
        self.calls: list[tuple[str, list[Any]]] = []

    def child_result(self, workflow_type: str) -> Any:
        """The canned result for child type ``workflow_type``; :class:`MissingMockError` if none."""
        if workflow_type not in self.child_results:
            raise MissingMockError(
                f"the workflow started child workflow {workflow_type!r} but no result is registered for it; "
                f"call env.register_child_workflow_result({workflow_type!r}, <result>) "
                "before execute_workflow",
                kind="child workflow",
                name=workflow_type,
            )
        return self.child_results[workflow_type]

    def attempt(
        self, activity_type: str, arguments: list[Any], info: core_activity.ActivityInfo
    ) -> AttemptOutcome:
        """Run one attempt of ``activity_type`` with ``activity.context()`` describing it."""
        self.calls.append((activity_type, list(arguments)))
        function = self.functions.get(activity_type)
        if function is None:
            if activity_type in self.results:
                return AttemptOutcome(result=self.results[activity_type])
            known = sorted({*self.functions, *self.results})
            raise MissingMockError(
                f"the workflow scheduled activity {activity_type!r} but no mock is registered for it "
                f"(registered: {known}); call env.register_activity_result({activity_type!r}, <result>) "
                f"or env.register_activity({activity_type!r}, <function>) before execute_workflow",
                kind="activity",
                name=activity_type,
            )
        context = core_activity.ActivityContext(info=info)
        # The worker installs the attempt's context the same way, so activity code under test can
        # read activity.context().info (attempt number, task queue, ...).
        token = core_activity._current_context.set(context)
        try:
            value = function(*arguments)
            if inspect.isawaitable(value):
                value = run_awaitable(value)
            return AttemptOutcome(result=value)
        except MissingMockError:
            raise
        except Exception as exc:
            return AttemptOutcome(error=exc)
        finally:
            core_activity._current_context.reset(token)


def retry_budget(retry_policy: Mapping[str, Any] | None) -> tuple[int, list[int], set[str]]:
    """``(max_attempts, backoff_seconds, non_retryable_error_types)`` of a wire retry policy.

    Without a policy an activity gets one attempt, as on the server.
    """
    if not retry_policy:
        return 1, [], set()
    attempts = retry_policy.get("max_attempts")
    max_attempts = attempts if isinstance(attempts, int) and attempts >= 1 else 1
    backoff = [int(s) for s in retry_policy.get("backoff_seconds") or [] if isinstance(s, (int, float))]
    kinds = {str(k) for k in retry_policy.get("non_retryable_error_types") or [] if k}
    return max_attempts, backoff, kinds


def is_non_retryable(error: BaseException, non_retryable_types: set[str]) -> bool:
    """True when ``error`` must not be retried: ``NonRetryableError`` or a listed type name."""
    return isinstance(error, NonRetryableError) or type(error).__name__ in non_retryable_types
