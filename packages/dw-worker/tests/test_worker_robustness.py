"""What a worker must survive or support beyond the happy path: terminate, cancel, bad code,
non-determinism, external-storage payloads and plugin-provided interceptors."""

from __future__ import annotations

import asyncio
import types
import uuid
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.errors import Unauthorized, WorkflowCancelled, WorkflowFailed, WorkflowTerminated
from dw_core.metrics import WORKER_TASKS, InMemoryMetrics
from dw_worker import Worker
from dw_worker.interceptors import ActivityHandler, ActivityInterceptorContext, PassthroughWorkerInterceptor

TIMEOUT = 30.0


@activity.defn(name="rob.size")
def size_of(text: str) -> dict[str, Any]:
    return {"length": len(text), "echo": text}


@activity.defn(name="rob.one")
def one() -> int:
    return 1


@activity.defn(name="rob.two")
def two() -> int:
    return 2


@workflow.defn(name="rob.sleeper")
class Sleeper:
    def run(self, ctx: Any) -> Any:
        yield ctx.start_timer(3600)
        return "woke"


@workflow.defn(name="rob.broken")
class Broken:
    def run(self, ctx: Any, n: int) -> Any:
        yield ctx.schedule_activity("rob.one", [])
        raise ZeroDivisionError(f"{n} / 0")


@workflow.defn(name="rob.storage")
class Storage:
    def run(self, ctx: Any, text: str) -> Any:
        measured = yield ctx.schedule_activity("rob.size", [text])
        return {"length": measured["length"], "same": measured["echo"] == text}


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


async def test_terminate_and_cancel_a_waiting_workflow(client: Any, queue: str) -> None:
    async with Worker(client, task_queue=queue, workflows=[Sleeper]):
        terminated = await client.start_workflow(
            workflow_type="rob.sleeper", task_queue=queue, workflow_id=wf_id()
        )
        cancelled = await client.start_workflow(
            workflow_type="rob.sleeper", task_queue=queue, workflow_id=wf_id()
        )
        await asyncio.sleep(0.3)
        await terminated.terminate(reason="test")
        await cancelled.cancel(reason="test")
        with pytest.raises(WorkflowTerminated):
            await terminated.result(timeout=TIMEOUT)
        with pytest.raises(WorkflowCancelled):
            await cancelled.result(timeout=TIMEOUT)


async def test_workflow_code_raising_fails_the_run_and_the_worker_keeps_serving(
    client: Any, queue: str
) -> None:
    async with Worker(client, task_queue=queue, workflows=[Broken, Storage], activities=[one, size_of]):
        broken = await client.start_workflow(
            workflow_type="rob.broken", task_queue=queue, workflow_id=wf_id(), input=[7]
        )
        with pytest.raises(WorkflowFailed) as failed:
            await broken.result(timeout=TIMEOUT)
        assert failed.value.exception_class == "ZeroDivisionError"
        fine = await client.start_workflow(
            workflow_type="rob.storage", task_queue=queue, workflow_id=wf_id(), input=["ok"]
        )
        assert await fine.result(timeout=TIMEOUT) == {"length": 2, "same": True}


def _versioned(activity_type: str) -> type:
    namespace: dict[str, Any] = {"__name__": "rob_versions"}
    exec(
        "class Changing:\n"
        "    def run(self, ctx):\n"
        f"        first = yield ctx.schedule_activity({activity_type!r}, [])\n"
        "        yield ctx.start_timer(1)\n"
        "        return first\n",
        namespace,
    )
    cls: type = workflow.defn(name="rob.changing")(namespace["Changing"])
    return cls


