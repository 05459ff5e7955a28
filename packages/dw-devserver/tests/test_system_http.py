"""System maintenance over real HTTP: task repair, history retention and activity-timeout passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = Rejections = Any


@pytest.fixture
def api_default_token() -> str:
    """Callers in this module act as admin unless a test names another token."""
    return "admin-token"


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running


async def start(api: Api, workflow_id: str, queue: str = "q") -> str:
    body = {"workflow_id": workflow_id, "workflow_type": "demo", "task_queue": queue, "input": []}
    response = await api.call("POST", "/workflows", body)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def test_repair_redispatches_a_run_whose_task_was_lost(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    api = api_factory(server.url)
    status = (await api.call("GET", "/system/repair")).json()
    assert set(recorded_fixture("system-repair-status")["response_body"]["policy"]) <= set(status["policy"])
    assert set(recorded_fixture("system-repair-status")["response_body"]["candidates"]) <= set(
        status["candidates"]
    )
    assert status["candidates"]["total_candidates"] == 0

    run_id = await start(api, "stuck-1")
    await start(api, "healthy-1")
    # A lost dispatch cannot be produced through the API; deleting the task row is the fault injected here.
    with server.runtime.store.transaction() as tx:
        tx.execute("DELETE FROM workflow_tasks WHERE run_id = ?", (run_id,))
    status = (await api.call("GET", "/system/repair")).json()["candidates"]
    assert (status["missing_task_candidates"], status["existing_task_candidates"]) == (1, 0)
    assert [s["scope_key"] for s in status["scopes"]] == [f"stuck-1:{run_id}"]

    untouched = await api.call("POST", "/system/repair/pass", {"run_ids": ["some-other-run"]})
    assert untouched.json()["selected_missing_task_candidates"] == 0
    passed = await api.call("POST", "/system/repair/pass", {})
    assert passed.status_code == 200, passed.text
    result = passed.json()
    assert set(recorded_fixture("system-repair-pass")["response_body"]) <= set(result)
    assert (result["repaired_missing_tasks"], result["dispatched_tasks"], result["missing_run_failures"]) == (
        1,
        1,
        [],
    )
    task = server.runtime.store.one("SELECT status FROM workflow_tasks WHERE run_id = ?", (run_id,))
    assert task is not None and task["status"] == "ready"
    assert (await api.call("GET", "/system/repair")).json()["candidates"]["total_candidates"] == 0


async def test_retention_deletes_only_closed_runs_past_the_namespace_retention(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    admin = api_factory(server.url)
    assert (
        await admin.call("POST", "/namespaces", {"name": "short", "retention_days": 1})
    ).status_code == 201
    api = api_factory(server.url, namespace="short")
    old_run = await start(api, "old")
    assert (await api.call("POST", "/workflows/old/terminate", {})).status_code == 200
    open_run = await start(api, "still-open")
    await server.skip(2 * 86400)
    recent_run = await start(api, "recent")
    assert (await api.call("POST", "/workflows/recent/cancel", {})).status_code == 200
    other_ns_run = await start(admin, "default-ns-run")
    assert (await admin.call("POST", "/workflows/default-ns-run/terminate", {})).status_code == 200

    status = (await api.call("GET", "/system/retention")).json()
    assert set(recorded_fixture("system-retention-status")["response_body"]) <= set(status)
    assert (status["namespace"], status["retention_days"], status["expired_run_ids"]) == (
        "short",
        1,
        [old_run],
    )

    explicit = await api.call("POST", "/system/retention/pass", {"run_ids": [open_run, recent_run, "nope"]})
    assert explicit.status_code == 200
    assert [(r["run_id"], r["reason"]) for r in explicit.json()["results"]] == [
        (open_run, "run_not_terminal"),
        (recent_run, "retention_not_expired"),
        ("nope", "run_not_found"),
    ]

    passed = await api.call("POST", "/system/retention/pass", {})
    assert passed.status_code == 200, passed.text
    result = passed.json()
    assert set(recorded_fixture("system-retention-pass")["response_body"]) <= set(result)
    assert (result["processed"], result["pruned"], result["failed"]) == (1, 1, 0)
    pruned = result["results"][0]
    assert (pruned["run_id"], pruned["outcome"], pruned["deleted"]) == (old_run, "pruned", True)
    assert pruned["history_events_deleted"] > 0
    store = server.runtime.store
    assert store.one("SELECT 1 FROM runs WHERE run_id = ?", (old_run,)) is None
    assert store.one("SELECT 1 FROM history_events WHERE run_id = ?", (old_run,)) is None
    assert (await api.call("GET", "/workflows/old")).status_code == 404
    for kept in (open_run, recent_run, other_ns_run):
        assert store.one("SELECT 1 FROM runs WHERE run_id = ?", (kept,)) is not None


async def test_activity_timeouts_are_reported_and_enforced(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    api = api_factory(server.url)
    worker = api_factory(server.url, token="worker-token", worker=True)
    register = {"worker_id": "w", "task_queue": "q", "runtime": "python", "supported_workflow_types": []}
    assert (await worker.call("POST", "/worker/register", register)).status_code == 201
    await start(api, "with-activity")
    task = (
        await worker.call("POST", "/worker/workflow-tasks/poll", {"worker_id": "w", "task_queue": "q"})
    ).json()
    command = {
        "type": "schedule_activity",
        "activity_type": "greet",
        "queue": "q",
        "arguments": {"codec": "avro", "blob": "ABJbIndvcmxkIl0C"},
        "schedule_to_start_timeout": 5,
    }
    completed = await worker.call(
        "POST",
        f"/worker/workflow-tasks/{task['task']['task_id']}/complete",
        {
            "lease_owner": "w",
            "workflow_task_attempt": task["task"]["workflow_task_attempt"],
            "commands": [command],
        },
    )
    assert completed.status_code == 200, completed.text
    execution = server.runtime.store.one(
        "SELECT id FROM activity_executions WHERE workflow_id = 'with-activity'"
    )
    assert execution is not None

    status = (await api.call("GET", "/system/activity-timeouts")).json()
    assert set(recorded_fixture("system-activity-timeout-status")["response_body"]) <= set(status)
    assert status["expired_count"] == 0
    not_yet = (
        await api.call("POST", "/system/activity-timeouts/pass", {"execution_ids": [execution["id"]]})
    ).json()
    assert not_yet["results"] == [
        {"execution_id": execution["id"], "outcome": "skipped", "reason": "not_expired"}
    ]

    # Stop the background loop so the deadline stays unenforced until the pass runs it.
    await server.runtime.scheduler.stop()
    server.runtime.clock.advance(10)
    status = (await api.call("GET", "/system/activity-timeouts")).json()
    assert (status["expired_count"], status["expired_execution_ids"]) == (1, [execution["id"]])
    passed = await api.call(
        "POST", "/system/activity-timeouts/pass", {"execution_ids": [execution["id"], "ghost"]}
    )
    assert passed.status_code == 200, passed.text
    result = passed.json()
    assert set(recorded_fixture("system-activity-timeout-pass")["response_body"]) <= set(result)
    assert (result["processed"], result["enforced"], result["skipped"]) == (2, 1, 1)
    by_id = {r["execution_id"]: r for r in result["results"]}
    assert by_id[execution["id"]]["outcome"] == "enforced"
    assert by_id["ghost"]["reason"] == "execution_not_found"
    closed = server.runtime.store.one(
        "SELECT status FROM activity_executions WHERE id = ?", (execution["id"],)
    )
    assert closed is not None and closed["status"] == "timed_out"
    assert (await api.call("GET", "/system/activity-timeouts")).json()["expired_count"] == 0


async def test_system_routes_are_admin_only_and_validate_input(
    server: DevServer, api_factory: ApiFactory, snap: Snapshot, rejections: Rejections
) -> None:
    await start(api_factory(server.url), "w-1")
    before = snap(server)
    operator = api_factory(server.url, token="operator-token")
    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (operator, "GET", "/system/repair", None, 403, "forbidden"),
        (operator, "POST", "/system/repair/pass", {}, 403, "forbidden"),
        (operator, "GET", "/system/retention", None, 403, "forbidden"),
        (operator, "POST", "/system/retention/pass", {}, 403, "forbidden"),
        (operator, "GET", "/system/activity-timeouts", None, 403, "forbidden"),
        (operator, "POST", "/system/activity-timeouts/pass", {}, 403, "forbidden"),
        (api_factory(server.url, token=None), "GET", "/system/repair", None, 401, "unauthorized"),
        (
            api_factory(server.url),
            "POST",
            "/system/repair/pass",
            {"run_ids": "run-1"},
            422,
            "validation_failed",
        ),
        (
            api_factory(server.url),
            "POST",
            "/system/repair/pass",
            {"run_ids": ["r"] * 101},
            422,
            "validation_failed",
        ),
        (api_factory(server.url), "POST", "/system/retention/pass", {"limit": 0}, 422, "validation_failed"),
        (
            api_factory(server.url),
            "POST",
            "/system/activity-timeouts/pass",
            {"execution_ids": [""]},
            422,
            "validation_failed",
        ),
        (api_factory(server.url), "GET", "/system/retention?limit=abc", None, 422, "validation_failed"),
        (
            api_factory(server.url, namespace="nowhere"),
            "GET",
            "/system/retention",
            None,
            404,
            "namespace_not_found",
        ),
    ]
    await rejections(cases)
    assert snap(server) == before
