"""Worker lifecycle against real servers: handshake, registration, interceptors, shutdown, two workers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.metrics import WORKER_POLLS, WORKER_TASKS, InMemoryMetrics
from dw_worker import Worker
from dw_worker.handshake import ServerCompatibilityError
from dw_worker.interceptors import (
    ActivityHandler,
    ActivityInterceptorContext,
    PassthroughWorkerInterceptor,
    QueryTaskHandler,
    QueryTaskInterceptorContext,
    WorkflowTaskHandler,
    WorkflowTaskInterceptorContext,
)

TIMEOUT = 30.0
ran_on: Counter[str] = Counter()


@activity.defn(name="life.slow")
async def slow(seconds: float) -> float:
    await asyncio.sleep(seconds)
    ran_on[activity.context().info.worker_id] += 1
    return seconds


@activity.defn(name="life.echo")
def echo(value: Any) -> Any:
    return value


@workflow.defn(name="life.one")
class OneActivity:
    def __init__(self) -> None:
        self.stage = "started"

    @workflow.query("stage")
    def current_stage(self) -> str:
        return self.stage

    def run(self, ctx: Any, activity_type: str, arg: Any) -> Any:
        self.stage = "waiting"
        result = yield ctx.schedule_activity(activity_type, [arg])
        self.stage = "done"
        return result


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


# -- handshake ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def incompatible_server(requests: list[str]) -> AsyncIterator[str]:
    """A real HTTP server whose cluster info advertises control plane v3 and records every request."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def anything(request: Request) -> JSONResponse:
        requests.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/cluster/info":
            return JSONResponse({"version": "9.9", "control_plane": {"version": "3"}})
        return JSONResponse({"error": "unexpected"}, status_code=500)

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_incompatible_server_fails_closed_before_registering() -> None:
    from dw_client import Client

    requests: list[str] = []
    async with incompatible_server(requests) as url, Client(url) as client:
        worker = Worker(client, task_queue="q", workflows=[OneActivity], activities=[echo])
        with pytest.raises(ServerCompatibilityError, match=r"control_plane\.version") as raised:
            await worker.run()
        assert raised.value.field == "control_plane.version"
        with pytest.raises(ServerCompatibilityError):
            async with worker:
                pass
    assert requests == ["GET /api/cluster/info", "GET /api/cluster/info"]  # never registered nor polled


# -- registration and metrics ---------------------------------------------------------------------------


async def test_registration_advertises_types_limits_and_runtime(client: Any, queue: str) -> None:
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[OneActivity],
        activities=[echo, slow],
        max_concurrent_workflow_tasks=3,
        max_concurrent_activity_tasks=4,
        build_id="build-7",
    )
    async with worker:
        described = await client.describe_worker(worker.worker_id)
    assert described.task_queue == queue
    assert described.runtime == "python"
    assert described.build_id == "build-7"
    assert sorted(described.supported_workflow_types) == ["life.one"]
    assert sorted(described.supported_activity_types) == ["life.echo", "life.slow"]
    assert described.max_concurrent_workflow_tasks == 3
    assert described.max_concurrent_activity_tasks == 4
    assert str(described.sdk_version).startswith("durable-workflow-python/")


async def test_poll_and_task_metrics(client: Any, queue: str) -> None:
    metrics = InMemoryMetrics()
    worker = Worker(client, task_queue=queue, workflows=[OneActivity], activities=[echo], metrics=metrics)
    async with worker:
        handle = await client.start_workflow(
            workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.echo", 7]
        )
        assert await handle.result(timeout=TIMEOUT) == 7
    tags = {"task_queue": queue}
    assert metrics.counter_value(WORKER_POLLS, {**tags, "task_kind": "workflow", "outcome": "task"}) == 2
    assert metrics.counter_value(WORKER_POLLS, {**tags, "task_kind": "activity", "outcome": "task"}) == 1
    assert metrics.counter_value(WORKER_TASKS, {**tags, "task_kind": "workflow", "outcome": "completed"}) == 2
    assert metrics.counter_value(WORKER_TASKS, {**tags, "task_kind": "activity", "outcome": "completed"}) == 1


# -- interceptors ---------------------------------------------------------------------------------------


class Recorder(PassthroughWorkerInterceptor):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext, next: WorkflowTaskHandler
    ) -> list[dict[str, Any]] | None:
        self.log.append(f"{self.name}:workflow")
        commands = await next(context)
        self.log.append(f"{self.name}:commands:{','.join(c['type'] for c in commands or [])}")
        return commands

    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any:
        self.log.append(f"{self.name}:activity:{context.activity_type}")
        return await next(dataclasses.replace(context, args=(context.args[0] * 2,)))

    async def execute_query_task(self, context: QueryTaskInterceptorContext, next: QueryTaskHandler) -> str:
        outcome = await next(context)
        self.log.append(f"{self.name}:query:{context.task.get('query_name')}:{outcome}")
        return outcome


async def test_interceptors_wrap_every_task_outermost_first(client: Any, queue: str) -> None:
    log: list[str] = []
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[OneActivity],
        activities=[echo],
        interceptors=[Recorder("outer", log), Recorder("inner", log)],
    )
    async with worker:
        handle = await client.start_workflow(
            workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.echo", 5]
        )
        assert await handle.result(timeout=TIMEOUT) == 20  # each activity interceptor doubled the argument
        assert (await handle.query("stage"))["result"] == "done"
    assert log[:2] == ["outer:workflow", "inner:workflow"]
    assert "outer:activity:life.echo" in log and log.index("outer:activity:life.echo") < log.index(
        "inner:activity:life.echo"
    )
    assert log[-2:] == ["inner:query:stage:completed", "outer:query:stage:completed"]
    assert "inner:commands:complete_workflow" in log


