"""Workflow operations end to end against the in-process dev server, through the public API only.

The tests play the worker with the client's own low-level worker-plane calls, so every exchange is
real HTTP against the real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_client import (
    Client,
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from dw_core import serializer
from dw_core.errors import (
    QueryFailed,
    ServerError,
    SignalFailed,
    UpdateRejected,
    WorkflowAlreadyStarted,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowTerminated,
)
from dw_devserver import DevServer

QUEUE = "orders"
WORKER = "test-worker"


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with DevServer.start(long_poll_timeout=2) as server, Client(server.url) as c:
        await c.register_worker(worker_id=WORKER, task_queue=QUEUE)
        yield c


async def _next_workflow_task(client: Client) -> dict[str, Any]:
    task = await client.poll_workflow_task(worker_id=WORKER, task_queue=QUEUE, timeout=10)
    assert task is not None, "expected a workflow task"
    return task


async def _finish(client: Client, commands: list[dict[str, Any]]) -> dict[str, Any]:
    task = await _next_workflow_task(client)
    await client.complete_workflow_task(
        task_id=task["task_id"],
        lease_owner=WORKER,
        workflow_task_attempt=task["workflow_task_attempt"],
        commands=commands,
    )
    return task


def _complete(value: Any) -> list[dict[str, Any]]:
    return [{"type": "complete_workflow", "result": serializer.envelope(value)}]


async def test_start_describe_complete_and_result(client: Client) -> None:
    handle = await client.start_workflow(
        workflow_type="orders.process",
        task_queue=QUEUE,
        workflow_id="order-1",
        input=[{"order_id": 42}, "gold"],
        memo={"source": "test"},
        search_attributes={"CustomerId": "c-42"},
    )
    assert isinstance(handle, WorkflowHandle)
    assert (handle.workflow_id, handle.workflow_type) == ("order-1", "orders.process")
    assert handle.run_id

    described = await handle.describe()
    assert isinstance(described, WorkflowExecution)
    assert described.input == [{"order_id": 42}, "gold"]
    assert described.status in ("pending", "running")
    assert described.task_queue == QUEUE

    task = await _finish(client, _complete({"shipped": True, "items": [1, 2]}))
    assert task["workflow_id"] == "order-1"
    assert await handle.result(timeout=10) == {"shipped": True, "items": [1, 2]}
    assert await client.get_result(client.get_workflow_handle("order-1"), timeout=10) == {
        "shipped": True,
        "items": [1, 2],
    }

    described = await client.describe_workflow("order-1")
    assert described.status == "completed"
    assert described.output == {"shipped": True, "items": [1, 2]}

    runs = await handle.list_runs()
    assert isinstance(runs, WorkflowRunList)
    assert [run.run_id for run in runs.runs] == [handle.run_id]
    run = await handle.describe_run()
    assert isinstance(run, WorkflowRun)
    assert run.status == "completed" and run.run_id == handle.run_id and run.workflow_type == "orders.process"

    history = await handle.get_history()
    types = [event["event_type"] for event in history["events"]]
    assert types[-1] == "WorkflowCompleted"
    assert history["next_page_token"] is None
    bundle = await handle.export_history()
    assert bundle["schema"] == "durable-workflow.v2.history-export"


async def test_list_workflows_filters_and_pages(client: Client) -> None:
    for n in range(5):
        await client.start_workflow(
            workflow_type="kind-a" if n % 2 else "kind-b", task_queue=QUEUE, workflow_id=f"w-{n}"
        )
    listed = await client.list_workflows(workflow_type="kind-a")
    assert isinstance(listed, WorkflowList)
    assert sorted(e.workflow_id for e in listed.executions) == ["w-1", "w-3"]
    assert all(e.workflow_type == "kind-a" for e in listed.executions)

    seen: list[str] = []
    token: str | None = None
    while True:
        page = await client.list_workflows(page_size=2, next_page_token=token)
        assert len(page.executions) <= 2
        seen.extend(e.workflow_id for e in page.executions)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == [f"w-{n}" for n in range(5)]


async def test_duplicate_start_is_refused_and_use_existing_returns_the_run(client: Client) -> None:
    first = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="dup-1")
    with pytest.raises(WorkflowAlreadyStarted) as info:
        await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="dup-1")
    assert info.value.workflow_id == "dup-1"
    again = await client.start_workflow(
        workflow_type="t", task_queue=QUEUE, workflow_id="dup-1", duplicate_policy="use-existing"
    )
    assert again.run_id == first.run_id


async def test_failed_workflow_raises_workflow_failed(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="fails-1")
    await _finish(
        client, [{"type": "fail_workflow", "message": "card declined", "exception_type": "PaymentError"}]
    )
    with pytest.raises(WorkflowFailed, match="card declined"):
        await handle.result(timeout=10)


async def test_cancel_and_terminate_surface_as_typed_outcomes(client: Client) -> None:
    cancelled = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="c-1")
    await cancelled.cancel(reason="customer asked")
    with pytest.raises(WorkflowCancelled, match="customer asked"):
        await cancelled.result(timeout=10)
    # Not an Exception: a bare ``except Exception`` must not swallow it.
    assert not issubclass(WorkflowCancelled, Exception)

    terminated = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="t-1")
    await client.terminate_workflow("t-1", reason="operator")
    with pytest.raises(WorkflowTerminated, match="operator"):
        await client.get_result(terminated, timeout=10)

    with pytest.raises(ServerError) as info:
        await client.cancel_workflow("t-1")
    assert info.value.status == 409


async def test_get_result_times_out_on_an_open_run(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="slow-1")
    with pytest.raises(TimeoutError, match="slow-1"):
        await handle.result(poll_interval=0.05, timeout=0.3)


async def test_unknown_workflow_and_run_are_workflow_not_found(client: Client) -> None:
    with pytest.raises(WorkflowNotFound) as info:
        await client.describe_workflow("no-such-workflow")
    assert info.value.workflow_id == "no-such-workflow"
    assert info.value.status == 404
    await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="exists-1")
    with pytest.raises(WorkflowNotFound):
        await client.describe_workflow_run("exists-1", "no-such-run")
    with pytest.raises(WorkflowNotFound):
        await client.signal_workflow("no-such-workflow", "go")


async def test_signal_names_with_reserved_characters_reach_the_workflow(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="sig-1")
    names = ["approve", "q?x=1&y=2", "frag#ment", "with space", "pct%41"]
    for name in names:
        await handle.signal(name, [name, 1])
    await handle.signal("no-args")
    history = await handle.get_history()
    received = [e["payload"] for e in history["events"] if e["event_type"] == "SignalReceived"]
    assert [p["signal_name"] for p in received] == [*names, "no-args"]


async def test_history_follows_every_page(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="long-1")
    for n in range(130):
        await handle.signal("tick", [n])
    await _finish(client, _complete("done"))
    history = await handle.get_history()
    events = history["events"]
    sequences = [event["sequence"] for event in events]
    assert len(events) > 130, "the server pages at 100 events; all pages must be merged"
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    # The terminal event is past the first page: get_result must still find it.
    assert await handle.result(timeout=10) == "done"


async def test_query_answered_by_a_worker_and_query_failures(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="q-1")

    async def answer_one() -> dict[str, Any]:
        task = await client.poll_query_task(worker_id=WORKER, task_queue=QUEUE, timeout=10)
        assert task is not None
        if task["query_name"] == "status":
            await client.complete_query_task(
                query_task_id=task["query_task_id"],
                lease_owner=WORKER,
                query_task_attempt=task["query_task_attempt"],
                result={"state": "packing", "args": serializer.decode_envelope(task["query_arguments"])},
            )
        else:
            await client.fail_query_task(
                query_task_id=task["query_task_id"],
                lease_owner=WORKER,
                query_task_attempt=task["query_task_attempt"],
                message=f"unknown query {task['query_name']}",
                reason="rejected_unknown_query",
            )
        return task

    await client.heartbeat_worker(worker_id=WORKER)
    worker = asyncio.create_task(answer_one())
    answer = await handle.query("status", [7])
    assert answer["result"] == {"state": "packing", "args": [7]}
    await worker

    worker = asyncio.create_task(answer_one())
    with pytest.raises(QueryFailed) as info:
        await client.query_workflow("q-1", "nope")
    await worker
    assert info.value.reason == "rejected_unknown_query"
    assert info.value.status == 404


async def test_update_is_accepted_and_completed_by_the_worker(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="u-1")
    task = await _next_workflow_task(client)
    await client.complete_workflow_task(
        task_id=task["task_id"],
        lease_owner=WORKER,
        workflow_task_attempt=task["workflow_task_attempt"],
        commands=[{"type": "start_timer", "delay_seconds": 3600}],
    )
    accepted = await handle.update("set_quota", [50], wait_for="accepted", request_id="req-1")
    assert accepted["update_status"] in ("accepted", "completed")
    update_task = await _next_workflow_task(client)
    assert update_task.get("workflow_update_id")
    await client.complete_workflow_task(
        task_id=update_task["task_id"],
        lease_owner=WORKER,
        workflow_task_attempt=update_task["workflow_task_attempt"],
        commands=[
            {
                "type": "complete_update",
                "update_id": update_task["workflow_update_id"],
                "result": serializer.envelope({"quota": 50}),
            }
        ],
    )
    # Same request id: the server returns the same update, now completed, rather than applying it again.
    done = await handle.update(
        "set_quota", [50], wait_for="completed", wait_timeout_seconds=5, request_id="req-1"
    )
    assert done["update_status"] == "completed"
    assert done["update_id"] == accepted["update_id"]


async def test_repair_and_archive_return_command_results(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="ra-1")
    repaired = await handle.repair()
    assert isinstance(repaired, WorkflowCommandResult)
    assert repaired.workflow_id == "ra-1" and repaired.outcome
    with pytest.raises(ServerError) as info:
        await handle.archive(reason="too early")
    assert info.value.status == 409 and info.value.reason() == "run_not_closed"
    await _finish(client, _complete(None))
    archived = await handle.archive(reason="cleanup")
    assert archived.outcome == "archived"
    again = await client.archive_workflow("ra-1")
    assert again.outcome == "archive_not_needed"


async def test_result_follows_continue_as_new_from_a_pinned_run(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="can-1", input=[1])
    first_run = handle.run_id
    await _finish(client, [{"type": "continue_as_new", "arguments": serializer.envelope([2])}])
    task = await _finish(client, _complete("final"))
    assert task["run_id"] != first_run
    assert await handle.result(timeout=10) == "final"
    runs = await client.list_workflow_runs("can-1")
    assert [run.run_id for run in runs.runs] == [first_run, task["run_id"]]
    assert runs.runs[0].closed_reason == "continued"


async def test_receiver_errors_from_the_server_are_typed() -> None:
    async with DevServer.start(long_poll_timeout=2) as server, Client(server.url) as client:
        handle = await client.start_workflow(workflow_type="t", task_queue="nobody-polls", workflow_id="rx-1")
        with pytest.raises(QueryFailed) as no_worker:
            await handle.query("status")
        assert no_worker.value.status == 409 and no_worker.value.reason == "query_worker_unavailable"

        await handle.terminate(reason="done")
        with pytest.raises(SignalFailed) as closed_signal:
            await handle.signal("late", [1])
        assert closed_signal.value.status == 409 and closed_signal.value.reason == "run_not_active"
        with pytest.raises(UpdateRejected) as closed_update:
            await handle.update("late", [1])
        assert closed_update.value.status == 409
