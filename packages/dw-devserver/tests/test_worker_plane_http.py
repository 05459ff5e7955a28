"""Worker plane over real HTTP with a raw-HTTP worker: tasks, leases, retries, timeouts, timers,
conditions, signals, updates, queries, and the guards that reject bad calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer
from dw_devserver.codec import decode_avro, encode_avro

Http = Any


def env(value: Any) -> dict[str, str]:
    return {"codec": "avro", "blob": encode_avro(value)}


class RawWorker:
    """The smallest worker: registers, polls, completes, exactly as the wire protocol says."""

    def __init__(self, wp: Http, worker_id: str = "w1", queue: str = "q") -> None:
        self.wp = wp
        self.worker_id = worker_id
        self.queue = queue

    async def register(self, **extra: Any) -> httpx.Response:
        return await self.wp.post(
            "/worker/register",
            {"worker_id": self.worker_id, "task_queue": self.queue, "runtime": "python", **extra},
        )

    async def poll(self, family: str = "workflow") -> dict[str, Any] | None:
        r = await self.wp.post(
            f"/worker/{family}-tasks/poll", {"worker_id": self.worker_id, "task_queue": self.queue}
        )
        assert r.status_code == 200, r.text
        task: dict[str, Any] | None = r.json()["task"]
        return task

    async def complete(self, task: dict[str, Any], *commands: dict[str, Any]) -> httpx.Response:
        return await self.wp.post(
            f"/worker/workflow-tasks/{task['task_id']}/complete",
            {
                "lease_owner": self.worker_id,
                "workflow_task_attempt": task["workflow_task_attempt"],
                "commands": list(commands),
            },
        )

    async def activity(self, task: dict[str, Any], outcome: str, **body: Any) -> httpx.Response:
        return await self.wp.post(
            f"/worker/activity-tasks/{task['task_id']}/{outcome}",
            {"activity_attempt_id": task["activity_attempt_id"], "lease_owner": self.worker_id, **body},
        )


async def started(api: Http, wid: str = "wf", **extra: Any) -> str:
    body = {
        "workflow_id": wid,
        "workflow_type": "greeter",
        "task_queue": "q",
        "input": env(["world"]),
        **extra,
    }
    r = await api.post("/workflows", body)
    assert r.status_code == 201, r.text
    run_id: str = r.json()["run_id"]
    return run_id


async def history(api: Http, wid: str) -> list[dict[str, Any]]:
    run_id = (await api.get(f"/workflows/{wid}")).json()["run_id"]
    events: list[dict[str, Any]] = (
        await api.get(f"/workflows/{wid}/runs/{run_id}/history", params={"page_size": 1000})
    ).json()["events"]
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


async def test_single_activity_story_matches_the_worked_example(api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    assert (await w.register()).status_code == 201
    await started(api)
    task = await w.poll()
    assert task is not None and task["workflow_task_attempt"] == 1 and task["payload_codec"] == "avro"
    assert decode_avro(task["arguments"]["blob"]) == ["world"]
    assert types(task["history_events"]) == ["StartAccepted", "WorkflowStarted"]
    assert task["history_events"][1]["payload"]["timestamp"].endswith("Z")
    r = await w.complete(
        task,
        {"type": "schedule_activity", "activity_type": "greet", "queue": "q", "arguments": env(["world"])},
    )
    assert r.status_code == 200 and r.json()["run_status"] == "waiting", r.text
    assert r.headers["X-Durable-Workflow-Protocol-Version"] and "server_capabilities" in r.json()
    act = await w.poll("activity")
    assert act is not None and act["activity_type"] == "greet" and act["attempt_number"] == 1
    assert act["payload_codec"] == "avro" and decode_avro(act["arguments"]["blob"]) == ["world"]
    result = env({"greeting": "Hello, world!"})
    assert (await w.activity(act, "complete", result=result)).status_code == 200
    task2 = await w.poll()
    assert task2 is not None and task2["resume_source_kind"] == "activity_execution"
    hist = task2["history_events"]
    assert types(hist) == [
        "StartAccepted",
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivityCompleted",
    ]
    assert [e["sequence"] for e in hist] == [1, 2, 3, 4, 5]
    assert {e["payload"]["sequence"] for e in hist[2:]} == {3}
    assert hist[4]["payload"]["result"] == result["blob"] and hist[4]["payload"]["payload_codec"] == "avro"
    assert (await w.complete(task2, {"type": "complete_workflow", "result": result})).status_code == 200
    events = await history(api, "wf")
    assert (
        events[-1]["event_type"] == "WorkflowCompleted" and events[-1]["payload"]["output"] == result["blob"]
    )
    desc = (await api.get("/workflows/wf")).json()
    assert desc["status"] == "completed" and desc["output"] == {"greeting": "Hello, world!"}
    # a finished task cannot be completed twice
    again = await w.complete(task2, {"type": "complete_workflow", "result": result})
    assert again.status_code == 409 and again.json()["reason"] == "run_closed"


async def test_activity_retries_backoff_and_non_retryable(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(
        task,
        {
            "type": "schedule_activity",
            "activity_type": "flaky",
            "retry_policy": {
                "max_attempts": 3,
                "backoff_seconds": [5, 10],
                "non_retryable_error_types": ["Fatal"],
            },
        },
    )
    act1 = await w.poll("activity")
    assert act1 is not None and act1["retry_policy"]["max_attempts"] == 3
    r = await w.activity(act1, "fail", failure={"message": "boom", "type": "Oops"})
    assert r.status_code == 200, r.text
    assert await w.poll("activity") is None  # backoff of 5 s not over
    await dev.skip(5)
    act2 = await w.poll("activity")
    assert act2 is not None and act2["attempt_number"] == 2 and act2["task_id"] != act1["task_id"]
    stale = await w.activity(act1, "complete", result=env(1))
    assert stale.status_code == 409 and stale.json()["outcome"] == "ignored"
    r = await w.activity(act2, "fail", failure={"message": "fatal", "type": "Fatal"})
    assert r.status_code == 200
    events = await history(api, "wf")
    assert types(events).count("ActivityRetryScheduled") == 1
    failed = events[-1]
    assert failed["event_type"] == "ActivityFailed" and failed["payload"]["non_retryable"] is True
    assert failed["payload"]["exception_type"] == "Fatal" and failed["payload"]["message"] == "fatal"
    assert await w.poll() is not None  # the workflow is resumed to handle the failure


async def test_activity_timeouts_and_heartbeats(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    r = await w.complete(
        task,
        {
            "type": "schedule_activity",
            "activity_type": "slow",
            "start_to_close_timeout": 30,
            "heartbeat_timeout": 10,
            "retry_policy": {"max_attempts": 2},
        },
    )
    assert r.status_code == 200, r.text
    act = await w.poll("activity")
    assert act is not None and set(act["deadlines"]) == {"start_to_close", "heartbeat"}
    await dev.skip(8)
    hb = await w.activity(act, "heartbeat", details={"done": 1})
    assert hb.json()["can_continue"] is True and hb.json()["cancel_requested"] is False
    await dev.skip(8)  # 16 s after start but only 8 s after the heartbeat
    assert (await w.activity(act, "heartbeat")).json()["can_continue"] is True
    await dev.skip(11)  # heartbeat timeout -> retry
    act2 = await w.poll("activity")
    assert act2 is not None and act2["attempt_number"] == 2
    await dev.skip(31)  # start-to-close on the last attempt -> timed out for good
    events = await history(api, "wf")
    assert "ActivityHeartbeatRecorded" in types(events)
    retry = next(e for e in events if e["event_type"] == "ActivityRetryScheduled")
    assert retry["payload"]["timeout_kind"] == "heartbeat"
    assert (
        events[-1]["event_type"] == "ActivityTimedOut"
        and events[-1]["payload"]["timeout_kind"] == "start_to_close"
    )
    late = await w.activity(act2, "complete", result=env(1))
    assert late.status_code == 409


async def test_schedule_to_start_timeout(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(
        task, {"type": "schedule_activity", "activity_type": "never", "schedule_to_start_timeout": 20}
    )
    await dev.skip(21)
    events = await history(api, "wf")
    assert events[-1]["event_type"] == "ActivityTimedOut"
    assert events[-1]["payload"]["timeout_kind"] == "schedule_to_start"
    assert await w.poll("activity") is None


async def test_timer_and_condition_wait_timeout(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "start_timer", "delay_seconds": 3600})
    assert await w.poll() is None
    await dev.skip(3600)
    task = await w.poll()
    assert task is not None and task["history_events"][-1]["event_type"] == "TimerFired"
    await w.complete(
        task,
        {
            "type": "open_condition_wait",
            "condition_key": "k",
            "condition_definition_fingerprint": "sha256:ab",
            "timeout_seconds": 5,
        },
    )
    await dev.skip(5)
    task = await w.poll()
    assert task is not None
    fired = task["history_events"][-1]
    assert fired["event_type"] == "TimerFired" and fired["payload"]["timer_kind"] == "condition_timeout"
    opened = next(e for e in task["history_events"] if e["event_type"] == "ConditionWaitOpened")
    assert fired["payload"]["condition_wait_id"] == opened["payload"]["condition_wait_id"]
    assert fired["payload"]["sequence"] == opened["payload"]["sequence"]


async def test_signal_satisfies_condition_and_is_buffered_while_leased(
    dev: DevServer, api: Http, wp: Http
) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    # a signal arriving while the first task is leased waits for the next task
    r = await api.post("/workflows/wf/signal/approve", {"input": env(["ada"])})
    assert r.status_code == 202 and r.json()["outcome"] == "signal_received"
    await w.complete(
        task, {"type": "open_condition_wait", "condition_key": "approval", "timeout_seconds": 60}
    )
    task = await w.poll()
    assert task is not None and task["resume_source_kind"] == "workflow_signal"
    sig = next(e for e in task["history_events"] if e["event_type"] == "SignalReceived")
    assert sig["payload"]["signal_name"] == "approve" and decode_avro(sig["payload"]["arguments"]) == ["ada"]
    assert sig["payload"]["payload_codec"] == "avro"
    await w.complete(task, {"type": "complete_workflow", "result": env("ok")})
    t = types(await history(api, "wf"))
    assert t[-3:] == ["ConditionWaitSatisfied", "TimerCancelled", "WorkflowCompleted"]
    await dev.skip(120)  # the cancelled timeout timer never fires
    assert "TimerFired" not in types(await history(api, "wf"))


async def reemit_scenario(api: Http, wp: Http, sdk_version: str, wid: str) -> int:
    """Two parallel activities pending, a signal wakes the workflow, the task sends them again."""
    w = RawWorker(wp, worker_id=f"w-{wid}")
    await w.register(sdk_version=sdk_version)
    await started(api, wid)
    task = await w.poll()
    assert task is not None
    group = [{"type": "schedule_activity", "activity_type": "greet", "arguments": env([i])} for i in (1, 2)]
    await w.complete(task, *group)
    await api.post(f"/workflows/{wid}/signal/poke")
    task = await w.poll()
    assert task is not None
    assert (await w.complete(task, *group)).status_code == 200
    return types(await history(api, wid)).count("ActivityScheduled")


async def test_pending_steps_resent_by_the_published_sdk_are_not_scheduled_twice(api: Http, wp: Http) -> None:
    # the published SDK up to 0.4.x sends the pending yield again on every task (replay.md §3.2)
    assert await reemit_scenario(api, wp, "durable-workflow-python/0.4.84", "old-sdk") == 2
    w = RawWorker(wp, worker_id="w-old-sdk")
    assert await w.poll("activity") is not None and await w.poll("activity") is not None
    assert await w.poll("activity") is None
    # any other worker sends each command once, so a repeated command is a new step (as the real server)
    assert await reemit_scenario(api, wp, "durable-workflow-python/0.5.0", "new-sdk") == 4


async def test_worker_guards_reject_without_side_effects(
    dev: DevServer, api: Http, wp: Http, snap: Any
) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    before = snap(dev.runtime)
    path = f"/worker/workflow-tasks/{task['task_id']}/complete"
    ok_cmd = [{"type": "complete_workflow", "result": env(1)}]
    cases: list[tuple[str, dict[str, Any], dict[str, str] | None, int, str]] = [
        (
            path,
            {"lease_owner": "other", "workflow_task_attempt": 1, "commands": ok_cmd},
            None,
            409,
            "lease_owner_mismatch",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 2, "commands": ok_cmd},
            None,
            409,
            "workflow_task_attempt_mismatch",
        ),
        (
            "/worker/workflow-tasks/nope/complete",
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": ok_cmd},
            None,
            404,
            "task_not_found",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": [{"type": "explode"}]},
            None,
            422,
            "validation_failed",
        ),
        (
            path,
            {
                "lease_owner": "w1",
                "workflow_task_attempt": 1,
                "commands": [
                    {"type": "start_timer", "delay_seconds": 1, "retry_policy": {"max_attempts": 2}}
                ],
            },
            None,
            422,
            "validation_failed",
        ),
        (
            path,
            {
                "lease_owner": "w1",
                "workflow_task_attempt": 1,
                "commands": [{"type": "complete_workflow", "result": {"codec": "json", "blob": "1"}}],
            },
            None,
            422,
            "validation_failed",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": ok_cmd * 2},
            None,
            409,
            "invalid_commands",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": []},
            None,
            422,
            "validation_failed",
        ),
        (
            path,
            {
                "lease_owner": "w1",
                "workflow_task_attempt": 1,
                "commands": [
                    {
                        "type": "schedule_activity",
                        "activity_type": "a",
                        "heartbeat_timeout": 20,
                        "start_to_close_timeout": 10,
                    }
                ],
            },
            None,
            422,
            "validation_failed",
        ),
        (
            "/worker/workflow-tasks/poll",
            {"worker_id": "ghost", "task_queue": "q"},
            None,
            412,
            "worker_not_registered",
        ),
        (
            "/worker/workflow-tasks/poll",
            {"worker_id": "w1", "task_queue": "other"},
            None,
            409,
            "task_queue_mismatch",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": ok_cmd},
            {"X-Durable-Workflow-Protocol-Version": ""},
            400,
            "missing_protocol_version",
        ),
        (
            path,
            {"lease_owner": "w1", "workflow_task_attempt": 1, "commands": ok_cmd},
            {"X-Durable-Workflow-Protocol-Version": "2.0"},
            400,
            "unsupported_protocol_version",
        ),
        ("/worker/register", {"task_queue": "q", "runtime": "cobol"}, None, 422, "validation_failed"),
        ("/worker/heartbeat", {"worker_id": "ghost"}, None, 404, "worker_not_registered"),
    ]
    for p, body, headers, status, reason in cases:
        r = await wp.post(p, body, headers=headers)
        assert r.status_code == status and r.json()["reason"] == reason, (p, body, r.text)
        assert "protocol_version" in r.json()
    bad = await wp.call("POST", path, "{oops")
    assert bad.status_code == 400 and bad.json()["reason"] == "malformed_json"
    assert snap(dev.runtime) == before
    assert (await w.complete(task, *ok_cmd)).status_code == 200


async def test_workflow_task_lease_expiry_and_failure_reoffer(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await dev.skip(dev.config.workflow_task_lease_seconds + 1)
    again = await w.poll()
    assert again is not None and again["task_id"] == task["task_id"] and again["workflow_task_attempt"] == 2
    late = await w.complete(task, {"type": "complete_workflow", "result": env(1)})
    assert late.status_code == 409 and late.json()["reason"] == "workflow_task_attempt_mismatch"
    r = await wp.post(
        f"/worker/workflow-tasks/{again['task_id']}/fail",
        {
            "lease_owner": "w1",
            "workflow_task_attempt": 2,
            "failure": {"message": "replay failed", "type": "X"},
        },
    )
    assert r.status_code == 200 and r.json()["outcome"] == "failed"
    assert await w.poll() is None  # retried after a backoff, not in a hot loop
    await dev.skip(5)
    third = await w.poll()
    assert third is not None and third["workflow_task_attempt"] == 3


async def test_cancel_reaches_running_activity_heartbeat(api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "schedule_activity", "activity_type": "long"})
    act = await w.poll("activity")
    assert act is not None
    assert (await api.post("/workflows/wf/cancel", {"reason": "stop"})).json()["outcome"] == "cancelled"
    hb = (await w.activity(act, "heartbeat")).json()
    assert hb["cancel_requested"] is True and hb["can_continue"] is False and hb["reason"] == "run_cancelled"
    t = types(await history(api, "wf"))
    assert t[-3:] == ["CancelRequested", "ActivityCancelled", "WorkflowCancelled"]
    r = await w.activity(act, "complete", result=env(1))
    assert r.status_code == 409 and r.json()["outcome"] == "ignored" and r.json()["reason"] == "run_cancelled"


async def test_update_and_query_round_trips(api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "open_condition_wait", "condition_key": "k"})

    async def answer_update() -> None:
        t = await w.poll()
        assert t is not None and t["workflow_update_id"]
        accepted = next(e for e in t["history_events"] if e["event_type"] == "UpdateAccepted")
        assert decode_avro(accepted["payload"]["arguments"]) == ["x"]
        r = await w.complete(
            t, {"type": "complete_update", "update_id": t["workflow_update_id"], "result": env({"n": 1})}
        )
        assert r.status_code == 200, r.text

    worker = asyncio.create_task(answer_update())
    r = await api.post(
        "/workflows/wf/update/add", {"input": env(["x"]), "wait_for": "completed", "wait_timeout_seconds": 20}
    )
    await worker
    assert (
        r.status_code == 200 and r.json()["update_status"] == "completed" and r.json()["result"] == {"n": 1}
    )
    assert r.json()["outcome"] == "update_completed"
    follow = await w.poll()  # the update may have satisfied the open condition: the workflow re-checks
    assert follow is not None and not follow["workflow_update_id"]
    assert {"UpdateApplied", "UpdateCompleted"} <= set(types(follow["history_events"]))
    await w.complete(follow, {"type": "open_condition_wait", "condition_key": "k"})

    async def answer_query() -> None:
        q = await w.poll("query")
        assert q is not None and q["query_name"] == "status" and q["history_events"]
        r = await wp.post(
            f"/worker/query-tasks/{q['query_task_id']}/complete",
            {
                "lease_owner": "w1",
                "query_task_attempt": q["query_task_attempt"],
                "result": {"state": "waiting"},
                "result_envelope": env({"state": "waiting"}),
            },
        )
        assert r.status_code == 200, r.text

    answering = asyncio.create_task(answer_query())
    r = await api.post("/workflows/wf/query/status")
    await answering
    assert r.status_code == 200 and r.json()["result"] == {"state": "waiting"}

    async def reject_query() -> None:
        q = await w.poll("query")
        assert q is not None
        await wp.post(
            f"/worker/query-tasks/{q['query_task_id']}/fail",
            {
                "lease_owner": "w1",
                "query_task_attempt": q["query_task_attempt"],
                "failure": {"message": "unknown query 'nope'", "reason": "rejected_unknown_query"},
            },
        )

    rejecting = asyncio.create_task(reject_query())
    r = await api.post("/workflows/wf/query/nope")
    await rejecting
    assert r.status_code == 404 and r.json()["reason"] == "rejected_unknown_query"


async def test_run_timeout_and_worker_history_paging(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api, run_timeout_seconds=30, execution_timeout_seconds=60)
    task = await w.poll()
    assert task is not None
    await w.complete(
        task,
        *[{"type": "record_side_effect", "result": encode_avro(i)} for i in range(4)],
        {"type": "start_timer", "delay_seconds": 100},
    )
    await api.post("/workflows/wf/signal/s")
    r = await wp.post(
        "/worker/workflow-tasks/poll", {"worker_id": "w1", "task_queue": "q", "history_page_size": 3}
    )
    paged = r.json()["task"]
    assert len(paged["history_events"]) == 3 and paged["next_history_page_token"]
    page = await wp.post(
        f"/worker/workflow-tasks/{paged['task_id']}/history",
        {
            "lease_owner": "w1",
            "workflow_task_attempt": 1,
            "next_history_page_token": paged["next_history_page_token"],
        },
    )
    assert page.json()["history_events"][0]["sequence"] == 4
    bad = await wp.post(
        f"/worker/workflow-tasks/{paged['task_id']}/history",
        {"lease_owner": "w1", "workflow_task_attempt": 1, "next_history_page_token": "%%%"},
    )
    assert bad.status_code == 400 and bad.json()["reason"] == "invalid_page_token"
    await dev.skip(31)
    desc = (await api.get("/workflows/wf")).json()
    assert desc["status"] == "failed" and desc["closed_reason"] == "timed_out"
    assert (await history(api, "wf"))[-1]["event_type"] == "WorkflowTimedOut"


async def test_long_poll_wakes_when_work_arrives() -> None:
    async with (
        DevServer.start(long_poll_timeout=20) as dev,
        httpx.AsyncClient(base_url=dev.url, timeout=30) as c,
    ):
        hdr = {"X-Durable-Workflow-Protocol-Version": "1.1"}
        await c.post(
            "/api/worker/register",
            json={"worker_id": "w", "task_queue": "q", "runtime": "python"},
            headers=hdr,
        )
        poll = asyncio.create_task(
            c.post("/api/worker/workflow-tasks/poll", json={"worker_id": "w", "task_queue": "q"}, headers=hdr)
        )
        await asyncio.sleep(0.3)
        assert not poll.done()
        began = time.monotonic()
        await c.post(
            "/api/workflows",
            json={"workflow_id": "x", "workflow_type": "t", "task_queue": "q"},
            headers={"X-Durable-Workflow-Control-Plane-Version": "2"},
        )
        r = await asyncio.wait_for(poll, 15)
        assert r.json()["task"]["workflow_id"] == "x"
        assert time.monotonic() - began < 10  # woke on arrival, long before the 20 s poll timeout


NOOP = {
    "type": "record_version_marker",
    "change_id": "durable-workflow.noop",
    "version": 0,
    "min_supported": 0,
    "max_supported": 0,
}
WAIT = {
    "type": "open_condition_wait",
    "condition_key": "k",
    "condition_definition_fingerprint": "sha256:1",
    "timeout_seconds": 10,
}


async def test_reopened_wait_keeps_its_first_deadline(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, WAIT)
    await dev.skip(5)
    await api.post("/workflows/wf/signal/poke")
    task = await w.poll()
    assert task is not None
    await w.complete(task, WAIT)  # predicate still false: the same logical wait is opened again
    await dev.skip(5)  # 10 s after the first open
    task = await w.poll()
    assert task is not None
    events = task["history_events"]
    opened = [e["payload"]["condition_wait_id"] for e in events if e["event_type"] == "ConditionWaitOpened"]
    fired = [e for e in events if e["event_type"] == "TimerFired"]
    assert len(opened) == 2 and len(fired) == 1
    assert fired[0]["payload"]["condition_wait_id"] == opened[0]
    assert "ConditionWaitSatisfied" not in types(events)
    await w.complete(task, {"type": "complete_workflow", "result": env(False)})
    await dev.skip(30)  # the re-open's own timer was retired with the logical wait
    assert types(await history(api, "wf")).count("TimerFired") == 1


async def test_noop_marker_leaves_a_wait_pending_and_moving_on_satisfies_it(
    dev: DevServer, api: Http, wp: Http
) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "start_timer", "delay_seconds": 5}, WAIT)
    await dev.skip(5)
    woke = await w.poll()  # woken by the plain timer while the wait is pending
    assert woke is not None
    await w.complete(woke, NOOP)  # nothing new to say: says nothing about the wait
    t = types(await history(api, "wf"))
    assert t[-1] == "VersionMarkerRecorded" and "ConditionWaitSatisfied" not in t
    assert (await api.post("/workflows/wf/repair")).json()["outcome"] == "repair_not_needed"
    await api.post("/workflows/wf/update/u", {"wait_for": "accepted"})
    upd = await w.poll()
    assert upd is not None and upd["workflow_update_id"]
    await w.complete(upd, {"type": "fail_update", "update_id": upd["workflow_update_id"], "message": "no"})
    follow = await w.poll()  # the update may matter to the wait: the workflow re-checks
    assert follow is not None
    await w.complete(follow, WAIT)  # still false: re-opened, not satisfied
    assert "ConditionWaitSatisfied" not in types(await history(api, "wf"))
    await api.post("/workflows/wf/signal/go")
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "start_timer", "delay_seconds": 1})  # moved past the wait
    t = types(await history(api, "wf"))
    assert t.count("ConditionWaitSatisfied") == 1 and t.count("TimerCancelled") == 1
    await dev.skip(60)
    assert types(await history(api, "wf")).count("TimerFired") == 2  # the 5 s and 1 s plain timers


async def test_children_parent_notification_and_close_policy(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api, "parent")
    task = await w.poll()
    assert task is not None
    await w.complete(
        task,
        {"type": "start_child_workflow", "workflow_type": "kid", "arguments": env([1])},
        {
            "type": "start_child_workflow",
            "workflow_type": "kid",
            "arguments": env([2]),
            "parent_close_policy": "terminate",
        },
    )
    parent_events = await history(api, "parent")
    assert types(parent_events)[-4:] == ["ChildWorkflowScheduled", "ChildRunStarted"] * 2
    kids = [
        e["payload"]["child_workflow_instance_id"]
        for e in parent_events
        if e["event_type"] == "ChildRunStarted"
    ]
    first = await w.poll()
    second = await w.poll()
    assert first is not None and second is not None
    by_id = {first["workflow_id"]: first, second["workflow_id"]: second}
    started_evt = by_id[kids[0]]["history_events"][0]
    assert started_evt["event_type"] == "WorkflowStarted"
    assert started_evt["payload"]["parent_workflow_instance_id"] == "parent"
    # first child continues as new once, then fails
    await w.complete(by_id[kids[0]], {"type": "continue_as_new", "arguments": env([10])})
    await w.complete(by_id[kids[1]], {"type": "start_timer", "delay_seconds": 600})
    again = await w.poll()
    assert again is not None and again["workflow_id"] == kids[0]
    assert decode_avro(again["arguments"]["blob"]) == [10]
    await w.complete(again, {"type": "fail_workflow", "message": "kid broke", "exception_type": "ValueError"})
    parent_task = await w.poll()
    assert parent_task is not None and parent_task["workflow_id"] == "parent"
    failed = parent_task["history_events"][-1]
    assert failed["event_type"] == "ChildRunFailed" and failed["payload"]["message"] == "kid broke"
    assert types(parent_task["history_events"]).count("ChildRunStarted") == 3  # + the continued run
    await w.complete(parent_task, {"type": "fail_workflow", "message": "parent gives up"})
    kid2 = (await api.get(f"/workflows/{kids[1]}")).json()
    assert kid2["status"] == "terminated"  # parent_close_policy terminate
    runs = (await api.get(f"/workflows/{kids[0]}/runs")).json()
    assert [r["closed_reason"] for r in runs["runs"]] == ["continued", "failed"]


async def test_sync_server_and_clock_route() -> None:
    from dw_devserver import SyncDevServer

    with SyncDevServer.start(virtual_clock=True) as server, httpx.Client(base_url=server.url) as c:
        before = c.get("/api/dev/clock").json()["now"]
        assert server.skip(90) == before + 90
        r = c.post("/api/dev/clock/skip", json={"seconds": 10})
        assert r.status_code == 200 and r.json()["now"] == before + 100
        assert c.post("/api/dev/clock/skip", json={"seconds": -1}).status_code == 422
        assert c.get("/api/health").json()["status"] == "serving"


async def test_child_retry_policy_starts_a_new_attempt_after_backoff(
    dev: DevServer, api: Http, wp: Http
) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api, "p")
    task = await w.poll()
    assert task is not None
    await w.complete(
        task,
        {
            "type": "start_child_workflow",
            "workflow_type": "kid",
            "arguments": env([1]),
            "retry_policy": {"max_attempts": 2, "backoff_seconds": [30]},
        },
    )
    kid = await w.poll()
    assert kid is not None and kid["workflow_type"] == "kid"
    await w.complete(kid, {"type": "fail_workflow", "message": "flaky", "exception_type": "IOError"})
    parent_events = await history(api, "p")
    assert (
        types(parent_events)[-1] == "ChildRunStarted" and parent_events[-1]["payload"]["retry_attempt"] == 2
    )
    assert "ChildRunFailed" not in types(parent_events)
    assert await w.poll() is None  # the retry waits for its 30 s backoff
    await dev.skip(30)
    retry = await w.poll()
    assert (
        retry is not None and retry["workflow_id"] == kid["workflow_id"] and retry["run_id"] != kid["run_id"]
    )
    assert retry["history_events"][0]["payload"]["retry_attempt"] == 2
    await w.complete(retry, {"type": "complete_workflow", "result": env("second time")})
    parent_task = await w.poll()
    assert parent_task is not None
    done = parent_task["history_events"][-1]
    assert (
        done["event_type"] == "ChildRunCompleted" and decode_avro(done["payload"]["result"]) == "second time"
    )


async def test_retention_prunes_closed_runs_on_worker_heartbeat(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api, "old")
    await api.post("/workflows/old/terminate")
    with dev.runtime.store.transaction() as tx:
        tx.execute("UPDATE namespaces SET retention_days = 1 WHERE name = 'default'")
    r = await wp.post("/worker/heartbeat", {"worker_id": "w1"})
    assert r.json()["retention"]["pruned"] == 0  # closed, but not yet past retention
    await dev.skip(86400 + 1)
    r = await wp.post("/worker/heartbeat", {"worker_id": "w1"})
    assert r.status_code == 200 and r.json()["retention"]["pruned"] == 1
    gone = await api.get("/workflows/old")
    assert gone.status_code == 404
    assert dev.runtime.store.one("SELECT COUNT(*) AS n FROM history_events")["n"] == 0


async def test_idle_until_reports_the_next_due_work(dev: DevServer, api: Http, wp: Http) -> None:
    w = RawWorker(wp)
    await w.register()
    assert dev.runtime.engine.idle_until() is None  # nothing scheduled at all
    await started(api)
    assert dev.runtime.engine.idle_until() is None  # a task is ready: not idle
    task = await w.poll()
    assert task is not None and dev.runtime.engine.idle_until() is None  # leased
    assert dev.runtime.engine.next_timer_due() is None
    await w.complete(task, {"type": "start_timer", "delay_seconds": 120})
    due = dev.runtime.engine.idle_until()
    assert due is not None and due == dev.runtime.clock.now() + 120
    assert dev.runtime.engine.next_timer_due() == due


async def test_activity_and_query_guards(dev: DevServer, api: Http, wp: Http, snap: Any) -> None:
    w = RawWorker(wp)
    await w.register()
    await started(api)
    task = await w.poll()
    assert task is not None
    await w.complete(task, {"type": "schedule_activity", "activity_type": "a"})
    act = await w.poll("activity")
    assert act is not None
    before = snap(dev.runtime)
    base = f"/worker/activity-tasks/{act['task_id']}"
    ok = {"activity_attempt_id": act["activity_attempt_id"], "lease_owner": "w1"}
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (f"{base}/complete", {**ok, "activity_attempt_id": "nope"}, 404, "attempt_not_found"),
        ("/worker/activity-tasks/nope/complete", {**ok, "activity_attempt_id": "x"}, 404, "task_not_found"),
        ("/worker/activity-tasks/other/complete", ok, 409, "task_mismatch"),
        (f"{base}/complete", {**ok, "lease_owner": "thief"}, 409, "lease_owner_mismatch"),
        (f"{base}/complete", {"lease_owner": "w1"}, 422, "validation_failed"),
        (f"{base}/complete", {**ok, "result": {"codec": "pickle", "blob": "x"}}, 422, "validation_failed"),
        (f"{base}/fail", {**ok, "failure": {}}, 422, "validation_failed"),
        (f"{base}/fail", ok, 422, "validation_failed"),
        (f"{base}/heartbeat", {**ok, "activity_attempt_id": "nope"}, 404, "attempt_not_found"),
        ("/worker/query-tasks/nope/complete", {"lease_owner": "w1", "query_task_attempt": 1}, 404,
         "query_task_not_found"),
    ]  # fmt: skip
    for path, body, status, reason in cases:
        r = await wp.post(path, body)
        assert r.status_code == status and r.json()["reason"] == reason, (path, body, r.text)
    assert snap(dev.runtime) == before
    assert (await w.activity(act, "complete", result=env(1))).status_code == 200


async def test_worker_plane_auth_and_namespace() -> None:
    tokens = {"wk": "worker", "op": "operator"}
    async with (
        DevServer.start(role_tokens=tokens, long_poll_timeout=0.2) as dev,
        httpx.AsyncClient(base_url=dev.url) as c,
    ):
        body = {"worker_id": "w", "task_queue": "q", "runtime": "python"}
        hdr = {"X-Durable-Workflow-Protocol-Version": "1.1"}
        r = await c.post("/api/worker/register", json=body, headers=hdr)
        assert (
            r.status_code == 401
            and r.json()["reason"] == "unauthorized"
            and "server_capabilities" in r.json()
        )
        r = await c.post("/api/worker/register", json=body, headers={**hdr, "Authorization": "Bearer op"})
        assert r.status_code == 403 and r.json()["allowed_roles"] == ["worker"]
        r = await c.post(
            "/api/worker/register",
            json=body,
            headers={**hdr, "Authorization": "Bearer wk", "X-Namespace": "nope"},
        )
        assert r.status_code == 404 and r.json()["reason"] == "namespace_not_found"
        # a missing protocol header wins over an unknown namespace
        r = await c.post(
            "/api/worker/register", json=body, headers={"Authorization": "Bearer wk", "X-Namespace": "nope"}
        )
        assert r.status_code == 400 and r.json()["reason"] == "missing_protocol_version"
        assert dev.runtime.store.one("SELECT COUNT(*) AS n FROM workers")["n"] == 0
        r = await c.post("/api/worker/register", json=body, headers={**hdr, "Authorization": "Bearer wk"})
        assert r.status_code == 201 and r.headers["X-Durable-Workflow-Protocol-Version"]


async def test_signal_and_update_reject_unknown_codecs(dev: DevServer, api: Http, snap: Any) -> None:
    await started(api)
    before = snap(dev.runtime)
    for path in ("/workflows/wf/signal/s", "/workflows/wf/update/u"):
        r = await api.post(path, {"input": {"codec": "json", "blob": "[1]"}})
        assert r.status_code == 422 and "input.codec" in r.json()["errors"], r.text
    r = await api.post("/workflows/wf/signal/" + "x" * 300)
    assert r.status_code == 422 and "signal_name" in r.json()["errors"]
    assert snap(dev.runtime) == before


async def test_abandoned_long_poll_does_not_lease_work_to_a_gone_worker() -> None:
    async with (
        DevServer.start(long_poll_timeout=20) as dev,
        httpx.AsyncClient(base_url=dev.url, timeout=30) as c,
    ):
        hdr = {"X-Durable-Workflow-Protocol-Version": "1.1"}
        body = {"worker_id": "w", "task_queue": "q"}
        await c.post("/api/worker/register", json={**body, "runtime": "python"}, headers=hdr)
        async with httpx.AsyncClient(base_url=dev.url, timeout=0.3) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                await impatient.post("/api/worker/workflow-tasks/poll", json=body, headers=hdr)
        await asyncio.sleep(0.2)  # the server-side poll is still parked, its client gone
        await c.post(
            "/api/workflows",
            json={"workflow_id": "x", "workflow_type": "t", "task_queue": "q"},
            headers={"X-Durable-Workflow-Control-Plane-Version": "2"},
        )
        r = await asyncio.wait_for(c.post("/api/worker/workflow-tasks/poll", json=body, headers=hdr), 15)
        task = r.json()["task"]
        assert task is not None and task["workflow_task_attempt"] == 1  # not first leased to the gone poll
