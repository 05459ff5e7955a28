"""Namespaces, external-storage policy and the storage probe over real HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from dw_devserver import DevServer, ServerConfig

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = Rejections = Any


@pytest.fixture
def api_default_token() -> str:
    """Callers in this module act as admin unless a test names another token."""
    return "admin-token"


@pytest.fixture
async def server(tmp_path: Path, dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    config = ServerConfig(role_tokens=dev_tokens, db_path=str(tmp_path / "dev.db"))
    async with DevServer.start(config=config) as running:
        yield running


@pytest.fixture
def admin(server: DevServer, api_factory: ApiFactory) -> Api:
    """An admin on this module's server (api_factory closes it at teardown)."""
    return api_factory(server.url)


async def test_crud_round_trip_with_fixture_shapes(
    admin: Api, server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    created = await admin.call("POST", "/namespaces", recorded_fixture("namespace-create")["request"]["body"])
    assert created.status_code == 201, created.text
    assert set(recorded_fixture("namespace-create")["response_body"]) <= set(created.json())
    assert (created.json()["name"], created.json()["retention_days"], created.json()["status"]) == (
        "billing",
        90,
        "active",
    )

    operator = api_factory(server.url, token="operator-token")
    listed = (await operator.call("GET", "/namespaces")).json()
    assert [n["name"] for n in listed["namespaces"]] == ["default", "billing"]
    assert set(recorded_fixture("namespace-list")["response_body"]["namespaces"][0]) <= set(
        listed["namespaces"][0]
    )
    described = (await operator.call("GET", "/namespaces/BILLING")).json()  # names are case-insensitive
    assert set(recorded_fixture("namespace-describe")["response_body"]) <= set(described)

    updated = await admin.call(
        "PUT", "/namespaces/billing", recorded_fixture("namespace-update")["request"]["body"]
    )
    assert updated.status_code == 200
    assert (updated.json()["description"], updated.json()["retention_days"]) == (
        "Billing workflows and reports",
        120,
    )
    # Absent and null fields keep their values.
    kept = (await admin.call("PUT", "/namespaces/billing", {"description": None})).json()
    assert (kept["description"], kept["retention_days"]) == ("Billing workflows and reports", 120)

    # The new namespace is usable at once: a schedule lives in it, and delete reports what went with it.
    billing = api_factory(server.url, namespace="billing")
    schedule = {
        "schedule_id": "s",
        "spec": {"intervals": [{"every": "PT1H"}]},
        "action": {"workflow_type": "w"},
    }
    assert (await billing.call("POST", "/schedules", schedule)).status_code == 201
    assert (
        await billing.call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).status_code == 201
    deleted = await admin.call("DELETE", "/namespaces/billing")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "name": "billing",
        "status": "deleted",
        "deleted": {
            "workflow_runs": 0,
            "workflow_schedules": 1,
            "search_attribute_definitions": 1,
            "workflow_worker_registrations": 0,
        },
    }
    assert (await admin.call("GET", "/namespaces/billing")).json()["reason"] == "namespace_not_found"
    assert (await billing.call("GET", "/schedules")).json()["reason"] == "namespace_not_found"
    # Re-creating the name starts empty.
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    assert (await billing.call("GET", "/search-attributes")).json()["custom_attributes"] == {}


async def test_delete_refuses_while_workflows_are_open(
    admin: Api, server: DevServer, api_factory: ApiFactory, snap: Snapshot
) -> None:
    assert (await admin.call("POST", "/namespaces", {"name": "busy"})).status_code == 201
    busy = api_factory(server.url, namespace="busy")
    start = {"workflow_id": "w-1", "workflow_type": "t", "task_queue": "q", "input": []}
    assert (await busy.call("POST", "/workflows", start)).status_code == 201
    before = snap(server)
    refused = await admin.call("DELETE", "/namespaces/busy")
    assert (refused.status_code, refused.json()["reason"], refused.json()["open_workflow_runs"]) == (
        409,
        "namespace_has_open_workflows",
        1,
    )
    assert snap(server) == before
    assert (await busy.call("POST", "/workflows/w-1/terminate", {})).status_code == 200
    run_id = (await busy.call("GET", "/workflows/w-1")).json()["run_id"]
    done = (await admin.call("DELETE", "/namespaces/busy")).json()
    assert done["deleted"]["workflow_runs"] == 1
    # Nothing of the namespace or its run is left in any table.
    leftovers = [
        (table, row) for table, rows in snap(server).items() for row in rows if "busy" in row or run_id in row
    ]
    assert leftovers == []


