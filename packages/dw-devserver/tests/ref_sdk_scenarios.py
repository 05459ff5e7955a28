"""Scenarios driven by the published durable-workflow 0.4.84 SDK against a running dev server.

Run with the reference venv's python: ``python ref_sdk_scenarios.py <base_url> [scenario ...]``.
Prints one JSON object mapping scenario name -> {"ok": bool, "value"/"error": ...}. Not a pytest
module: ``test_reference_sdk.py`` runs it in a subprocess (the SDK's import name clashes with ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import traceback
from typing import Any

from durable_workflow import Client, Worker, activity, workflow
from durable_workflow.errors import WorkflowCancelled, WorkflowTerminated

QUEUE = "ref-queue"


@activity.defn(name="greet")
def greet(name: str) -> str:
    return f"hello, {name}"


@activity.defn(name="double")
def double(n: int) -> int:
    return n * 2


@activity.defn(name="slow_double")
async def slow_double(n: int) -> int:
    await asyncio.sleep(1.5)
    return n * 2


@workflow.defn(name="greeter")
class GreeterWorkflow:
    def run(self, ctx, name):  # type: ignore[no-untyped-def]
        result = yield ctx.schedule_activity("greet", [name])
        return result


@workflow.defn(name="approval")
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approved_by: str | None = None
        self.notes: list[str] = []

    @workflow.signal("approve")
    def approve(self, who):  # type: ignore[no-untyped-def]
        self.approved_by = who

    @workflow.query("status")
    def status(self):  # type: ignore[no-untyped-def]
        return {"approved_by": self.approved_by, "notes": list(self.notes)}

    @workflow.update("add_note")
    def add_note(self, note):  # type: ignore[no-untyped-def]
        self.notes.append(note)
        return len(self.notes)

    def run(self, ctx, order):  # type: ignore[no-untyped-def]
        yield ctx.wait_condition(lambda: self.approved_by is not None, key="approval")
        doubled = yield ctx.schedule_activity("double", [order])
        return {"order": order, "doubled": doubled, "approved_by": self.approved_by, "notes": self.notes}


@workflow.defn(name="sleeper")
class SleeperWorkflow:
    def run(self, ctx, seconds):  # type: ignore[no-untyped-def]
        yield ctx.sleep(seconds)
        return "woke"


@workflow.defn(name="child")
class ChildWorkflow:
    def run(self, ctx, n):  # type: ignore[no-untyped-def]
        value = yield ctx.schedule_activity("double", [n])
        return value + 1


@workflow.defn(name="parent")
class ParentWorkflow:
    def run(self, ctx, n):  # type: ignore[no-untyped-def]
        child_result = yield ctx.start_child_workflow("child", [n])
        return {"child": child_result}


@workflow.defn(name="counter")
class CounterWorkflow:
    def run(self, ctx, n, limit):  # type: ignore[no-untyped-def]
        if n >= limit:
            return f"done at {n}"
        return ctx.continue_as_new(n + 1, limit)


@workflow.defn(name="patient")
class PatientWorkflow:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.signal("poke")
    def poke(self):  # type: ignore[no-untyped-def]
        self.pokes += 1

    def run(self, ctx, n):  # type: ignore[no-untyped-def]
        doubled = yield ctx.schedule_activity("slow_double", [n])
        return {"doubled": doubled, "pokes": self.pokes}


@workflow.defn(name="forever")
class ForeverWorkflow:
    def __init__(self) -> None:
        self.go = False

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait_condition(lambda: self.go, key="never")
        return "unreachable"


ALL_WORKFLOWS = [
    PatientWorkflow,
    GreeterWorkflow,
    ApprovalWorkflow,
    SleeperWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    CounterWorkflow,
    ForeverWorkflow,
]
ALL_ACTIVITIES = [greet, double, slow_double]


async def wait_status(client: Client, workflow_id: str, statuses: set[str], timeout: float = 30.0) -> str:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        desc = await client.describe_workflow(workflow_id)
        if desc.status in statuses or loop.time() > end:
            return str(desc.status)
        await asyncio.sleep(0.1)


async def quickstart(url: str) -> Any:
    client = Client(url, namespace="default")
    worker = Worker(client, task_queue="python-workers", workflows=[GreeterWorkflow], activities=[greet])
    handle = await client.start_workflow(
        workflow_type="greeter", workflow_id="greet-1", task_queue="python-workers", input=["world"]
    )
    await worker.run_until(workflow_id="greet-1", timeout=60.0)
    return await client.get_result(handle)


async def signal_query_update(client: Client) -> Any:
    handle = await client.start_workflow(
        workflow_type="approval", workflow_id="approval-1", task_queue=QUEUE, input=[21]
    )
    await wait_status(client, "approval-1", {"waiting"})
    before = await client.query_workflow("approval-1", "status")
    upd = await client.update_workflow("approval-1", "add_note", args=["rush"], wait_for="completed")
    await client.signal_workflow("approval-1", "approve", args=["ada"])
    result = await client.get_result(handle, timeout=60.0)
    return {
        "query_before": before["result"],
        "update_result": upd.get("result"),
        "update_status": upd.get("update_status"),
        "result": result,
    }


async def timer(client: Client) -> Any:
    handle = await client.start_workflow(
        workflow_type="sleeper", workflow_id="sleeper-1", task_queue=QUEUE, input=[1]
    )
    return await client.get_result(handle, timeout=60.0)


async def child(client: Client) -> Any:
    handle = await client.start_workflow(
        workflow_type="parent", workflow_id="parent-1", task_queue=QUEUE, input=[20]
    )
    return await client.get_result(handle, timeout=60.0)


async def continue_as_new(client: Client) -> Any:
    await client.start_workflow(
        workflow_type="counter", workflow_id="counter-1", task_queue=QUEUE, input=[0, 3]
    )
    status = await wait_status(client, "counter-1", {"completed", "failed"}, timeout=60.0)
    desc = await client.describe_workflow("counter-1")
    result = await client.get_result(client.get_workflow_handle("counter-1", run_id=desc.run_id))
    runs = await client.list_workflow_runs("counter-1")
    return {"status": status, "result": result, "runs": len(runs.runs) if hasattr(runs, "runs") else None}


async def signal_during_activity(client: Client) -> Any:
    """A signal wakes the workflow while its activity runs: 0.4.84 re-sends the pending activity."""
    handle = await client.start_workflow(
        workflow_type="patient", workflow_id="patient-1", task_queue=QUEUE, input=[5]
    )
    await wait_status(client, "patient-1", {"waiting"})
    await asyncio.sleep(0.3)
    await client.signal_workflow("patient-1", "poke")
    result = await client.get_result(handle, timeout=60.0)
    desc = await client.describe_workflow("patient-1")
    history = await client.get_history("patient-1", desc.run_id)
    scheduled = [e for e in history["events"] if e["event_type"] == "ActivityScheduled"]
    return {"result": result, "activities_scheduled": len(scheduled)}


async def cancel_and_terminate(client: Client) -> Any:
    out: dict[str, Any] = {}
    for wid, op in (("forever-cancel", "cancel"), ("forever-terminate", "terminate")):
        handle = await client.start_workflow(
            workflow_type="forever", workflow_id=wid, task_queue=QUEUE, input=[]
        )
        await wait_status(client, wid, {"waiting"})
        if op == "cancel":
            await client.cancel_workflow(wid, reason="user asked")
        else:
            await client.terminate_workflow(wid, reason="operator stop")
        try:
            await client.get_result(handle, timeout=30.0)
            out[op] = "no error"
        except WorkflowCancelled as exc:
            out[op] = f"WorkflowCancelled: {exc}"
        except WorkflowTerminated as exc:
            out[op] = f"WorkflowTerminated: {exc}"
    return out


async def schedule_trigger(client: Client) -> Any:
    from durable_workflow.client import ScheduleAction, ScheduleSpec

    await client.create_schedule(
        schedule_id="greet-schedule",
        spec=ScheduleSpec(cron_expressions=["0 0 1 1 *"]),
        action=ScheduleAction(workflow_type="greeter", task_queue=QUEUE, input=["schedule"]),
    )
    fired = await client.trigger_schedule("greet-schedule")
    if not fired.workflow_id:
        return {"outcome": fired.outcome, "result": None}
    await wait_status(client, fired.workflow_id, {"completed", "failed"}, timeout=60.0)
    result = await client.get_result(client.get_workflow_handle(fired.workflow_id, run_id=fired.run_id))
    return {"outcome": fired.outcome, "result": result}


async def standalone_activity(client: Client) -> Any:
    """0.4.84's standalone-activity API: start, its Worker runs it, result, describe and list."""
    handle = await client.start_activity(
        activity_type="double", task_queue=QUEUE, activity_id="ref-standalone-1", input=[21]
    )
    result = await client.get_activity_result(handle, poll_interval=0.1, timeout=60.0)
    described = await client.describe_activity("ref-standalone-1")
    listed = await client.list_activities(status="completed")
    return {
        "result": result,
        "workflow_type": handle.workflow_type,
        "status": described.status,
        "listed": [a.activity_id for a in listed.activities],
    }


