"""The fast worker-plane carrier (``dw_client.fast_transport``) against ``httpx``.

A scripted HTTP/1.1 server on 127.0.0.1 (plain asyncio, so it can answer in ways the dev server
never does: chunked bodies, ``Connection: close``, HTTP/1.0, cut-off and malformed answers) records
what arrives per TCP connection. Worker-plane calls must leave the same requests and come back with
the same answers, errors and metrics over both carriers; only the carrier's cost differs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from dw_client import Client
from dw_client.fast_transport import supports_keepalive_http
from dw_core.errors import ServerError, Unauthorized
from dw_core.metrics import CLIENT_REQUESTS, InMemoryMetrics
from dw_core.retry_policy import TransportRetryPolicy

FAST_RETRY = TransportRetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.02)


@dataclass
class Seen:
    connection: int
    method: str
    target: str
    headers: dict[str, str]
    body: Any


def json_answer(status: int, body: Any, *, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )


# An answer is raw bytes to send, optionally followed by closing the connection.
Answer = tuple[bytes, bool]


@dataclass
class ScriptedServer:
    """Keep-alive HTTP/1.1 server answering each request with ``respond(seen)``."""

    respond: Callable[[Seen], Answer] = lambda seen: (json_answer(200, {"ok": True}), False)
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(number, method, target, headers, json.loads(raw) if raw else None)
                self.seen.append(seen)
                answer, close = self.respond(seen)
                writer.write(answer)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer()
    server.server = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    yield server
    server.server.close()
    await server.server.wait_closed()


def clients(url: str, **kwargs: Any) -> dict[str, Client]:
    kwargs.setdefault("retry_policy", FAST_RETRY)
    return {
        "fast": Client(url, **kwargs),
        "httpx": Client(url, fast_worker_plane=False, **kwargs),
    }


async def every_worker_call(client: Client) -> None:
    """One of each worker-plane call (the server's answers are not what they would really be)."""
    await client.register_worker(worker_id="w/1", task_queue="q", supported_activity_types=["a"])
    await client.heartbeat_worker(worker_id="w/1", task_slots={"activity_available": 2})
    await client.poll_workflow_task(worker_id="w/1", task_queue="q", timeout=5, history_page_size=16)
    await client.poll_activity_task(worker_id="w/1", task_queue="q", timeout=5, build_id="b1")
    await client.poll_query_task(worker_id="w/1", task_queue="q", timeout=5)
    ids = {"lease_owner": "w/1", "workflow_task_attempt": 2}
    await client.workflow_task_history(task_id="t/1?x", next_history_page_token="MTU=", **ids)
    await client.heartbeat_workflow_task(task_id="t/1?x", **ids)
    await client.complete_workflow_task(task_id="t/1?x", commands=[{"type": "start_timer"}], **ids)
    await client.fail_workflow_task(task_id="t/1?x", message="boom", failure_type="E", **ids)
    attempt = {"task_id": "a 1", "activity_attempt_id": "att-1", "lease_owner": "w/1"}
    await client.complete_activity_task(result={"n": 1}, **attempt)
    await client.fail_activity_task(message="no", non_retryable=True, details=[1], **attempt)
    await client.heartbeat_activity_task(details={"step": 3}, **attempt)
    query = {"query_task_id": "q%1", "lease_owner": "w/1", "query_task_attempt": 1}
    await client.complete_query_task(result=7, **query)
    await client.fail_query_task(message="unknown query", **query)


_CARRIER_HEADERS = {"host", "content-length", "user-agent", "accept-encoding", "connection"}


async def test_every_worker_call_leaves_the_same_request_over_both_carriers(scripted: ScriptedServer) -> None:
    requests: dict[str, list[tuple[Any, ...]]] = {}
    for carrier, client in clients(scripted.url, worker_token="wt", namespace="ns-1").items():
        scripted.seen.clear()
        async with client:
            assert client.fast_worker_plane == (carrier == "fast")
            await every_worker_call(client)
        requests[carrier] = [
            (
                s.method,
                s.target,
                {k: v for k, v in s.headers.items() if k not in _CARRIER_HEADERS},
                _without_random_ids(s.body),
            )
            for s in scripted.seen
        ]
    assert len(requests["fast"]) == 14
    assert requests["fast"] == requests["httpx"]
    method, target, headers, body = requests["fast"][5]
    assert (method, target) == ("POST", "/api/worker/workflow-tasks/t%2F1%3Fx/history")
    assert headers["authorization"] == "Bearer wt" and headers["x-namespace"] == "ns-1"
    assert body["next_history_page_token"] == "MTU="


def _without_random_ids(body: Any) -> Any:
    if isinstance(body, dict) and "poll_request_id" in body:
        return {**body, "poll_request_id": body["poll_request_id"].split("-poll-")[0]}
    return body


async def test_worker_calls_share_one_kept_alive_connection(scripted: ScriptedServer) -> None:
    async with Client(scripted.url) as client:
        for _ in range(20):
            await client.heartbeat_worker(worker_id="w")
    assert scripted.connections == 1
    assert len(scripted.seen) == 20
    assert all("python-httpx" not in s.headers.get("user-agent", "") for s in scripted.seen)


async def test_answers_in_every_framing_are_read(scripted: ScriptedServer) -> None:
    body = json.dumps({"task": {"task_id": "t-1"}}).encode()
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % 5
        + body[:5]
        + b"\r\n"
        + b"%x;ext=1\r\n" % (len(body) - 5)
        + body[5:]
        + b"\r\n0\r\n\r\n"
    )
    answers: list[Answer] = [
        (chunked, False),
        (json_answer(200, {"task": {"task_id": "t-2"}}, extra="Connection: close\r\n"), True),
        (b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps({"task": {"task_id": "t-3"}}).encode(), True),
        (json_answer(200, {"task": {"task_id": "t-4"}}), False),
    ]
    scripted.respond = lambda seen: answers.pop(0)
    async with Client(scripted.url) as client:
        got = [
            (await client.poll_activity_task(worker_id="w", task_queue="q", timeout=5) or {}).get("task_id")
            for _ in range(4)
        ]
    assert got == ["t-1", "t-2", "t-3", "t-4"]
    assert scripted.connections == 3  # a new connection after each answer that closed its own


