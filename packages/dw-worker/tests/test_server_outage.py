"""A worker outlives its server: polls fail while it is down, back off, and resume when it returns."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from typing import Any

from dw_core import workflow
from dw_core.metrics import WORKER_POLLS, InMemoryMetrics
from dw_worker import Worker

TIMEOUT = 30.0


@workflow.defn(name="outage.waits")
class WaitsForSignal:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.signal("deliver")
    def deliver(self, value: str) -> None:
        self.value = value

    def run(self, ctx: Any) -> Any:
        yield ctx.wait_condition(lambda: self.value is not None, key="delivered")
        return self.value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_worker_survives_a_server_restart(tmp_path: Any) -> None:
    from dw_client import Client
    from dw_devserver import DevServer

    port, db = _free_port(), str(tmp_path / "server.sqlite")
    queue = f"outage-{uuid.uuid4().hex[:6]}"
    metrics = InMemoryMetrics()
    async with contextlib.AsyncExitStack() as stack:
        first = DevServer.start(port=port, db=db, long_poll_timeout=1)
        await first.__aenter__()
        client = await stack.enter_async_context(Client(f"http://127.0.0.1:{port}"))
        worker = await stack.enter_async_context(
            Worker(client, task_queue=queue, workflows=[WaitsForSignal], metrics=metrics)
        )
        handle = await client.start_workflow(
            workflow_type="outage.waits", task_queue=queue, workflow_id=f"o-{uuid.uuid4().hex[:8]}"
        )
        await asyncio.sleep(0.5)  # the run reaches its wait
        await first.__aexit__(None, None, None)

        error_tags = {"task_kind": "workflow", "task_queue": queue, "outcome": "error"}
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while metrics.counter_value(WORKER_POLLS, error_tags) < 2:  # polls fail while it is down
            assert asyncio.get_running_loop().time() < deadline, "polls never noticed the outage"
            await asyncio.sleep(0.05)

        second = await stack.enter_async_context(DevServer.start(port=port, db=db, long_poll_timeout=1))
        assert second.url.endswith(str(port))
        await handle.signal("deliver", ["after the outage"])
        assert await handle.result(timeout=TIMEOUT) == "after the outage"
        assert worker._running  # the same worker, never restarted