SCENARIOS = {
    "signal_query_update": signal_query_update,
    "timer": timer,
    "child": child,
    "continue_as_new": continue_as_new,
    "cancel_and_terminate": cancel_and_terminate,
    "signal_during_activity": signal_during_activity,
    "schedule_trigger": schedule_trigger,
    "standalone_activity": standalone_activity,
}


async def main(url: str, names: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    wanted = names or ["quickstart", *SCENARIOS]
    if "quickstart" in wanted:
        try:
            results["quickstart"] = {"ok": True, "value": await quickstart(url)}
        except Exception as exc:
            results["quickstart"] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(),
            }
    client = Client(url, namespace="default")
    worker = Worker(
        client,
        task_queue=QUEUE,
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        heartbeat_interval=5.0,
        shutdown_timeout=2.0,
    )
    runner = asyncio.create_task(worker.run())
    try:
        for name in wanted:
            if name == "quickstart":
                continue
            try:
                value = await asyncio.wait_for(SCENARIOS[name](client), 90)
                results[name] = {"ok": True, "value": value}
            except Exception as exc:
                results[name] = {
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}",
                    "trace": traceback.format_exc(),
                }
    finally:
        await worker.stop()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
    return results


if __name__ == "__main__":
    out = asyncio.run(main(sys.argv[1], sys.argv[2:]))
    print(json.dumps(out, default=repr))
