"""The blocking client against the dev server (running in its own thread via SyncDevServer)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from dw_client.models.schedules import ScheduleAction, ScheduleSpec
from dw_client.sync import Client, SyncScheduleHandle, SyncWorkflowHandle
from dw_core import serializer
from dw_core.errors import WorkflowNotFound
from dw_devserver import SyncDevServer

THREAD_NAME = "durable-workflow-sync-client"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with SyncDevServer.start(long_poll_timeout=2) as server:
        yield server.url


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_fifty_consecutive_calls_on_one_keep_alive_pool(server_url: str) -> None:
    with Client(server_url) as client:
        client.start_workflow(workflow_type="t", task_queue="q", workflow_id="sync-50")
        for n in range(50):
            assert client.describe_workflow("sync-50").workflow_id == "sync-50", n
            client.signal_workflow("sync-50", "tick", args=[n])
        history = client.get_workflow_handle("sync-50").describe_run(
            client.describe_workflow("sync-50").run_id
        )
        assert history.workflow_id == "sync-50"


def test_calls_from_many_threads_share_one_client(server_url: str) -> None:
    with Client(server_url) as client:
        client.start_workflow(workflow_type="t", task_queue="q", workflow_id="sync-threads")

        def work(n: int) -> str:
            client.signal_workflow("sync-threads", "from-thread", args=[n])
            return client.describe_workflow("sync-threads").workflow_id

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(work, range(30)))
        assert results == ["sync-threads"] * 30
        run_id = client.describe_workflow("sync-threads").run_id
        assert run_id is not None
        events = client.get_history("sync-threads", run_id)["events"]
        received = sorted(e["payload"]["arguments"] for e in events if e["event_type"] == "SignalReceived")
        assert len(received) == 30


def test_close_releases_the_loop_thread_and_refuses_later_calls(server_url: str) -> None:
    before = len(_loop_threads())
    client = Client(server_url)
    assert len(_loop_threads()) == before + 1
    client.health()
    client.close()
    assert len(_loop_threads()) == before
    assert client.closed
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.health()


def test_an_unclosed_client_ends_its_thread_when_collected(server_url: str) -> None:
    before = len(_loop_threads())
    client = Client(server_url)
    client.health()
    del client
    gc.collect()
    for thread in _loop_threads()[before:]:
        thread.join(timeout=10)
    assert len(_loop_threads()) == before


async def test_refuses_to_block_a_running_event_loop(server_url: str) -> None:
    client = Client(server_url)
    try:
        with pytest.raises(RuntimeError, match="async"):
            client.health()
        with pytest.raises(RuntimeError, match="async"):
            client.get_workflow_handle("w").describe()
    finally:
        client.close()


def test_calls_inside_an_event_loop_are_refused(server_url: str) -> None:
    import asyncio

    with Client(server_url) as client:

        async def misuse() -> None:
            client.health()

        with pytest.raises(RuntimeError, match="running event loop"):
            asyncio.run(misuse())


def test_sync_workflow_handle_round_trip(server_url: str) -> None:
    with Client(server_url) as client:
        client.register_worker(worker_id="sync-w", task_queue="sync-q")
        handle = client.start_workflow(
            workflow_type="t", task_queue="sync-q", workflow_id="sync-h", input=[2, 3]
        )
        assert isinstance(handle, SyncWorkflowHandle) and handle.run_id
        assert handle.describe().input == [2, 3]
        handle.signal("add", [4])
        task = client.poll_workflow_task(worker_id="sync-w", task_queue="sync-q", timeout=10)
        assert task is not None
        client.complete_workflow_task(
            task_id=task["task_id"],
            lease_owner="sync-w",
            workflow_task_attempt=task["workflow_task_attempt"],
            commands=[{"type": "complete_workflow", "result": serializer.envelope(9)}],
        )
        assert handle.result(timeout=10) == 9
        assert client.get_result(handle, timeout=10) == 9
        assert handle.list_runs().run_count == 1
        assert handle.archive().outcome == "archived"
        with pytest.raises(WorkflowNotFound):
            client.describe_workflow("sync-missing")


def test_sync_schedule_handle_and_history_iterator(server_url: str) -> None:
    with Client(server_url) as client:
        handle = client.create_schedule(
            schedule_id="sync-sched",
            spec=ScheduleSpec(intervals=[{"every": "PT1H"}]),
            action=ScheduleAction(workflow_type="t", task_queue="q"),
        )
        assert isinstance(handle, SyncScheduleHandle)
        handle.pause(note="hold")
        handle.resume()
        assert handle.trigger().outcome == "triggered"
        assert handle.describe().status == "active"
        events = list(client.iter_schedule_history("sync-sched", limit=1))
        assert [e.event_type for e in events][:1] == ["ScheduleCreated"]
        assert [e.sequence for e in events] == [e.sequence for e in handle.iter_history(limit=2)]
        handle.delete()
