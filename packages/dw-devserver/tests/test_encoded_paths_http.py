"""Percent-encoded path segments: ids and names containing ``/``, ``?``, ``%``, spaces or non-ASCII
reach their route whole, through the real ``dw_client.Client`` over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from dw_client import Client
from dw_core.errors import DurableWorkflowError
from dw_devserver import DevServer

QUEUE = "orders/eu west"
WORKER = "team/a worker ?50%"
SIGNAL = "price/changed?now=1 100% é"
CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2", "Content-Type": "application/json"}


@pytest.fixture
async def server() -> AsyncIterator[DevServer]:
    async with DevServer.start(long_poll_timeout=1) as dev:
        yield dev


@pytest.fixture
async def client(server: DevServer) -> AsyncIterator[Client]:
    async with Client(server.url) as c:
        await c.register_worker(worker_id=WORKER, task_queue=QUEUE)
        yield c


async def test_signal_name_worker_id_and_task_queue_with_slashes_reach_their_routes(client: Client) -> None:
    handle = await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="enc-1")
    task = await client.poll_workflow_task(worker_id=WORKER, task_queue=QUEUE, timeout=10)
    assert task is not None and task["workflow_id"] == "enc-1"

    await client.signal_workflow("enc-1", SIGNAL, args=[7])
    history = await handle.get_history()
    signals = [e for e in history["events"] if e["event_type"] == "SignalReceived"]
    assert [e["payload"].get("signal_name") for e in signals] == [SIGNAL]

    worker = await client.describe_worker(WORKER)
    assert worker.worker_id == WORKER and worker.task_queue == QUEUE

    queue = await client.describe_task_queue(QUEUE)
    assert queue.name == QUEUE
    assert [p["worker_id"] for p in queue.pollers or []] == [WORKER]

    rollout = await client.list_task_queue_build_ids(QUEUE)
    assert rollout.task_queue == QUEUE
    state = await client.drain_task_queue_build_id(QUEUE, None)
    assert state.drain_intent == "draining"

    removed = await client.deregister_worker(WORKER)
    assert removed["worker_id"] == WORKER


async def test_query_name_with_slash_reaches_the_worker_and_answers(client: Client) -> None:
    await client.start_workflow(workflow_type="t", task_queue=QUEUE, workflow_id="enc-q")
    name = "totals/by region?x=%41"

    async def answer() -> str:
        task = await client.poll_query_task(worker_id=WORKER, task_queue=QUEUE, timeout=20)
        assert task is not None
        await client.complete_query_task(
            query_task_id=task["query_task_id"],
            lease_owner=WORKER,
            query_task_attempt=task["query_task_attempt"],
            result={"total": 3},
        )
        return str(task["query_name"])

    answering = asyncio.create_task(answer())
    reply = await client.query_workflow("enc-q", name)
    assert reply["query_name"] == name and reply["result"] == {"total": 3}
    assert await answering == name


async def test_unknown_route_with_encoded_segments_is_still_a_404(server: DevServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        reply = await http.get("/api/nothing%2Fhere", headers=CONTROL)
    assert reply.status_code == 404 and reply.json()["reason"] == "not_found"


async def test_forbidden_workflow_id_characters_keep_their_422(client: Client, server: DevServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for bad in ("a/b", "a?b"):
            reply = await http.post(
                "/api/workflows", json={"workflow_id": bad, "workflow_type": "t"}, headers=CONTROL
            )
            assert reply.status_code == 422, reply.text
            assert "workflow_id" in reply.json()["errors"]
        # an encoded slash in the path is one segment: the describe route answers "not found"
        reply = await http.get("/api/workflows/a%2Fb", headers=CONTROL)
        assert reply.status_code == 404
        assert reply.json()["reason"] == "instance_not_found"
        # a real extra segment is still an unknown route
        reply = await http.get("/api/workflows/a/b/c/d", headers=CONTROL)
        assert reply.status_code == 404 and reply.json()["reason"] == "not_found"
    stored = server.runtime.store.one("SELECT COUNT(*) AS n FROM workflows WHERE workflow_id LIKE 'a%'")
    assert stored is not None and stored["n"] == 0


async def test_undecodable_path_segment_is_a_clear_400(server: DevServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        reply = await http.get("/api/workers/bad%FFid", headers=CONTROL)
    assert reply.status_code == 400
    body = reply.json()
    assert body["reason"] == "invalid_path_encoding"
    assert body["parameters"] == ["worker_id"]


async def test_search_attribute_and_namespace_names_with_slash_reach_their_routes(client: Client) -> None:
    with pytest.raises(DurableWorkflowError) as missing_attribute:
        await client.delete_search_attribute("tier/level")
    assert getattr(missing_attribute.value, "body", {})["reason"] == "attribute_not_found"
    with pytest.raises(DurableWorkflowError) as missing_namespace:
        await client.describe_namespace("team/a")
    assert getattr(missing_namespace.value, "body", {})["reason"] == "namespace_not_found"


async def test_trailing_slash_still_redirects_to_the_route(server: DevServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        reply = await http.get("/api/workflows/", headers=CONTROL)
        assert reply.status_code == 307
        assert reply.headers["location"].endswith("/api/workflows")
        followed = await http.get("/api/workflows/", headers=CONTROL, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["workflows"] == []