async def test_external_storage_policy_and_local_probe(
    admin: Api, server: DevServer, tmp_path: Path, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    billing = api_factory(server.url, namespace="billing")
    unset = await billing.call("POST", "/storage/test", {})
    assert (unset.status_code, unset.json()["reason"], unset.json()["status"]) == (
        422,
        "external_storage_not_configured",
        "failed",
    )

    s3 = recorded_fixture("namespace-set-storage-driver")
    response = await admin.call("PUT", "/namespaces/billing/external-storage", s3["request"]["body"])
    assert response.status_code == 200, response.text
    assert response.json()["external_payload_storage"] == s3["response_body"]["external_payload_storage"]
    assert (await admin.call("GET", "/namespaces/billing")).json()["external_payload_storage"][
        "driver"
    ] == "s3"
    remote = await billing.call("POST", "/storage/test", recorded_fixture("storage-test")["request"]["body"])
    assert (remote.status_code, remote.json()["reason"], remote.json()["supported_diagnostic_drivers"]) == (
        422,
        "storage_driver_unavailable",
        ["local"],
    )

    root = tmp_path / "payloads"
    policy = {"driver": "local", "enabled": True, "threshold_bytes": 1024, "config": {"uri": root.as_uri()}}
    assert (await admin.call("PUT", "/namespaces/billing/external-storage", policy)).status_code == 200
    probe = await billing.call(
        "POST", "/storage/test", {"small_payload_bytes": 128, "large_payload_bytes": 300_000}
    )
    assert probe.status_code == 200, probe.text
    result = probe.json()
    assert set(recorded_fixture("storage-test")["response_body"]) <= set(result)
    assert (result["status"], result["namespace"], result["driver"]) == ("passed", "billing", "local")
    for key, size in (("small_payload", 128), ("large_payload", 300_000)):
        stored = Path(urlparse(result[key]["reference_uri"]).path)
        data = stored.read_bytes()
        assert len(data) == size == result[key]["bytes"]
        assert hashlib.sha256(data).hexdigest() == result[key]["sha256"]
        assert stored.is_relative_to(root.resolve())
        assert stored.parent.parent.name == "avro" and stored.name == result[key]["sha256"]
    # Sizes are optional: the dev server picks safe defaults instead of a 422.
    assert (await billing.call("POST", "/storage/test", {})).json()["status"] == "passed"
    mismatch = await billing.call("POST", "/storage/test", {"driver": "gcs"})
    assert mismatch.json()["reason"] == "storage_driver_unavailable"

    disabled = {"driver": "local", "enabled": False}
    assert (await admin.call("PUT", "/namespaces/billing/external-storage", disabled)).status_code == 200
    assert (await billing.call("POST", "/storage/test", {})).json()["reason"] == "external_storage_disabled"


async def test_rejections_have_spec_reasons_and_change_nothing(
    admin: Api, server: DevServer, api_factory: ApiFactory, snap: Snapshot, rejections: Rejections
) -> None:
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    before = snap(server)
    operator = api_factory(server.url, token="operator-token")
    worker = api_factory(server.url, token="worker-token")
    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (admin, "POST", "/namespaces", b"{", 400, "malformed_json"),
        (admin, "POST", "/namespaces", {}, 422, "validation_failed"),
        (admin, "POST", "/namespaces", {"name": "has space"}, 422, "validation_failed"),
        (admin, "POST", "/namespaces", {"name": "x", "retention_days": 0}, 422, "validation_failed"),
        (admin, "POST", "/namespaces", {"name": "x", "retention_days": "ninety"}, 422, "validation_failed"),
        (admin, "POST", "/namespaces", {"name": "Billing"}, 409, "namespace_already_exists"),
        (admin, "PUT", "/namespaces/billing", {"retention_days": 366}, 422, "validation_failed"),
        (admin, "PUT", "/namespaces/nowhere", {"description": "x"}, 404, "namespace_not_found"),
        (admin, "GET", "/namespaces/nowhere", None, 404, "namespace_not_found"),
        (admin, "DELETE", "/namespaces/nowhere", None, 404, "namespace_not_found"),
        (admin, "DELETE", "/namespaces/default", None, 409, "default_namespace_protected"),
        (admin, "PUT", "/namespaces/billing/external-storage", {"driver": "ftp"}, 422, "validation_failed"),
        (admin, "PUT", "/namespaces/billing/external-storage", {"enabled": True}, 422, "validation_failed"),
        (
            admin,
            "PUT",
            "/namespaces/billing/external-storage",
            {"driver": "s3", "config": {"colour": "red"}},
            422,
            "validation_failed",
        ),
        (
            admin,
            "PUT",
            "/namespaces/billing/external-storage",
            {"driver": "s3", "threshold_bytes": 0},
            422,
            "validation_failed",
        ),
        (
            admin,
            "PUT",
            "/namespaces/nowhere/external-storage",
            {"driver": "local"},
            404,
            "namespace_not_found",
        ),
        (admin, "POST", "/storage/test", {"small_payload_bytes": 0}, 422, "validation_failed"),
        (admin, "POST", "/storage/test", {"large_payload_bytes": 16_777_217}, 422, "validation_failed"),
        (
            api_factory(server.url, namespace="nowhere"),
            "POST",
            "/storage/test",
            {},
            404,
            "namespace_not_found",
        ),
        (operator, "POST", "/namespaces", {"name": "x"}, 403, "forbidden"),
        (operator, "PUT", "/namespaces/billing", {"description": "x"}, 403, "forbidden"),
        (operator, "DELETE", "/namespaces/billing", None, 403, "forbidden"),
        (operator, "PUT", "/namespaces/billing/external-storage", {"driver": "local"}, 403, "forbidden"),
        (operator, "POST", "/storage/test", {}, 403, "forbidden"),
        (worker, "GET", "/namespaces", None, 403, "forbidden"),
        (api_factory(server.url, token="nope"), "GET", "/namespaces", None, 401, "unauthorized"),
        (api_factory(server.url, token=None), "POST", "/namespaces", {"name": "x"}, 401, "unauthorized"),
    ]
    await rejections(cases)
    forbidden = await operator.call("POST", "/namespaces", {"name": "x"})
    assert forbidden.json()["allowed_roles"] == ["admin"] and forbidden.json()["role"] == "operator"
    assert snap(server) == before


async def test_namespaces_survive_a_restart_on_the_same_file(tmp_path: Path, api_factory: ApiFactory) -> None:
    db = str(tmp_path / "durable.db")
    async with DevServer.start(db=db) as first:
        assert (
            await api_factory(first.url).call("POST", "/namespaces", {"name": "kept", "retention_days": 7})
        ).is_success
    async with DevServer.start(db=db) as second:
        described = (await api_factory(second.url).call("GET", "/namespaces/kept")).json()
        assert described["retention_days"] == 7
