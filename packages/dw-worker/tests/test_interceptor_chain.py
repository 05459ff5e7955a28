"""Interceptor composition: first given is outermost, contexts can be replaced, errors propagate."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from dw_worker.interceptors import (
    ActivityHandler,
    ActivityInterceptorContext,
    PassthroughWorkerInterceptor,
    WorkerInterceptor,
    chain_activity,
)


class Recording(PassthroughWorkerInterceptor):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any:
        self.log.append(f"{self.name}>")
        try:
            return await next(context)
        finally:
            self.log.append(f"<{self.name}")


class DoubleArgs(PassthroughWorkerInterceptor):
    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any:
        return await next(dataclasses.replace(context, args=tuple(a * 2 for a in context.args)))


def _context(*args: Any) -> ActivityInterceptorContext:
    return ActivityInterceptorContext(worker_id="w", task_queue="q", task={}, activity_type="add", args=args)


async def test_first_interceptor_is_outermost_and_sees_the_result() -> None:
    log: list[str] = []

    async def innermost(context: ActivityInterceptorContext) -> Any:
        log.append("run")
        return sum(context.args)

    handler = chain_activity([Recording("a", log), Recording("b", log), DoubleArgs()], innermost)
    assert await handler(_context(1, 2)) == 6
    assert log == ["a>", "b>", "run", "<b", "<a"]


async def test_exceptions_reach_every_interceptor() -> None:
    log: list[str] = []

    async def innermost(context: ActivityInterceptorContext) -> Any:
        raise ValueError("boom")

    handler = chain_activity([Recording("a", log)], innermost)
    with pytest.raises(ValueError, match="boom"):
        await handler(_context())
    assert log == ["a>", "<a"]


def test_passthrough_satisfies_the_protocol() -> None:
    assert isinstance(PassthroughWorkerInterceptor(), WorkerInterceptor)
