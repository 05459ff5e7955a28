"""Declared search-attribute types are enforced on workflow start and on upserts, and workflow
list filters compare typed values (bool, int, double, keyword_list) instead of text. Real HTTP
through ``dw_client.Client``; the test plays the worker with the client's worker-plane calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dw_client import Client
from dw_core.errors import DurableWorkflowError
from dw_devserver import DevServer

QUEUE = "sa"
WORKER = "sa-worker"
CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2", "Content-Type": "application/json"}


@pytest.fixture
async def server() -> AsyncIterator[DevServer]:
    async with DevServer.start(long_poll_timeout=0.5) as dev:
        yield dev


@pytest.fixture
async def client(server: DevServer) -> AsyncIterator[Client]:
    async with Client(server.url) as c:
        for name, kind in (
            ("Vip", "bool"),
            ("Priority", "int"),
            ("Score", "double"),
            ("Tags", "keyword_list"),
            ("Tier", "keyword"),
        ):
            await c.create_search_attribute(name, kind)
        await c.register_worker(worker_id=WORKER, task_queue=QUEUE)
        yield c


async def _ids(client: Client, query: str) -> list[str]:
    listed = await client.list_workflows(query=query)
    return sorted(e.workflow_id for e in listed.executions)


async def test_start_rejects_values_that_break_declared_types(
    client: Client, server: DevServer, snap: Any
) -> None:
    before = snap(server.runtime)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for attrs in (
            {"Priority": "high"},
            {"Vip": "yes"},
            {"Tags": "single"},
            {"Score": True},
            {"bad-name": 1},
        ):
            reply = await http.post(
                "/api/workflows",
                json={"workflow_type": "t", "task_queue": QUEUE, "search_attributes": attrs},
                headers=CONTROL,
            )
            assert reply.status_code == 422, (attrs, reply.text)
            body = reply.json()
            assert body["reason"] == "validation_failed"
            message = body["errors"]["search_attributes"][0]
            assert next(iter(attrs)) in message, message
    assert snap(server.runtime) == before
    # undeclared attributes are stored as given
    await client.start_workflow(
        workflow_type="t",
        task_queue=QUEUE,
        workflow_id="free-1",
        search_attributes={"Priority": 3, "Free": "x"},
    )
    assert await _ids(client, 'Free="x" AND Priority=3') == ["free-1"]


async def test_list_filters_compare_typed_values(client: Client) -> None:
    rows: dict[str, dict[str, Any]] = {
        "a": {"Vip": True, "Priority": 1, "Score": 2.5, "Tags": ["red", "blue"], "Tier": "42"},
        "b": {"Vip": False, "Priority": 10, "Score": 3.0, "Tags": ["green"], "Tier": "gold"},
        "c": {"Priority": 1},
    }
    for workflow_id, attrs in rows.items():
        await client.start_workflow(
            workflow_type="t", task_queue=QUEUE, workflow_id=workflow_id, search_attributes=attrs
        )
    assert await _ids(client, "Vip=true") == ["a"]
    assert await _ids(client, "Vip=false") == ["b"]
    # text comparison would have matched the boolean's stored 1 here
    assert await _ids(client, "Vip=1") == []
    assert await _ids(client, "Priority=1") == ["a", "c"]
    assert await _ids(client, 'Priority="1"') == ["a", "c"]
    assert await _ids(client, "Score=3") == ["b"]
    assert await _ids(client, 'Tags="blue"') == ["a"]
    assert await _ids(client, "Tier=42") == ["a"]
    assert await _ids(client, 'Priority=1 AND Tags="red"') == ["a"]
    assert await _ids(client, 'WorkflowId="b" AND Priority=10') == ["b"]
    assert await _ids(client, "Status=pending AND Priority=10") == ["b"]
    # text that is not a filter still matches workflow ids as a substring
    assert await _ids(client, "b") == ["b"]

    pages: list[str] = []
    token: str | None = None
    while True:
        page = await client.list_workflows(query="Priority=1", page_size=1, next_page_token=token)
        pages.extend(e.workflow_id for e in page.executions)
        token = page.next_page_token
        if not token:
            break
    assert sorted(pages) == ["a", "c"]


async def test_upsert_breaking_a_declared_type_is_refused_and_applies_nothing(
    client: Client, server: DevServer
) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="up-1")
    task = await client.poll_workflow_task(worker_id=WORKER, task_queue=QUEUE, timeout=10)
    assert task is not None
    commands: list[dict[str, Any]] = [
        {"type": "upsert_search_attributes", "attributes": {"Priority": "urgent", "Tier": "gold"}},
        {"type": "start_timer", "delay_seconds": 60},
    ]
    with pytest.raises(DurableWorkflowError) as info:
        await client.complete_workflow_task(
            task_id=task["task_id"],
            lease_owner=WORKER,
            workflow_task_attempt=task["workflow_task_attempt"],
            commands=commands,
        )
    assert getattr(info.value, "status", None) == 422
    errors = getattr(info.value, "body", {})["errors"]
    assert list(errors) == ["commands.0.attributes.Priority"]
    history = await handle.get_history()
    assert "SearchAttributesUpserted" not in [e["event_type"] for e in history["events"]]
    leased = server.runtime.store.one("SELECT status FROM workflow_tasks WHERE id = ?", (task["task_id"],))
    assert leased is not None and leased["status"] == "leased", (
        "the refused completion must leave the task with its worker"
    )

    commands[0]["attributes"]["Priority"] = 5
    await client.complete_workflow_task(
        task_id=task["task_id"],
        lease_owner=WORKER,
        workflow_task_attempt=task["workflow_task_attempt"],
        commands=commands,
    )
    assert await _ids(client, 'Priority=5 AND Tier="gold"') == ["up-1"]
