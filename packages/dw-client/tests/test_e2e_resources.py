"""Schedules, namespaces, storage, task queues, workers, search attributes, system, bridge and the
worker-plane activity calls, end to end against the in-process dev server (public API only)."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_client import (
    BridgeAdapterOutcome,
    Client,
    NamespaceDescription,
    ScheduleAction,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleSpec,
    SearchAttributeList,
    StorageTestResult,
    TaskQueueBuildIdRollout,
    TaskQueueDescription,
    WorkerDescription,
    WorkerList,
)
from dw_core import serializer
from dw_core.errors import (
    InvalidArgument,
    NamespaceNotFound,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ServerError,
)
from dw_core.external_storage import ExternalPayloadStoragePolicy
from dw_devserver import DevServer

QUEUE = "inventory"


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with DevServer.start(long_poll_timeout=2) as server, Client(server.url) as c:
        yield c


# -- schedules ------------------------------------------------------------------------------------


async def test_schedule_lifecycle_and_audit_history(client: Client) -> None:
    handle = await client.create_schedule(
        schedule_id="nightly",
        spec=ScheduleSpec(cron_expressions=["15 7 * * *"], timezone="UTC"),
        action=ScheduleAction(workflow_type="inventory.check", task_queue=QUEUE, input=[{"threshold": 25}]),
        overlap_policy="allow_all",
        memo={"team": "ops"},
        note="created by test",
    )
    assert isinstance(handle, ScheduleHandle) and handle.schedule_id == "nightly"
    with pytest.raises(ScheduleAlreadyExists) as exists:
        await client.create_schedule(
            schedule_id="nightly", spec={"intervals": [{"every": "PT1H"}]}, action={"workflow_type": "x"}
        )
    assert exists.value.schedule_id == "nightly"

    described = await handle.describe()
    assert isinstance(described, ScheduleDescription)
    assert described.status == "active" and described.overlap_policy == "allow_all"
    assert described.spec == {"cron_expressions": ["15 7 * * *"], "timezone": "UTC"}
    assert described.next_fire_at is not None

    listed = await client.list_schedules()
    assert [s.schedule_id for s in listed.schedules] == ["nightly"]

    await handle.update(jitter_seconds=5, note="tuned")
    await handle.pause(note="maintenance")
    assert (await handle.describe()).status == "paused"
    await handle.resume(note="back")
    triggered = await handle.trigger()
    assert triggered.outcome == "triggered" and triggered.workflow_id
    started = await client.describe_workflow(triggered.workflow_id)
    assert started.workflow_type == "inventory.check"
    assert started.input == [{"threshold": 25}], "schedule input travels as an Avro envelope"

    backfill = await handle.backfill(start_time="2026-04-20T00:00:00Z", end_time="2026-04-23T00:00:00Z")
    assert backfill.fires_attempted == 3

    with pytest.raises(InvalidArgument):
        await handle.backfill(start_time="2026-04-23T00:00:00Z", end_time="2026-04-20T00:00:00Z")

    await handle.delete()
    with pytest.raises(ScheduleNotFound) as missing:
        await handle.describe()
    assert missing.value.schedule_id == "nightly"

    # The audit history survives deletion; page through it both ways.
    first = await handle.history(limit=2)
    assert len(first.events) == 2 and first.has_more and first.next_cursor == first.events[-1].sequence
    events = [event async for event in client.iter_schedule_history("nightly", limit=2)]
    types = [event.event_type for event in events]
    assert types[0] == "ScheduleCreated" and types[-1] == "ScheduleDeleted"
    assert {"SchedulePaused", "ScheduleResumed", "ScheduleUpdated", "ScheduleTriggered"} <= set(types)
    sequences = [event.sequence for event in events]
    assert sequences == sorted(set(sequences))
    tail = [event async for event in handle.iter_history(after_sequence=sequences[-2])]
    assert [event.sequence for event in tail] == sequences[-1:]


async def test_schedule_history_arguments_are_checked_locally(client: Client) -> None:
    with pytest.raises(ValueError, match="limit"):
        await client.get_schedule_history("s", limit=0)
    with pytest.raises(ValueError, match="after_sequence"):
        await client.get_schedule_history("s", after_sequence=-1)
    with pytest.raises(ValueError, match="overlap_policy"):
        await client.trigger_schedule("s", overlap_policy="sometimes")


# -- namespaces and storage -----------------------------------------------------------------------


async def test_namespace_lifecycle(client: Client) -> None:
    created = await client.create_namespace("billing", description="Billing", retention_days=90)
    assert isinstance(created, NamespaceDescription)
    assert (created.name, created.retention_days, created.status) == ("billing", 90, "active")
    with pytest.raises(ServerError) as duplicate:
        await client.create_namespace("billing")
    assert duplicate.value.status == 409

    updated = await client.update_namespace("billing", retention_days=120)
    assert updated.retention_days == 120 and updated.description == "Billing"
    names = [ns.name for ns in (await client.list_namespaces()).namespaces]
    assert {"default", "billing"} <= set(names)

    deleted = await client.delete_namespace("billing")
    assert deleted.status == "deleted" and isinstance(deleted.deleted, dict)
    with pytest.raises(NamespaceNotFound) as missing:
        await client.describe_namespace("billing")
    assert missing.value.namespace == "billing"


async def test_calls_in_an_unknown_namespace_raise_namespace_not_found(client: Client) -> None:
    async with Client(client.base_url, namespace="nowhere") as stray:
        with pytest.raises(NamespaceNotFound) as info:
            await stray.list_workflows()
    assert info.value.namespace == "nowhere"
    assert info.value.status == 404


async def test_external_storage_policy_and_probe(client: Client, tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidArgument) as not_configured:
        await client.test_external_storage(small_payload_bytes=16, large_payload_bytes=4096)
    assert not_configured.value.server_reason == "external_storage_not_configured"

    with pytest.warns(DeprecationWarning):
        described = await client.set_namespace_external_storage(
            namespace="default",
            driver="local",
            threshold_bytes=1024,
            config={"uri": tmp_path.as_uri()},
        )
    policy = described.external_payload_storage
    assert isinstance(policy, ExternalPayloadStoragePolicy)
    assert (policy.driver, policy.enabled, policy.threshold_bytes) == ("local", True, 1024)

    result = await client.test_external_storage(
        driver="local", small_payload_bytes=16, large_payload_bytes=4096
    )
    assert isinstance(result, StorageTestResult)
    assert result.status == "passed" and result.driver == "local"
    assert result.small_payload is not None and result.small_payload.bytes == 16
    assert result.large_payload is not None and result.large_payload.status == "passed"

    with pytest.raises(TypeError):
        await client.set_namespace_external_storage("default", driver="local", namespace="default")
    with pytest.raises(TypeError):
        await client.set_namespace_external_storage(driver="local")


# -- task queues, workers, search attributes ------------------------------------------------------


async def test_workers_task_queues_and_build_id_rollout(client: Client) -> None:
    await client.register_worker(
        worker_id="w-blue",
        task_queue=QUEUE,
        supported_workflow_types=["inventory.check"],
        supported_activity_types=["inventory.sync"],
        max_concurrent_workflow_tasks=4,
        max_concurrent_activity_tasks=8,
        build_id="build-1",
    )
    await client.register_worker(worker_id="w unversioned?1", task_queue=QUEUE)
    beat = await client.heartbeat_worker(worker_id="w-blue", task_slots={"workflow_available": 4})
    assert beat["acknowledged"] is True

    roster = await client.list_workers(task_queue=QUEUE)
    assert isinstance(roster, WorkerList)
    assert {w.worker_id for w in roster.workers} == {"w-blue", "w unversioned?1"}
    worker = await client.describe_worker("w-blue")
    assert isinstance(worker, WorkerDescription)
    assert worker.build_id == "build-1" and worker.max_concurrent_activity_tasks == 8
    assert worker.supported_activity_types == ["inventory.sync"]
    assert (await client.describe_worker("w unversioned?1")).worker_id == "w unversioned?1"

    queue = await client.describe_task_queue(QUEUE)
    assert isinstance(queue, TaskQueueDescription) and queue.name == QUEUE
    assert {p["worker_id"] for p in queue.pollers or []} == {"w-blue", "w unversioned?1"}
    assert QUEUE in [q.name for q in (await client.list_task_queues()).task_queues]

    rollout = await client.list_task_queue_build_ids(QUEUE)
    assert isinstance(rollout, TaskQueueBuildIdRollout)
    assert {c.build_id for c in rollout.build_ids} == {"build-1", None}

    drained = await client.drain_task_queue_build_id(QUEUE, "build-1")
    assert drained.drain_intent == "draining" and drained.drained_at
    again = await client.drain_task_queue_build_id(QUEUE, "build-1")
    assert again.drained_at == drained.drained_at, "drain is idempotent"
    resumed = await client.resume_task_queue_build_id(QUEUE, "build-1")
    assert resumed.drain_intent == "active" and resumed.drained_at is None
    promoted = await client.promote_task_queue_build_id(QUEUE, None)
    assert promoted.build_id is None and promoted.new_start_selected is True

    deregistered = await client.deregister_worker("w unversioned?1")
    assert deregistered["outcome"] == "deregistered"
    with pytest.raises(ServerError) as missing:
        await client.describe_worker("w unversioned?1")
    assert missing.value.status == 404 and missing.value.reason() == "worker_not_found"


async def test_search_attribute_definitions(client: Client) -> None:
    created = await client.create_search_attribute("OrderStatus", "keyword")
    assert created["outcome"] == "created"
    listed = await client.list_search_attributes()
    assert isinstance(listed, SearchAttributeList)
    assert listed.custom_attributes == {"OrderStatus": "keyword"}
    assert listed.system_attributes["WorkflowId"] == "keyword"
    with pytest.raises(ValueError, match="keyword_list"):
        await client.create_search_attribute("Bad", "float")
    with pytest.raises(ServerError) as duplicate:
        await client.create_search_attribute("OrderStatus", "keyword")
    assert duplicate.value.status == 409
    assert (await client.delete_search_attribute("OrderStatus"))["outcome"] == "deleted"
    assert (await client.list_search_attributes()).custom_attributes == {}


# -- system maintenance ---------------------------------------------------------------------------


async def test_system_status_and_passes(client: Client) -> None:
    assert "candidates" in await client.repair_status()
    assert "throttled" in await client.repair_pass()
    retention = await client.retention_status()
    assert retention["retention_days"] == 30
    assert "processed" in await client.retention_pass(limit=10)
    assert "expired_count" in await client.activity_timeout_status()
    assert "enforced" in await client.activity_timeout_pass(limit=5)
    with pytest.raises(ValueError):
        await client.retention_pass(limit=0)


# -- webhook bridge -------------------------------------------------------------------------------


async def test_webhook_bridge_accepts_dedupes_and_returns_rejections(client: Client) -> None:
    target = {"workflow_type": "orders.fulfillment", "task_queue": QUEUE, "workflow_id": "bridge-1"}
    accepted = await client.send_webhook_bridge_event(
        "stripe", action="start_workflow", idempotency_key="evt-1", target=target, input={"order": 1}
    )
    assert isinstance(accepted, BridgeAdapterOutcome)
    assert accepted.accepted and accepted.outcome == "accepted" and accepted.workflow_id == "bridge-1"
    assert (await client.describe_workflow("bridge-1")).input == [1]

    duplicate = await client.send_webhook_bridge_event(
        "stripe", action="start_workflow", idempotency_key="evt-1", target=target, input={"order": 1}
    )
    assert duplicate.outcome == "duplicate"

    rejected = await client.send_webhook_bridge_event(
        "stripe",
        action="signal_workflow",
        idempotency_key="evt-2",
        target={"workflow_id": "ghost", "signal_name": "s"},
    )
    assert (
        rejected.accepted is False and rejected.outcome == "rejected" and rejected.reason == "unknown_target"
    )


# -- worker-plane activity calls ------------------------------------------------------------------


async def _schedule_activity(client: Client, workflow_id: str, worker_id: str) -> dict[str, Any]:
    await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id=workflow_id)
    task = await client.poll_workflow_task(worker_id=worker_id, task_queue=QUEUE, timeout=10)
    assert task is not None
    await client.complete_workflow_task(
        task_id=task["task_id"],
        lease_owner=worker_id,
        workflow_task_attempt=task["workflow_task_attempt"],
        commands=[
            {
                "type": "schedule_activity",
                "activity_type": "inventory.sync",
                "arguments": serializer.envelope([{"page": 7}]),
                "queue": QUEUE,
            }
        ],
    )
    activity = await client.poll_activity_task(worker_id=worker_id, task_queue=QUEUE, timeout=10)
    assert activity is not None and activity["activity_type"] == "inventory.sync"
    assert serializer.decode_envelope(activity["arguments"]) == [{"page": 7}]
    return activity


async def test_activity_heartbeat_complete_and_history_paging(client: Client) -> None:
    await client.register_worker(worker_id="w-act", task_queue=QUEUE)
    activity = await _schedule_activity(client, "act-1", "w-act")
    beat = await client.heartbeat_activity_task(
        task_id=activity["task_id"],
        activity_attempt_id=activity["activity_attempt_id"],
        lease_owner="w-act",
        details={"progress": 0.5},
    )
    assert beat["cancel_requested"] is False
    await client.complete_activity_task(
        task_id=activity["task_id"],
        activity_attempt_id=activity["activity_attempt_id"],
        lease_owner="w-act",
        result={"synced": 3},
        activity_name="inventory.sync",
    )
    # The resumed workflow task carries a 1-event first page; the rest comes from history paging.
    task = await client.poll_workflow_task(
        worker_id="w-act", task_queue=QUEUE, timeout=10, history_page_size=1
    )
    assert task is not None and len(task["history_events"]) == 1
    events = list(task["history_events"])
    token = task["next_history_page_token"]
    while token:
        page = await client.workflow_task_history(
            task_id=task["task_id"],
            next_history_page_token=token,
            lease_owner="w-act",
            workflow_task_attempt=task["workflow_task_attempt"],
            history_page_size=2,
        )
        events.extend(page["history_events"])
        token = page["next_history_page_token"]
    completed = [e for e in events if e["event_type"] == "ActivityCompleted"]
    assert len(completed) == 1
    assert serializer.decode(completed[0]["payload"]["result"], completed[0]["payload"]["payload_codec"]) == {
        "synced": 3
    }
    renewed = await client.heartbeat_workflow_task(
        task_id=task["task_id"], lease_owner="w-act", workflow_task_attempt=task["workflow_task_attempt"]
    )
    assert renewed["renewed"] is True
    with pytest.raises(ValueError, match="aliases"):
        await client.workflow_task_history(
            task_id="t", next_history_page_token="a", page_token="b", lease_owner="w", workflow_task_attempt=1
        )
    await client.fail_workflow_task(
        task_id=task["task_id"],
        lease_owner="w-act",
        workflow_task_attempt=task["workflow_task_attempt"],
        message="replay failed",
        failure_type="NonDeterministicReplayError",
    )


async def test_activity_failure_with_details_and_non_retryable(client: Client) -> None:
    await client.register_worker(worker_id="w-fail", task_queue=QUEUE)
    activity = await _schedule_activity(client, "act-2", "w-fail")
    answer = await client.fail_activity_task(
        task_id=activity["task_id"],
        activity_attempt_id=activity["activity_attempt_id"],
        lease_owner="w-fail",
        message="upstream rejected",
        failure_type="UpstreamRejected",
        non_retryable=True,
        details={"code": 503},
    )
    assert answer["outcome"] == "failed"
    handle = client.get_workflow_handle("act-2")
    history = await client.get_history("act-2", (await handle.describe()).run_id or "")
    failed = [e for e in history["events"] if e["event_type"] == "ActivityFailed"]
    assert len(failed) == 1
    assert "upstream rejected" in str(failed[0]["payload"])