async def test_errors_are_the_same_typed_errors_over_both_carriers(scripted: ScriptedServer) -> None:
    scripted.respond = lambda seen: (json_answer(401, {"message": "bad worker token"}), False)
    for client in clients(scripted.url).values():
        async with client:
            with pytest.raises(Unauthorized, match="bad worker token"):
                await client.heartbeat_worker(worker_id="w")

    scripted.respond = lambda seen: (
        json_answer(404, {"reason": "task_not_found", "message": "no such task"}),
        False,
    )
    raised: dict[str, ServerError] = {}
    for carrier, client in clients(scripted.url).items():
        async with client:
            with pytest.raises(ServerError) as info:
                await client.heartbeat_workflow_task(task_id="t-9", lease_owner="w", workflow_task_attempt=1)
        raised[carrier] = info.value
    assert str(raised["fast"]) == str(raised["httpx"])
    assert raised["fast"].status == 404 and raised["fast"].reason() == "task_not_found"

    scripted.respond = lambda seen: (
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<h1>oops</h1>",
        False,
    )
    for client in clients(scripted.url).values():
        async with client:
            with pytest.raises(ServerError) as server_error:
                await client.heartbeat_worker(worker_id="w")
        assert server_error.value.status == 502 and "oops" in str(server_error.value)


async def test_metrics_tags_are_the_same_over_both_carriers(scripted: ScriptedServer) -> None:
    for carrier, client_class_kwargs in (("fast", {}), ("httpx", {"fast_worker_plane": False})):
        metrics = InMemoryMetrics()
        async with Client(scripted.url, metrics=metrics, **client_class_kwargs) as client:
            await client.complete_workflow_task(
                task_id="t-1", lease_owner="w", workflow_task_attempt=1, commands=[]
            )
        tags = {
            "method": "POST",
            "route": "/worker/workflow-tasks/{task_id}/complete",
            "plane": "worker",
            "status_code": "200",
            "outcome": "ok",
        }
        assert metrics.counter_value(CLIENT_REQUESTS, tags) == 1, carrier


