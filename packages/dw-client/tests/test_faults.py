"""Transport faults between the client and the dev server, injected by a small TCP proxy.

The proxy (asyncio, 127.0.0.1) sits in front of the in-process dev server and, per connection,
forwards the request or misbehaves: drops the connection before or after the server handled the
request, stalls, or answers 503/429 itself. The client's retry policy must recover where repeating
is safe and surface a clear error where it is not.

Worker-plane calls travel over either carrier (``httpx``, or the keep-alive asyncio path of
``dw_client.fast_transport``), so the tests that make them run over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dw_client import Client, RequestOutcomeUnknown
from dw_core import serializer
from dw_core.errors import ServerError
from dw_core.retry_policy import TransportRetryPolicy
from dw_devserver import DevServer

FAST = TransportRetryPolicy(max_attempts=3, initial_backoff_seconds=0.02, max_backoff_seconds=0.05)


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (all the dev server and httpx send here)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


@dataclass
class FaultProxy:
    """TCP proxy applying one scripted plan per accepted connection (then forwarding)."""

    upstream_host: str
    upstream_port: int
    plans: list[str] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, sock: socket.socket | None = None) -> None:
        if sock is not None:
            self.server = await asyncio.start_server(self._handle, sock=sock)
        else:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _forward(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            writer.write(request)
            await writer.drain()
            return await _read_message(reader)
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        plan = self.plans.pop(0) if self.plans else "forward"
        try:
            request = await _read_message(reader)
            self.requests.append(request)
            if plan == "drop":  # the server never sees the request
                return
            if plan == "forward_then_drop":  # the server handled it; the answer is lost
                await self._forward(request)
                return
            if plan.startswith("stall"):
                # Hold the answer back until the client gives up and closes (or the cap passes).
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(reader.read(1), float(plan.split(":")[1]))
                return
            if plan.startswith("status:"):
                _, status, retry_after = [*plan.split(":"), ""][:3]
                body = json.dumps({"reason": "proxy_fault", "message": "injected"}).encode()
                extra = f"Retry-After: {retry_after}\r\n" if retry_after else ""
                writer.write(
                    f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n{extra}"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                return
            writer.write(await self._forward(request))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def bodies(self) -> list[Any]:
        return [json.loads(r.split(b"\r\n\r\n", 1)[1] or b"null") for r in self.requests]


@pytest.fixture
async def dev() -> AsyncIterator[DevServer]:
    async with DevServer.start(long_poll_timeout=1) as server:
        yield server


@pytest.fixture
async def proxy(dev: DevServer) -> AsyncIterator[FaultProxy]:
    parts = urlsplit(dev.url)
    assert parts.hostname is not None and parts.port is not None
    fault_proxy = FaultProxy(parts.hostname, parts.port)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.close()


def _client(port: int, *, carrier: str = "httpx", **kwargs: Any) -> Client:
    kwargs.setdefault("retry_policy", FAST)
    url = f"http://127.0.0.1:{port}"
    if carrier == "fast":
        # The proxy closes each connection after one exchange, so each request still meets one plan.
        client = Client(url, **kwargs)
        assert client.fast_worker_plane
        return client
    # One connection per request so each request meets exactly one proxy plan.
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    return Client(url, http_transport=transport, **kwargs)


CARRIERS = pytest.mark.parametrize("carrier", ["httpx", "fast"])


def _carried_by(proxy: FaultProxy, carrier: str) -> None:
    """Every request the proxy saw went over ``carrier`` (httpx announces itself; the fast path does not)."""
    assert proxy.requests
    for request in proxy.requests:
        assert (b"python-httpx" in request.lower()) == (carrier == "httpx"), request[:300]


async def _history_signals(client: Client, workflow_id: str) -> list[Any]:
    run_id = (await client.describe_workflow(workflow_id)).run_id
    assert run_id is not None
    events = (await client.get_history(workflow_id, run_id))["events"]
    return [
        serializer.decode_envelope(e["payload"]["arguments"], e["payload"].get("payload_codec"))
        for e in events
        if e["event_type"] == "SignalReceived"
    ]


async def test_reads_recover_from_dropped_connections(proxy: FaultProxy, dev: DevServer) -> None:
    async with Client(dev.url) as direct:
        await direct.start_workflow(workflow_type="t", task_queue="q", workflow_id="f-1")
    proxy.plans[:] = ["drop", "forward_then_drop"]
    async with _client(proxy.port) as client:
        assert (await client.describe_workflow("f-1")).workflow_id == "f-1"
    assert len(proxy.requests) == 3


async def test_lost_answer_to_a_signal_is_reported_not_repeated(proxy: FaultProxy, dev: DevServer) -> None:
    async with Client(dev.url) as direct:
        await direct.start_workflow(workflow_type="t", task_queue="q", workflow_id="f-2")
        proxy.plans[:] = ["forward_then_drop"]
        async with _client(proxy.port) as client:
            with pytest.raises(RequestOutcomeUnknown) as info:
                await client.signal_workflow("f-2", "pay", args=[1])
        assert isinstance(info.value, httpx.TransportError)
        assert "may have reached the server" in str(info.value)
        assert isinstance(info.value.__cause__, httpx.HTTPError)
        # The server applied it exactly once; the client did not send it again.
        assert await _history_signals(direct, "f-2") == [[1]]
        assert len(proxy.requests) == 1


async def test_refused_connection_is_retried_even_for_a_signal(dev: DevServer) -> None:
    parts = urlsplit(dev.url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
    port = sock.getsockname()[1]
    proxy = FaultProxy(parts.hostname, parts.port)
    refusals: list[str] = []

    def open_listener_after_first_refusal(exc: BaseException) -> bool | None:
        refusals.append(type(exc).__name__)
        if len(refusals) == 1:
            sock.listen(16)
            asyncio.get_running_loop().create_task(proxy.start(sock))
        return None  # no opinion: the policy's own rules decide

    policy = TransportRetryPolicy(
        max_attempts=4, initial_backoff_seconds=0.05, classifiers=(open_listener_after_first_refusal,)
    )
    try:
        async with Client(dev.url) as direct:
            await direct.start_workflow(workflow_type="t", task_queue="q", workflow_id="f-3")
            async with _client(port, retry_policy=policy) as client:
                await client.signal_workflow("f-3", "pay", args=[2])
            assert refusals == ["ConnectError"]
            assert await _history_signals(direct, "f-3") == [[2]]
    finally:
        await proxy.close()
        sock.close()


@pytest.mark.parametrize("status", ["503", "429"])
async def test_busy_answers_are_retried_and_retry_after_is_honoured(
    proxy: FaultProxy, dev: DevServer, status: str
) -> None:
    async with Client(dev.url) as direct:
        await direct.start_workflow(workflow_type="t", task_queue="q", workflow_id=f"f-{status}")
        proxy.plans[:] = [f"status:{status}:0.2"]
        async with _client(proxy.port) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await client.signal_workflow(f"f-{status}", "pay", args=[3])
            assert loop.time() - started >= 0.18
        assert await _history_signals(direct, f"f-{status}") == [[3]]
    assert len(proxy.requests) == 2


async def test_persistent_outage_surfaces_the_last_status(proxy: FaultProxy) -> None:
    proxy.plans[:] = ["status:503", "status:503", "status:503"]
    async with _client(proxy.port) as client:
        with pytest.raises(ServerError) as info:
            await client.list_namespaces()
    assert info.value.status == 503 and info.value.reason() == "proxy_fault"
    assert len(proxy.requests) == 3


async def test_500_on_a_start_is_not_repeated(proxy: FaultProxy, dev: DevServer) -> None:
    proxy.plans[:] = ["status:500"]
    async with _client(proxy.port) as client:
        with pytest.raises(ServerError) as info:
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="f-500")
    assert info.value.status == 500
    assert len(proxy.requests) == 1


async def test_stalled_read_times_out_and_is_retried(proxy: FaultProxy, dev: DevServer) -> None:
    proxy.plans[:] = ["stall:30"]
    # Generous enough that the forwarded retry never times out on a loaded machine.
    async with _client(proxy.port, timeout=1.5) as client:
        assert (await client.health())["status"] == "serving"
    assert len(proxy.requests) == 2


@CARRIERS
async def test_long_poll_timeout_repeats_once_with_the_same_poll_request_id(
    proxy: FaultProxy, carrier: str
) -> None:
    async with _client(proxy.port, carrier=carrier) as client:
        await client.register_worker(worker_id="w", task_queue="q")
        proxy.requests.clear()
        proxy.plans[:] = ["stall:5", "stall:5"]
        assert await client.poll_workflow_task(worker_id="w", task_queue="q", timeout=0.3) is None
    _carried_by(proxy, carrier)
    polls = proxy.bodies()
    assert len(polls) == 2
    assert polls[0]["poll_request_id"] == polls[1]["poll_request_id"]
    assert polls[0]["poll_request_id"].startswith("wf-poll-")


@CARRIERS
async def test_worker_calls_recover_from_dropped_connections(
    proxy: FaultProxy, dev: DevServer, carrier: str
) -> None:
    proxy.plans[:] = ["drop", "forward_then_drop"]
    async with _client(proxy.port, carrier=carrier) as client:
        ack = await client.register_worker(worker_id="w-drop", task_queue="q")
        assert ack["worker_id"] == "w-drop"
        proxy.plans[:] = ["drop"]
        assert await client.heartbeat_worker(worker_id="w-drop") is not None
    _carried_by(proxy, carrier)
    assert len(proxy.requests) == 5  # register: drop, lost answer, success; heartbeat: drop, success
    async with Client(dev.url) as direct:
        assert (await direct.describe_worker("w-drop")).task_queue == "q"


@CARRIERS
async def test_worker_call_that_lost_its_answer_is_repeated_and_fenced(
    proxy: FaultProxy, dev: DevServer, carrier: str
) -> None:
    """A completion whose answer was lost is sent again; the attempt fence keeps it applied once."""
    async with Client(dev.url) as direct:
        await direct.register_worker(worker_id="w-fence", task_queue="qf", supported_workflow_types=["t"])
        await direct.start_workflow(workflow_type="t", task_queue="qf", workflow_id="f-fence")
        task = await direct.poll_workflow_task(worker_id="w-fence", task_queue="qf", timeout=5)
        assert task is not None
        proxy.plans[:] = ["forward_then_drop"]
        async with _client(proxy.port, carrier=carrier) as client:
            with pytest.raises(ServerError) as info:
                await client.complete_workflow_task(
                    task_id=task["task_id"],
                    lease_owner=task["lease_owner"],
                    workflow_task_attempt=task["workflow_task_attempt"],
                    commands=[{"type": "complete_workflow", "result": serializer.envelope("done", "avro")}],
                )
        # The repeat reached the server and was refused as stale; the first one had completed the run.
        assert 400 <= info.value.status < 500
        assert (await direct.describe_workflow("f-fence")).status == "completed"
    _carried_by(proxy, carrier)
    assert len(proxy.requests) == 2


@CARRIERS
@pytest.mark.parametrize("status", ["503", "429"])
async def test_busy_answers_to_worker_calls_are_retried_after_retry_after(
    proxy: FaultProxy, carrier: str, status: str
) -> None:
    proxy.plans[:] = [f"status:{status}:0.2"]
    async with _client(proxy.port, carrier=carrier) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        ack = await client.register_worker(worker_id=f"w-{status}", task_queue="q")
        assert loop.time() - started >= 0.18
        assert ack["worker_id"] == f"w-{status}"
    _carried_by(proxy, carrier)
    assert len(proxy.requests) == 2


@CARRIERS
async def test_worker_call_outage_surfaces_the_last_status(proxy: FaultProxy, carrier: str) -> None:
    proxy.plans[:] = ["status:503", "status:503", "status:503"]
    async with _client(proxy.port, carrier=carrier) as client:
        with pytest.raises(ServerError) as info:
            await client.heartbeat_worker(worker_id="w-out")
    assert info.value.status == 503 and info.value.reason() == "proxy_fault"
    _carried_by(proxy, carrier)
    assert len(proxy.requests) == 3


@CARRIERS
async def test_stalled_worker_call_times_out_and_is_retried(proxy: FaultProxy, carrier: str) -> None:
    proxy.plans[:] = ["stall:30"]
    async with _client(proxy.port, carrier=carrier, timeout=1.5) as client:
        ack = await client.register_worker(worker_id="w-stall", task_queue="q")
    assert ack["worker_id"] == "w-stall"
    _carried_by(proxy, carrier)
    assert len(proxy.requests) == 2


@CARRIERS
async def test_refused_connection_on_a_worker_call_is_retried_then_reported(carrier: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound but never listening: every connection is refused
    try:
        async with _client(sock.getsockname()[1], carrier=carrier) as client:
            with pytest.raises(httpx.ConnectError):
                await client.heartbeat_worker(worker_id="w-refused")
    finally:
        sock.close()
