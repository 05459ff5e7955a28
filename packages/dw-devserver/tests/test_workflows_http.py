"""Control-plane workflow routes over real HTTP: happy paths and every kind of bad input."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
from dw_devserver import DevServer

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
Http = Any


async def start(api: Http, wid: str = "wf-1", **extra: object) -> httpx.Response:
    body = {"workflow_id": wid, "workflow_type": "greeter", "task_queue": "q", "input": ["world"], **extra}
    return await api.post("/workflows", body)


async def test_start_describe_and_duplicate_policies(api: Http) -> None:
    r = await start(api, memo={"k": "v"}, search_attributes={"Tier": "gold"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "started_new" and body["workflow_type"] == "greeter" and body["run_id"]
    assert body["control_plane"]["operation"] == "start"
    assert r.headers["X-Durable-Workflow-Control-Plane-Version"] == "2"

    desc = (await api.get("/workflows/wf-1")).json()
    assert desc["status"] == "pending" and desc["input"] == ["world"] and desc["memo"] == {"k": "v"}
    assert desc["input_envelope"]["codec"] == "avro" and desc["search_attributes"] == {"Tier": "gold"}

    dup = await start(api)
    assert dup.status_code == 409
    assert dup.json()["reason"] == "duplicate_not_allowed" and dup.json()["outcome"] == "rejected_duplicate"
    same = await start(api, duplicate_policy="use-existing")
    assert same.status_code == 200 and same.json()["run_id"] == body["run_id"]
    assert same.json()["outcome"] == "returned_existing_active"


async def test_start_validation_errors_change_nothing(dev: DevServer, api: Http, snap: Any) -> None:
    before = snap(dev.runtime)
    cases = [
        ({"workflow_id": "x"}, "workflow_type"),
        ({"workflow_id": "bad id!", "workflow_type": "t"}, "workflow_id"),
        ({"workflow_type": "t", "duplicate_policy": "use_existing"}, "duplicate_policy"),
        ({"workflow_type": "t", "retry_policy": {}}, "retry_policy"),
        ({"workflow_type": "t", "execution_timeout_seconds": 0}, "execution_timeout_seconds"),
        ({"workflow_type": "t", "input": {"codec": "json", "blob": "[]"}}, "input.codec"),
        (
            {
                "workflow_type": "t",
                "input": {"codec": "avro", "blob": base64.b64encode(b"\x00\x04{}\x02").decode()},
            },
            "input.blob",
        ),
    ]
    for body, field in cases:
        r = await api.post("/workflows", body)
        assert r.status_code == 422, (body, r.text)
        data = r.json()
        assert data["reason"] == "validation_failed" and field in data["errors"], data
        assert data["validation_errors"] == data["errors"]
    assert snap(dev.runtime) == before


async def test_body_header_and_namespace_errors(
    dev: DevServer, api: Http, http: httpx.AsyncClient, snap: Any
) -> None:
    before = snap(dev.runtime)
    r = await api.call("POST", "/workflows", "{not json")
    assert r.status_code == 400 and r.json()["reason"] == "malformed_json"
    r = await api.call("POST", "/workflows", "x=1", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["reason"] == "unsupported_media_type"
    big = json.dumps({"workflow_type": "t", "input": ["x" * (dev.config.max_payload_bytes + 10)]})
    r = await api.call("POST", "/workflows", big)
    assert r.status_code == 413 and r.json()["limit"] == dev.config.max_payload_bytes
    r = await http.post("/api/workflows", json={"workflow_type": "t"})
    assert r.status_code == 400 and r.json()["reason"] == "missing_control_plane_version"
    r = await http.post(
        "/api/workflows",
        json={"workflow_type": "t"},
        headers={"X-Durable-Workflow-Control-Plane-Version": "1"},
    )
    assert r.status_code == 400 and r.json()["reason"] == "unsupported_control_plane_version"
    assert r.json()["supported_version"] == "2"
    r = await api.post("/workflows", {"workflow_type": "t"}, headers={"X-Namespace": "nope"})
    assert (
        r.status_code == 404
        and r.json()["reason"] == "namespace_not_found"
        and r.json()["namespace"] == "nope"
    )
    r = await api.get("/no/such/route")
    assert r.status_code == 404 and r.json()["reason"] == "not_found"
    r = await api.call("PUT", "/workflows", {})
    assert r.status_code == 405 and r.json()["reason"] == "method_not_allowed"
    assert snap(dev.runtime) == before


async def test_auth_roles(snap: Any) -> None:
    tokens = {"adm": "admin", "op": "operator", "wk": "worker"}
    async with (
        DevServer.start(role_tokens=tokens, long_poll_timeout=0.2) as dev,
        httpx.AsyncClient(base_url=dev.url) as http,
    ):
        before = snap(dev.runtime)
        body = {"workflow_type": "t", "workflow_id": "a1"}
        r = await http.post("/api/workflows", json=body, headers=CONTROL)
        assert r.status_code == 401 and r.json()["reason"] == "unauthorized"
        r = await http.post("/api/workflows", json=body, headers={**CONTROL, "Authorization": "Bearer wrong"})
        assert r.status_code == 401
        r = await http.post("/api/workflows", json=body, headers={**CONTROL, "Authorization": "Bearer wk"})
        assert r.status_code == 403 and r.json()["role"] == "worker"
        assert r.json()["allowed_roles"] == ["operator", "admin"]
        # role before version before namespace: a worker cannot probe namespaces
        r = await http.post(
            "/api/workflows", json=body, headers={"Authorization": "Bearer wk", "X-Namespace": "zz"}
        )
        assert r.status_code == 403
        r = await http.post(
            "/api/worker/register",
            json={"task_queue": "q", "runtime": "python"},
            headers={"Authorization": "Bearer adm", "X-Durable-Workflow-Protocol-Version": "1.1"},
        )
        assert r.status_code == 403  # admin does not imply worker
        assert snap(dev.runtime) == before
        r = await http.post("/api/workflows", json=body, headers={**CONTROL, "Authorization": "Bearer op"})
        assert r.status_code == 201
        assert (await http.get("/api/health")).status_code == 200  # no auth on health
        r = await http.get("/api/cluster/info", headers={"Authorization": "Bearer wk"})
        assert r.status_code == 200


async def test_unknown_workflow_and_illegal_transitions(dev: DevServer, api: Http, snap: Any) -> None:
    for method, path in [
        ("GET", "/workflows/nope"),
        ("POST", "/workflows/nope/signal/s"),
        ("POST", "/workflows/nope/cancel"),
        ("POST", "/workflows/nope/terminate"),
        ("POST", "/workflows/nope/update/u"),
        ("POST", "/workflows/nope/repair"),
        ("POST", "/workflows/nope/archive"),
        ("GET", "/workflows/nope/runs"),
    ]:
        r = await api.call(method, path, {} if method == "POST" else None)
        assert r.status_code == 404 and r.json()["reason"] == "instance_not_found", (path, r.text)
    r = await api.get("/workflows/nope/runs/r1/history")
    assert r.status_code == 404 and r.json()["reason"] == "run_not_found"
    await start(api, "wf-t")
    r = await api.post("/workflows/wf-t/archive")
    assert r.status_code == 409 and r.json()["reason"] == "run_not_closed"
    r = await api.post("/workflows/wf-t/terminate", {"reason": "stop"})
    assert r.status_code == 200 and r.json()["outcome"] == "terminated"
    before = snap(dev.runtime)
    for path in [
        "/workflows/wf-t/terminate",
        "/workflows/wf-t/cancel",
        "/workflows/wf-t/signal/go",
        "/workflows/wf-t/update/u",
        "/workflows/wf-t/repair",
    ]:
        r = await api.post(path)
        assert r.status_code == 409 and r.json()["reason"] == "run_not_active", (path, r.text)
    assert snap(dev.runtime) == before
    r = await api.post("/workflows/wf-t/archive", {"reason": "old"})
    assert r.status_code == 200 and r.json()["outcome"] == "archived"
    assert (await api.post("/workflows/wf-t/archive")).json()["outcome"] == "archive_not_needed"
    r = await api.post("/workflows/wf-t/update/u", {"wait_policy": "completed"})
    assert r.status_code == 422 and "wait_policy" in r.json()["errors"]
    events = (
        await api.get(f"/workflows/wf-t/runs/{(await api.get('/workflows/wf-t')).json()['run_id']}/history")
    ).json()
    types = [e["event_type"] for e in events["events"]]
    assert types == [
        "StartAccepted",
        "WorkflowStarted",
        "TerminateRequested",
        "WorkflowTerminated",
        "ArchiveRequested",
        "WorkflowArchived",
    ]


async def test_list_paging_filters_and_history_paging(api: Http) -> None:
    for i in range(5):
        await start(api, f"list-{i}", search_attributes={"Tier": "gold" if i % 2 else "silver"})
    await api.post("/workflows/list-0/terminate")
    page1 = (await api.get("/workflows", params={"page_size": 2})).json()
    assert page1["workflow_count"] == 2 and page1["next_page_token"]
    page2 = (
        await api.get("/workflows", params={"page_size": 2, "next_page_token": page1["next_page_token"]})
    ).json()
    ids1 = {w["workflow_id"] for w in page1["workflows"]}
    assert ids1.isdisjoint({w["workflow_id"] for w in page2["workflows"]})
    running = (await api.get("/workflows", params={"status": "running"})).json()
    assert {w["workflow_id"] for w in running["workflows"]} == {f"list-{i}" for i in range(1, 5)}
    failed = (await api.get("/workflows", params={"status": "failed"})).json()
    assert [w["workflow_id"] for w in failed["workflows"]] == ["list-0"]
    r = await api.get("/workflows", params={"status": "cancelled"})
    assert r.status_code == 422
    gold = (await api.get("/workflows", params={"query": 'Tier="gold"'})).json()
    assert {w["workflow_id"] for w in gold["workflows"]} == {"list-1", "list-3"}
    sub = (await api.get("/workflows", params={"query": "list-2"})).json()
    assert [w["workflow_id"] for w in sub["workflows"]] == ["list-2"]

    run_id = (await api.get("/workflows/list-0")).json()["run_id"]
    h1 = (await api.get(f"/workflows/list-0/runs/{run_id}/history", params={"page_size": 2})).json()
    assert [e["sequence"] for e in h1["events"]] == [1, 2] and h1["next_page_token"]
    h2 = (
        await api.get(
            f"/workflows/list-0/runs/{run_id}/history",
            params={"page_size": 2, "next_page_token": h1["next_page_token"]},
        )
    ).json()
    assert [e["event_type"] for e in h2["events"]] == ["TerminateRequested", "WorkflowTerminated"]
    runs = (await api.get("/workflows/list-0/runs")).json()
    assert runs["run_count"] == 1 and runs["runs"][0]["run_id"] == run_id
    show = (await api.get(f"/workflows/list-0/runs/{run_id}")).json()
    assert show["status"] == "terminated" and show["control_plane"]["operation"] == "describe_run"
    export = (await api.get(f"/workflows/list-0/runs/{run_id}/history/export")).json()
    assert export["schema"] == "durable-workflow.v2.history-export" and export["history_complete"] is True
    assert len(export["history_events"]) == 4 and len(export["integrity"]["checksum"]) == 64


async def test_query_without_worker_is_409(api: Http) -> None:
    await start(api, "wf-q")
    r = await api.post("/workflows/wf-q/query/status")
    assert r.status_code == 409 and r.json()["reason"] == "query_worker_unavailable"
    assert r.json()["control_plane"]["operation"] == "query"


async def test_discovery_documents(api: Http, http: httpx.AsyncClient) -> None:
    info = (await http.get("/api/cluster/info")).json()
    assert info["control_plane"]["version"] == "2"
    assert (
        info["control_plane"]["request_contract"]["schema"]
        == "durable-workflow.v2.control-plane-request.contract"
    )
    major, minor = info["worker_protocol"]["version"].split(".")
    assert major == "1" and int(minor) >= 1
    assert info["worker_protocol"]["server_capabilities"]["query_tasks"] is True
    assert info["auth_composition_contract"]["auth_material"]["token"]["status"] == "supported"
    assert info["capabilities"]["payload_codecs"] == ["avro"]
    ready = (await http.get("/api/ready")).json()
    assert ready["status"] == "ready"


async def test_namespaces_isolate_workflows(dev: DevServer, api: Http) -> None:
    now = dev.runtime.clock.now()
    with dev.runtime.store.transaction() as tx:  # namespace CRUD routes belong to another module
        tx.insert("namespaces", {"name": "team-b", "created_at": now, "updated_at": now})
    assert (await start(api, "shared-id")).status_code == 201
    b = {"X-Namespace": "Team-B"}  # names are case-insensitive
    r = await api.get("/workflows/shared-id", headers=b)
    assert r.status_code == 404 and r.json()["reason"] == "instance_not_found"
    r = await api.post("/workflows/shared-id/signal/x", headers=b)
    assert r.status_code == 404
    r = await api.post(
        "/workflows", {"workflow_id": "shared-id", "workflow_type": "greeter", "task_queue": "q"}, headers=b
    )
    assert r.status_code == 409 and r.json()["reason"] == "workflow_id_reserved_in_namespace"
    assert "default" not in r.json()["message"]  # the message does not name the owning namespace
    assert (await api.get("/workflows", headers=b)).json()["workflows"] == []
    assert len((await api.get("/workflows")).json()["workflows"]) == 1


async def test_history_long_poll_returns_when_an_event_commits() -> None:
    async with (
        DevServer.start(long_poll_timeout=20) as dev,
        httpx.AsyncClient(base_url=dev.url, timeout=30) as c,
    ):
        body = {"workflow_id": "lp", "workflow_type": "greeter", "task_queue": "q"}
        run_id = (await c.post("/api/workflows", json=body, headers=CONTROL)).json()["run_id"]
        token = base64.b64encode(b"2").decode()  # after the two start events
        waiting = asyncio.create_task(
            c.get(
                f"/api/workflows/lp/runs/{run_id}/history",
                params={"next_page_token": token, "wait_new_event": "true"},
                headers=CONTROL,
            )
        )
        await asyncio.sleep(0.1)
        began = time.monotonic()
        await c.post("/api/workflows/lp/signal/ping", json={}, headers=CONTROL)
        page = (await asyncio.wait_for(waiting, 25)).json()
        assert [e["event_type"] for e in page["events"]] == ["SignalReceived"]
        assert time.monotonic() - began < 10  # woken by the commit, not by the 20 s timeout