async def test_broken_answers_are_retried_then_reported_as_httpx_errors(scripted: ScriptedServer) -> None:
    cut = json_answer(200, {"ok": True})[:-3]
    scripted.respond = lambda seen: (cut, True)
    async with Client(scripted.url, retry_policy=FAST_RETRY) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="middle of the answer"):
            await client.heartbeat_worker(worker_id="w")
    assert len(scripted.seen) == 3  # every attempt of the policy was made

    scripted.seen.clear()
    answers: list[Answer] = [(b"SPDY/9 what\r\n\r\n", True), (json_answer(200, {"worker_id": "w"}), False)]
    scripted.respond = lambda seen: answers.pop(0)
    async with Client(scripted.url, retry_policy=FAST_RETRY) as client:
        assert await client.heartbeat_worker(worker_id="w") == {"worker_id": "w"}
    assert len(scripted.seen) == 2


async def test_idle_connection_closed_by_the_server_is_replaced_without_a_retry(
    scripted: ScriptedServer,
) -> None:
    scripted.respond = lambda seen: (json_answer(200, {"n": len(scripted.seen)}), True)
    policy = TransportRetryPolicy(max_attempts=1)  # no retries: a stale connection must not cost one
    async with Client(scripted.url, retry_policy=policy) as client:
        first = await client.heartbeat_worker(worker_id="w")
        await asyncio.sleep(0.05)  # let the server's close arrive
        second = await client.heartbeat_worker(worker_id="w")
    assert (first, second) == ({"n": 1}, {"n": 2})
    assert scripted.connections == 2


async def test_a_cancelled_call_does_not_poison_the_next_one(scripted: ScriptedServer) -> None:
    stalled: list[Seen] = []

    def respond(seen: Seen) -> Answer:
        if seen.body.get("worker_id") == "slow":
            stalled.append(seen)
            return b"", False  # no answer on this connection (until it is closed)
        return json_answer(200, {"worker_id": seen.body["worker_id"]}), False

    scripted.respond = respond
    async with Client(scripted.url) as client:
        call = asyncio.create_task(client.heartbeat_worker(worker_id="slow"))
        while not stalled:
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await client.heartbeat_worker(worker_id="next") == {"worker_id": "next"}
    assert scripted.connections == 2


async def test_the_client_survives_moving_to_another_event_loop(scripted: ScriptedServer) -> None:
    client = Client(scripted.url)
    try:
        assert await client.heartbeat_worker(worker_id="w") == {"ok": True}

        def other_loop() -> Any:
            return asyncio.run(client.heartbeat_worker(worker_id="w"))

        assert await asyncio.to_thread(other_loop) == {"ok": True}
        assert await client.heartbeat_worker(worker_id="w") == {"ok": True}
    finally:
        await client.aclose()
    assert len(scripted.seen) == 3


def test_the_fast_path_is_used_only_where_it_reaches_the_server_like_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert Client("http://127.0.0.1:1").fast_worker_plane
    assert Client("https://dw.example.com/prefix").fast_worker_plane
    assert not Client("http://127.0.0.1:1", fast_worker_plane=False).fast_worker_plane
    custom = httpx.AsyncHTTPTransport()
    assert not Client("http://127.0.0.1:1", http_transport=custom).fast_worker_plane
    assert not supports_keepalive_http("http://user:secret@127.0.0.1:1")

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert not Client("https://dw.example.com").fast_worker_plane  # httpx would go through the proxy
    assert Client("http://dw.example.com").fast_worker_plane  # no proxy for plain http
    monkeypatch.setenv("ALL_PROXY", "http://proxy.internal:3128")
    assert not Client("http://dw.example.com").fast_worker_plane
    monkeypatch.setenv("NO_PROXY", "dw.example.com,127.0.0.1")
    assert Client("https://dw.example.com").fast_worker_plane

    client = Client("http://127.0.0.1:1")
    client.disable_fast_worker_plane()
    assert not client.fast_worker_plane


async def test_a_base_url_path_prefix_reaches_the_server(scripted: ScriptedServer) -> None:
    async with Client(scripted.url + "/dw root") as client:
        assert client.fast_worker_plane
        await client.heartbeat_worker(worker_id="w")
    assert scripted.seen[0].target == "/dw%20root/api/worker/heartbeat"