async def test_non_determinism_fails_the_task_not_the_worker(client: Any, queue: str) -> None:
    handle = await client.start_workflow(workflow_type="rob.changing", task_queue=queue, workflow_id=wf_id())
    old = Worker(client, task_queue=queue, workflows=[_versioned("rob.one")], activities=[one, two])
    async with old:
        await _until_history_has(client, handle, "TimerScheduled")
    metrics = InMemoryMetrics()
    new = Worker(
        client,
        task_queue=queue,
        workflows=[_versioned("rob.two"), Storage],
        activities=[one, two, size_of],
        metrics=metrics,
    )
    async with new:
        tags = {"task_kind": "workflow", "task_queue": queue, "outcome": "failed"}
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while metrics.counter_value(WORKER_TASKS, tags) < 1:  # the timer fired; replay hit the change
            assert asyncio.get_running_loop().time() < deadline, "the changed code was never replayed"
            await asyncio.sleep(0.05)
        fine = await client.start_workflow(
            workflow_type="rob.storage", task_queue=queue, workflow_id=wf_id(), input=["still here"]
        )
        assert (await fine.result(timeout=TIMEOUT))["same"] is True
    description = await client.describe_workflow(handle.workflow_id)
    assert description.status not in ("completed", "failed")  # the run waits for fixed code


async def test_large_payloads_travel_through_external_storage(server: Any, queue: str, tmp_path: Any) -> None:
    from dw_client import Client
    from dw_core.external_storage import LocalFilesystemExternalStorage

    storage = LocalFilesystemExternalStorage(tmp_path / "payloads")
    text = "x" * 50_000
    async with (
        Client(server.url, external_storage=storage, external_storage_threshold_bytes=1024) as client,
        Worker(client, task_queue=queue, workflows=[Storage], activities=[size_of]),
    ):
        handle = await client.start_workflow(
            workflow_type="rob.storage", task_queue=queue, workflow_id=wf_id(), input=[text]
        )
        assert await handle.result(timeout=TIMEOUT) == {"length": 50_000, "same": True}
    stored = [p for p in (tmp_path / "payloads").rglob("*") if p.is_file()]
    assert len(stored) >= 2  # the workflow input and the activity's result were offloaded


class Tagging(PassthroughWorkerInterceptor):
    seen: list[str] = []

    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any:
        Tagging.seen.append(context.activity_type)
        return await next(context)


async def test_interceptors_from_plugins_are_used(client: Any, queue: str) -> None:
    from dw_core.plugins import get_plugin_manager, hookimpl

    plugin = types.ModuleType("rob_interceptor_plugin")

    @hookimpl
    def dw_worker_interceptors(task_queue: str, worker_id: str | None, options: Any) -> list[Any]:
        return [Tagging()] if task_queue == queue else []

    plugin.dw_worker_interceptors = dw_worker_interceptors  # type: ignore[attr-defined]
    manager = get_plugin_manager()
    manager.register(plugin)
    try:
        worker = Worker(client, task_queue=queue, workflows=[Storage], activities=[size_of])
        assert any(isinstance(i, Tagging) for i in worker.interceptors)
        async with worker:
            handle = await client.start_workflow(
                workflow_type="rob.storage", task_queue=queue, workflow_id=wf_id(), input=["p"]
            )
            await handle.result(timeout=TIMEOUT)
    finally:
        manager.unregister(plugin)
    assert Tagging.seen == ["rob.size"]


async def _until_history_has(client: Any, handle: Any, event_type: str) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        history = await client.get_history(handle.workflow_id, handle.run_id)
        if any(e["event_type"] == event_type for e in history["events"]):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{event_type} never recorded"
        await asyncio.sleep(0.05)


async def test_worker_plane_calls_carry_the_worker_token() -> None:
    from dw_client import Client
    from dw_devserver import SyncDevServer

    queue = f"auth-{uuid.uuid4().hex[:6]}"
    with SyncDevServer.start(
        long_poll_timeout=2, role_tokens={"ops-secret": "admin", "wrk-secret": "worker"}
    ) as server:
        async with (
            Client(server.url, control_token="ops-secret", worker_token="wrk-secret") as client,
            Worker(client, task_queue=queue, workflows=[Storage], activities=[size_of]),
        ):
            handle = await client.start_workflow(
                workflow_type="rob.storage", task_queue=queue, workflow_id=wf_id(), input=["tok"]
            )
            assert await handle.result(timeout=TIMEOUT) == {"length": 3, "same": True}
        async with Client(server.url, control_token="ops-secret", worker_token="wrong") as client:
            with pytest.raises(Unauthorized):  # registration is refused: nothing polls with a bad token
                async with Worker(client, task_queue=queue, workflows=[Storage]):
                    pass