# -- shutdown -------------------------------------------------------------------------------------------


async def test_stop_waits_for_running_activities_within_the_timeout(client: Any, queue: str) -> None:
    worker = Worker(client, task_queue=queue, workflows=[OneActivity], activities=[slow], shutdown_timeout=10)
    async with worker:
        handle = await client.start_workflow(
            workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.slow", 0.5]
        )
        await _until(lambda: bool(worker._activity_runner and worker._activity_runner.running))
    assert worker.shutdown_report == {"finished": 1, "cancelled": 0}
    history = await client.get_history(handle.workflow_id, handle.run_id)
    assert "ActivityCompleted" in [e["event_type"] for e in history["events"]]


async def test_stop_cancels_what_outlives_the_timeout_and_reports_it(client: Any, queue: str) -> None:
    worker = Worker(
        client, task_queue=queue, workflows=[OneActivity], activities=[slow], shutdown_timeout=0.2
    )
    async with worker:
        handle = await client.start_workflow(
            workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.slow", 30]
        )
        await _until(lambda: bool(worker._activity_runner and worker._activity_runner.running))
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert worker.shutdown_report == {"finished": 0, "cancelled": 1}
    history = await client.get_history(handle.workflow_id, handle.run_id)
    failures = [
        e for e in history["events"] if e["event_type"] in ("ActivityFailed", "ActivityRetryScheduled")
    ]
    assert failures, "the interrupted attempt was reported to the server"


async def test_sigterm_stops_a_worker_program_cleanly(server: Any, queue: str, tmp_path: Any) -> None:
    script = tmp_path / "worker_program.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from dw_client import Client
            from dw_worker import Worker

            async def main():
                async with Client(sys.argv[1]) as client:
                    worker = Worker(client, task_queue=sys.argv[2])
                    async with worker:
                        print("running", flush=True)
                        await worker._stopped.wait()
                print("bye", flush=True)

            async def main_program():
                async with Client(sys.argv[1]) as client:
                    worker = Worker(client, task_queue=sys.argv[2])
                    task = asyncio.create_task(worker.run(handle_signals=True))
                    await asyncio.sleep(0.3)
                    print("running", flush=True)
                    await task
                print("bye", flush=True)

            asyncio.run(main_program())
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), server.url, queue],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = await asyncio.to_thread(proc.stdout.readline)
    assert line.strip() == "running", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.to_thread(proc.communicate, None, TIMEOUT)
    assert proc.returncode == 0, err[-2000:]
    assert "bye" in out


# -- two workers ----------------------------------------------------------------------------------------


async def test_two_workers_share_one_queue(client: Any, queue: str) -> None:
    ran_on.clear()
    first = Worker(
        client, task_queue=queue, workflows=[OneActivity], activities=[slow], max_concurrent_activity_tasks=1
    )
    second = Worker(
        client, task_queue=queue, workflows=[OneActivity], activities=[slow], max_concurrent_activity_tasks=1
    )
    async with first, second:
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.slow", 0.2]
                )
                for _ in range(6)
            )
        )
        results = await asyncio.gather(*(h.result(timeout=TIMEOUT) for h in handles))
    assert results == [0.2] * 6
    assert ran_on[first.worker_id] >= 1 and ran_on[second.worker_id] >= 1
    assert ran_on[first.worker_id] + ran_on[second.worker_id] == 6


async def _until(predicate: Any) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        await asyncio.sleep(0.02)


async def test_cancelling_run_shuts_down_gracefully_and_returns(client: Any, queue: str) -> None:
    worker = Worker(client, task_queue=queue, workflows=[OneActivity], activities=[slow], shutdown_timeout=10)
    running = asyncio.create_task(worker.run())
    handle = await client.start_workflow(
        workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.slow", 0.3]
    )
    await _until(lambda: bool(worker._activity_runner and worker._activity_runner.running))
    running.cancel()
    await asyncio.wait_for(running, TIMEOUT)  # returns normally: cancellation is swallowed
    assert worker.shutdown_report == {"finished": 1, "cancelled": 0}
    history = await client.get_history(handle.workflow_id, handle.run_id)
    assert "ActivityCompleted" in [e["event_type"] for e in history["events"]]


async def test_a_deregistered_worker_registers_again_and_keeps_working(client: Any, queue: str) -> None:
    metrics = InMemoryMetrics()
    worker = Worker(client, task_queue=queue, workflows=[OneActivity], activities=[echo], metrics=metrics)
    async with worker:
        await client.deregister_worker(worker.worker_id)  # e.g. an operator pruning the roster
        handle = await client.start_workflow(
            workflow_type="life.one", task_queue=queue, workflow_id=wf_id(), input=["life.echo", "back"]
        )
        assert await handle.result(timeout=TIMEOUT) == "back"
        described = await client.describe_worker(worker.worker_id)
    assert described.task_queue == queue
    # The 412 happened and was recovered from; which poller met it first depends on whose poll left
    # after the deregistration (a poll already waiting on the server is not refused).
    refused = sum(
        metrics.counter_value(WORKER_POLLS, {"task_kind": kind, "task_queue": queue, "outcome": "error"})
        for kind in ("workflow", "activity")
    )
    assert refused >= 1
