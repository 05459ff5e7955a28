"""System maintenance over real HTTP: task repair, history retention and activity-timeout passes."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer, ServerConfig

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "control-plane"
TOKENS = {"admin-token": "admin", "operator-token": "operator", "worker-token": "worker"}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}-parity.json").read_text())
    return data


class Api:
    """A caller with the SDK's headers (control plane, or worker plane when ``worker=True``)."""

    def __init__(
        self, base: str, token: str | None = "admin-token", namespace: str = "default", worker: bool = False
    ) -> None:
        headers = {"X-Namespace": namespace, "Content-Type": "application/json"}
        headers.update(
            {"X-Durable-Workflow-Protocol-Version": "1.1"}
            if worker
            else {"X-Durable-Workflow-Control-Plane-Version": "2"}
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(base_url=base + "/api", headers=headers, timeout=30)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.request(
            method, path, content=None if body is None else json.dumps(body), **kw
        )


def snapshot(server: DevServer) -> dict[str, list[tuple[Any, ...]]]:
    store = server.runtime.store
    tables = [r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: sorted(tuple(r) for r in store.all(f"SELECT * FROM {t}")) for t in tables}


@pytest.fixture
async def server() -> AsyncIterator[DevServer]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=TOKENS)) as running:
        yield running


async def start(api: Api, workflow_id: str, queue: str = "q") -> str:
    body = {"workflow_id": workflow_id, "workflow_type": "demo", "task_queue": queue, "input": []}
    response = await api.call("POST", "/workflows", body)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def test_repair_redispatches_a_run_whose_task_was_lost(server: DevServer) -> None:
    api = Api(server.url)
    status = (await api.call("GET", "/system/repair")).json()
    assert set(fixture("system-repair-status")["response_body"]["policy"]) <= set(status["policy"])
    assert set(fixture("system-repair-status")["response_body"]["candidates"]) <= set(status["candidates"])
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
    assert set(fixture("system-repair-pass")["response_body"]) <= set(result)
    assert (result["repaired_missing_tasks"], result["dispatched_tasks"], result["missing_run_failures"]) == (
        1,
        1,
        [],
    )
    task = server.runtime.store.one("SELECT status FROM workflow_tasks WHERE run_id = ?", (run_id,))
    assert task is not None and task["status"] == "ready"
    assert (await api.call("GET", "/system/repair")).json()["candidates"]["total_candidates"] == 0


async def test_retention_deletes_only_closed_runs_past_the_namespace_retention(server: DevServer) -> None:
    admin = Api(server.url)
    assert (
        await admin.call("POST", "/namespaces", {"name": "short", "retention_days": 1})
    ).status_code == 201
    api = Api(server.url, namespace="short")
    old_run = await start(api, "old")
    assert (await api.call("POST", "/workflows/old/terminate", {})).status_code == 200
    open_run = await start(api, "still-open")
    await server.skip(2 * 86400)
    recent_run = await start(api, "recent")
    assert (await api.call("POST", "/workflows/recent/cancel", {})).status_code == 200
    other_ns_run = await start(admin, "default-ns-run")
    assert (await admin.call("POST", "/workflows/default-ns-run/terminate", {})).status_code == 200

    status = (await api.call("GET", "/system/retention")).json()
    assert set(fixture("system-retention-status")["response_body"]) <= set(status)
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
    assert set(fixture("system-retention-pass")["response_body"]) <= set(result)
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


async def test_activity_timeouts_are_reported_and_enforced(server: DevServer) -> None:
    api = Api(server.url)
    worker = Api(server.url, token="worker-token", worker=True)
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
    assert set(fixture("system-activity-timeout-status")["response_body"]) <= set(status)
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
    assert set(fixture("system-activity-timeout-pass")["response_body"]) <= set(result)
    assert (result["processed"], result["enforced"], result["skipped"]) == (2, 1, 1)
    by_id = {r["execution_id"]: r for r in result["results"]}
    assert by_id[execution["id"]]["outcome"] == "enforced"
    assert by_id["ghost"]["reason"] == "execution_not_found"
    closed = server.runtime.store.one(
        "SELECT status FROM activity_executions WHERE id = ?", (execution["id"],)
    )
    assert closed is not None and closed["status"] == "timed_out"
    assert (await api.call("GET", "/system/activity-timeouts")).json()["expired_count"] == 0


async def test_system_routes_are_admin_only_and_validate_input(server: DevServer) -> None:
    await start(Api(server.url), "w-1")
    before = snapshot(server)
    operator = Api(server.url, token="operator-token")
    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (operator, "GET", "/system/repair", None, 403, "forbidden"),
        (operator, "POST", "/system/repair/pass", {}, 403, "forbidden"),
        (operator, "GET", "/system/retention", None, 403, "forbidden"),
        (operator, "POST", "/system/retention/pass", {}, 403, "forbidden"),
        (operator, "GET", "/system/activity-timeouts", None, 403, "forbidden"),
        (operator, "POST", "/system/activity-timeouts/pass", {}, 403, "forbidden"),
        (Api(server.url, token=None), "GET", "/system/repair", None, 401, "unauthorized"),
        (Api(server.url), "POST", "/system/repair/pass", {"run_ids": "run-1"}, 422, "validation_failed"),
        (Api(server.url), "POST", "/system/repair/pass", {"run_ids": ["r"] * 101}, 422, "validation_failed"),
        (Api(server.url), "POST", "/system/retention/pass", {"limit": 0}, 422, "validation_failed"),
        (
            Api(server.url),
            "POST",
            "/system/activity-timeouts/pass",
            {"execution_ids": [""]},
            422,
            "validation_failed",
        ),
        (Api(server.url), "GET", "/system/retention?limit=abc", None, 422, "validation_failed"),
        (Api(server.url, namespace="nowhere"), "GET", "/system/retention", None, 404, "namespace_not_found"),
    ]
    for caller, method, path, body, status, reason in cases:
        response = await caller.call(method, path, body)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (
            path,
            response.text,
        )
    assert snapshot(server) == before
