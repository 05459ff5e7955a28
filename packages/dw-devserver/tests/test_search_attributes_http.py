"""Search-attribute definitions over real HTTP, their type checks, and filtering workflow lists by them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = Rejections = Any


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    async with DevServer.start(config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running


async def test_create_list_delete_with_fixture_shapes(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> None:
    api = api_factory(server.url)
    created = await api.call(
        "POST", "/search-attributes", recorded_fixture("search-attribute-create")["request"]["body"]
    )
    assert created.status_code == 201
    assert created.json() == recorded_fixture("search-attribute-create")["response_body"]
    assert (
        await api.call("POST", "/search-attributes", {"name": "Priority", "type": "int"})
    ).status_code == 201

    listed = (await api.call("GET", "/search-attributes")).json()
    assert set(recorded_fixture("search-attribute-list")["response_body"]) <= set(listed)
    assert listed["custom_attributes"] == {"OrderStatus": "keyword", "Priority": "int"}
    assert list(listed["custom_attributes"]) == sorted(listed["custom_attributes"])
    assert listed["system_attributes"]["WorkflowType"] == "keyword"
    assert listed["system_attributes"]["StartTime"] == "datetime"

    deleted = await api.call("DELETE", "/search-attributes/OrderStatus")
    assert deleted.status_code == 200
    assert deleted.json() == recorded_fixture("search-attribute-delete")["response_body"]
    assert (await api.call("GET", "/search-attributes")).json()["custom_attributes"] == {"Priority": "int"}


async def test_definitions_are_per_namespace(server: DevServer, api_factory: ApiFactory) -> None:
    admin = api_factory(server.url, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    assert (
        await api_factory(server.url).call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).is_success
    billing = api_factory(server.url, namespace="billing")
    assert (await billing.call("GET", "/search-attributes")).json()["custom_attributes"] == {}
    missing = await billing.call("DELETE", "/search-attributes/Tier")
    assert (missing.status_code, missing.json()["reason"]) == (404, "attribute_not_found")
    assert (
        await billing.call("POST", "/search-attributes", {"name": "Tier", "type": "int"})
    ).status_code == 201


async def test_rejections_change_nothing(
    server: DevServer, api_factory: ApiFactory, snap: Snapshot, rejections: Rejections
) -> None:
    api = api_factory(server.url)
    assert (
        await api.call("POST", "/search-attributes", {"name": "Tier", "type": "keyword"})
    ).status_code == 201
    before = snap(server)
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
        (api_factory(server.url, token="worker-token"), "GET", "/search-attributes", None, 403, "forbidden"),
        (
            api_factory(server.url, token=None),
            "POST",
            "/search-attributes",
            {"name": "A", "type": "int"},
            401,
            "unauthorized",
        ),
        (
            api_factory(server.url, namespace="nowhere"),
            "GET",
            "/search-attributes",
            None,
            404,
            "namespace_not_found",
        ),
    ]
    await rejections(cases)
    clash = await api.call("POST", "/search-attributes", {"name": "Tier", "type": "int"})
    assert (clash.json()["name"], clash.json()["type"]) == ("Tier", "keyword")
    assert snap(server) == before


async def test_the_custom_attribute_limit_is_enforced(server: DevServer, api_factory: ApiFactory) -> None:
    api = api_factory(server.url)
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


async def test_declared_types_are_enforced_on_schedule_attributes(
    server: DevServer, api_factory: ApiFactory
) -> None:
    api = api_factory(server.url)
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


async def test_workflow_lists_filter_by_attribute(server: DevServer, api_factory: ApiFactory) -> None:
    api = api_factory(server.url)
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
