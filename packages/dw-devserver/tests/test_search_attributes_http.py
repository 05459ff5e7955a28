"""Search-attribute definitions over real HTTP, their type checks, and filtering workflow lists by them."""

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
    """A control-plane caller with the SDK's headers."""

    def __init__(self, base: str, token: str | None = "operator-token", namespace: str = "default") -> None:
        headers = {
            "X-Durable-Workflow-Control-Plane-Version": "2",
            "X-Namespace": namespace,
            "Content-Type": "application/json",
        }
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
    async with DevServer.start(config=ServerConfig(role_tokens=TOKENS)) as running:
        yield running


async def test_create_list_delete_with_fixture_shapes(server: DevServer) -> None:
    api = Api(server.url)
    created = await api.call(
        "POST", "/search-attributes", fixture("search-attribute-create")["request"]["body"]
    )
    assert created.status_code == 201
    assert created.json() == fixture("search-attribute-create")["response_body"]
    assert (
        await api.call("POST", "/search-attributes", {"name": "Priority", "type": "int"})
    ).status_code == 201

    listed = (await api.call("GET", "/search-attributes")).json()
    assert set(fixture("search-attribute-list")["response_body"]) <= set(listed)
    assert listed["custom_attributes"] == {"OrderStatus": "keyword", "Priority": "int"}
    assert list(listed["custom_attributes"]) == sorted(listed["custom_attributes"])
    assert listed["system_attributes"]["WorkflowType"] == "keyword"
    assert listed["system_attributes"]["StartTime"] == "datetime"

    deleted = await api.call("DELETE", "/search-attributes/OrderStatus")
    assert deleted.status_code == 200
    assert deleted.json() == fixture("search-attribute-delete")["response_body"]
    assert (await api.call("GET", "/search-attributes")).json()["custom_attributes"] == {"Priority": "int"}


async def test_definitions_are_per_namespace(server: DevServer) -> None:
    admin = Api(server.url, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    assert (
        await Api(server.url).call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).is_success
    billing = Api(server.url, namespace="billing")
    assert (await billing.call("GET", "/search-attributes")).json()["custom_attributes"] == {}
    missing = await billing.call("DELETE", "/search-attributes/Tier")
    assert (missing.status_code, missing.json()["reason"]) == (404, "attribute_not_found")
    assert (
        await billing.call("POST", "/search-attributes", {"name": "Tier", "type": "int"})
    ).status_code == 201


async def test_rejections_change_nothing(server: DevServer) -> None:
    api = Api(server.url)
    assert (
        await api.call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).status_code == 201
    before = snapshot(server)
    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (api, "POST", "/search-attributes", {"name": "Tier", "type": "int"}, 409, "attribute_already_exists"),
        (
            api,
            "POST",
            "/search-attributes",
            {"name": "WorkflowType", "type": "keyword"},
            409,
            "name_reserved",
        ),
        (api, "POST", "/search-attributes", {"name": "1st", "type": "keyword"}, 422, "validation_failed"),
        (
            api,
            "POST",
            "/search-attributes",
            {"name": "has-dash", "type": "keyword"},
            422,
            "validation_failed",
        ),
        (api, "POST", "/search-attributes", {"name": "X" * 129, "type": "keyword"}, 422, "validation_failed"),
        (api, "POST", "/search-attributes", {"name": "Amount", "type": "money"}, 422, "validation_failed"),
        (api, "POST", "/search-attributes", {"type": "keyword"}, 422, "validation_failed"),
        (api, "DELETE", "/search-attributes/StartTime", None, 409, "system_attribute"),
        (api, "DELETE", "/search-attributes/Nope", None, 404, "attribute_not_found"),
        (Api(server.url, token="worker-token"), "GET", "/search-attributes", None, 403, "forbidden"),
        (
            Api(server.url, token=None),
            "POST",
            "/search-attributes",
            {"name": "A", "type": "int"},
            401,
            "unauthorized",
        ),
        (Api(server.url, namespace="nowhere"), "GET", "/search-attributes", None, 404, "namespace_not_found"),
    ]
    for caller, method, path, body, status, reason in cases:
        response = await caller.call(method, path, body)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (
            path,
            response.text,
        )
    clash = await api.call("POST", "/search-attributes", {"name": "Tier", "type": "int"})
    assert (clash.json()["name"], clash.json()["type"]) == ("Tier", "keyword")
    assert snapshot(server) == before


async def test_the_custom_attribute_limit_is_enforced(server: DevServer) -> None:
    api = Api(server.url)
    # 99 definitions straight into the table keep the test fast; the 100th and 101st go over HTTP.
    with server.runtime.store.transaction() as tx:
        for n in range(99):
            tx.insert(
                "search_attribute_definitions",
                {
                    "namespace": "default",
                    "name": f"A{n}",
                    "type": "int",
                    "created_at": server.runtime.clock.now(),
                },
            )
    assert (
        await api.call("POST", "/search-attributes", {"name": "Hundredth", "type": "int"})
    ).status_code == 201
    over = await api.call("POST", "/search-attributes", {"name": "OneTooMany", "type": "int"})
    assert (over.status_code, over.json()["reason"], over.json()["limit"]) == (
        422,
        "search_attribute_limit_reached",
        100,
    )
    assert len((await api.call("GET", "/search-attributes")).json()["custom_attributes"]) == 100


async def test_declared_types_are_enforced_on_schedule_attributes(server: DevServer) -> None:
    api = Api(server.url)
    assert (
        await api.call("POST", "/search-attributes", {"name": "Priority", "type": "int"})
    ).status_code == 201
    schedule = {
        "schedule_id": "s",
        "spec": {"intervals": [{"every": "PT1H"}]},
        "action": {"workflow_type": "w"},
        "search_attributes": {"Priority": "high"},
    }
    refused = await api.call("POST", "/schedules", schedule)
    assert (refused.status_code, refused.json()["reason"]) == (422, "validation_failed")
    assert "search_attributes.Priority" in refused.json()["errors"]
    schedule["search_attributes"] = {"Priority": 3, "Undeclared": "kept as given"}
    assert (await api.call("POST", "/schedules", schedule)).status_code == 201


async def test_workflow_lists_filter_by_attribute(server: DevServer) -> None:
    api = Api(server.url)
    assert (
        await api.call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).status_code == 201
    for workflow_id, tier in (("order-1", "gold"), ("order-2", "silver"), ("order-3", "gold")):
        start = {
            "workflow_id": workflow_id,
            "workflow_type": "orders",
            "task_queue": "q",
            "input": [],
            "search_attributes": {"Tier": tier},
        }
        assert (await api.call("POST", "/workflows", start)).status_code == 201
    gold = (await api.call("GET", "/workflows", params={"query": 'Tier="gold"'})).json()["workflows"]
    assert sorted(w["workflow_id"] for w in gold) == ["order-1", "order-3"]
    assert all(w["search_attributes"] == {"Tier": "gold"} for w in gold)
    assert (await api.call("GET", "/workflows", params={"query": 'Tier="bronze"'})).json()["workflows"] == []
