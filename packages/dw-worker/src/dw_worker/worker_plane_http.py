"""The worker's hot-path HTTP: worker-plane calls over a few keep-alive HTTP/1.1 connections.

Why not ``httpx``: a worker makes about five worker-plane calls per activity (polls, history tail,
completions) and ``httpx`` + ``httpcore`` + ``anyio`` cost ~0.8 ms of CPU per call here, against
~0.15 ms for a plain ``asyncio`` stream. For a long workflow that overhead is most of the worker's
CPU time. The calls are simple (JSON ``POST``, ``Content-Length`` answers, no redirects, no
cookies), so this module speaks just that much HTTP/1.1, with the client's settings (base URL,
token, namespace, protocol-version header, retry policy, metrics, payload options) and the same
typed errors (``dw_core.errors.error_from_response``). Every worker-plane call is fenced by a
lease, attempt or poll request id, so repeating one after a connection failure is safe.

Everything else (control plane, registration, query answers) still goes through the client.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import ssl
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, urlsplit

from dw_core import protocol
from dw_core.errors import ErrorContext, error_from_response
from dw_core.metrics import CLIENT_REQUEST_DURATION_SECONDS, CLIENT_REQUESTS, NOOP_METRICS, MetricsRecorder
from dw_core.payload_size import PayloadSizeWarningContext
from dw_core.retry_policy import TransportRetryPolicy

from dw_worker.payloads import PayloadOptions

_MAX_IDLE_CONNECTIONS: Final = 16
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class WorkerPlaneUnavailable(ConnectionError):
    """The server could not be reached (or hung up) after the retry policy's attempts."""


class PollTimedOut(TimeoutError):
    """A long poll got no answer within its HTTP timeout."""


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send one request; return (status, body, keep_alive)."""
        self.writer.write(request)
        reader = self.reader
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection")
        parts = status_line.split(None, 2)
        status = int(parts[1])
        length = -1
        chunked = False
        keep_alive = not status_line.startswith(b"HTTP/1.0")
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionResetError("server closed the connection mid-headers")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection":
                keep_alive = value.strip().lower() != b"close"
        if chunked:
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            return status, bytes(body), keep_alive
        if length >= 0:
            return status, await reader.readexactly(length), keep_alive
        return status, await reader.read(), False


class FastWorkerPlane:
    """The worker-plane calls a Worker makes per task, with the call signatures of ``dw_client.Client``.

    Calls it does not implement are forwarded to the client.
    """

    def __init__(self, client: Any, payloads: PayloadOptions) -> None:
        parts = urlsplit(str(client.base_url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot speak worker-plane HTTP to {client.base_url!r}")
        self._client = client
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/") + protocol.WORKER_API_PREFIX
        token = (
            getattr(client, "worker_token", None)
            or getattr(client, "token", None)
            or getattr(client, "control_token", None)
        )
        version = (
            os.environ.get(protocol.WORKER_PROTOCOL_VERSION_ENV, "").strip()
            or protocol.WORKER_PROTOCOL_VERSION
        )
        host_header = parts.netloc.rsplit("@", 1)[-1]
        headers = [
            f"Host: {host_header}",
            "Content-Type: application/json",
            "Accept: application/json",
            f"{protocol.NAMESPACE_HEADER}: {client.namespace}",
            f"{protocol.WORKER_PROTOCOL_VERSION_HEADER}: {version}",
        ]
        if token:
            headers.append(f"{protocol.AUTHORIZATION_HEADER}: Bearer {token}")
        self._headers = ("\r\n".join(headers) + "\r\n").encode("latin-1")
        self._timeout = float(getattr(client, "timeout", 60.0) or 60.0)
        policy = getattr(client, "retry_policy", None)
        self._retry: TransportRetryPolicy = (
            policy if isinstance(policy, TransportRetryPolicy) else TransportRetryPolicy()
        )
        self._metrics: MetricsRecorder = getattr(client, "metrics", None) or NOOP_METRICS
        self._namespace = str(client.namespace)
        self._size_warning = getattr(client, "payload_size_warning_config", None)
        self._payloads = payloads
        self._idle: list[_Connection] = []
        self._ssl = ssl.create_default_context() if self._tls else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def aclose(self) -> None:
        """Close the idle connections (the client stays open; it belongs to the caller)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # -- transport ----------------------------------------------------------------------------------

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._ssl)
        return _Connection(reader, writer)

    async def _post(
        self,
        route: str,
        path: str,
        body: Mapping[str, Any],
        *,
        context: ErrorContext | None,
        timeout: float | None = None,
        poll: bool = False,
    ) -> Any:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        request = (
            f"POST {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1")
            + self._headers
            + f"Content-Length: {len(data)}\r\n\r\n".encode("latin-1")
            + data
        )
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else None
            loop = asyncio.get_running_loop()
            expired = False

            def expire(connection_to_drop: _Connection | None = None) -> None:
                nonlocal expired
                expired = True
                if connection_to_drop is not None:
                    connection_to_drop.writer.transport.abort()

            try:
                if connection is None:
                    connection = await asyncio.wait_for(self._connect(), self._timeout)
                # A timer that aborts the socket is much cheaper than wrapping every call in wait_for.
                timer = loop.call_later(self._timeout if timeout is None else timeout, expire, connection)
                try:
                    status, raw, keep_alive = await connection.exchange(request)
                except asyncio.CancelledError:
                    connection.close()  # half-used: never hand it to another request
                    raise
                finally:
                    timer.cancel()
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.TimeoutError,
                ValueError,
                IndexError,
            ) as exc:
                if connection is not None:
                    connection.close()
                if expired or isinstance(exc, asyncio.TimeoutError):
                    self._record(route, None, "TimeoutError", started)
                    if poll:
                        raise PollTimedOut(f"no answer to POST {route} within the poll timeout") from None
                    raise TimeoutError(f"no answer to POST {route} within the timeout") from None
                if reused:  # a keep-alive connection the server had closed: try a fresh one at once
                    attempt -= 1
                    continue
                if attempt < self._retry.max_attempts:
                    await asyncio.sleep(self._retry.retry_delay_seconds(attempt - 1))
                    continue
                self._record(route, None, type(exc).__name__, started)
                raise WorkerPlaneUnavailable(
                    f"POST {route} failed after {attempt} attempt(s): {type(exc).__name__}: {exc}"
                ) from exc
            if keep_alive and len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
            else:
                connection.close()
            if status in _RETRY_STATUSES and attempt < self._retry.max_attempts:
                await asyncio.sleep(self._retry.retry_delay_seconds(attempt - 1))
                continue
            break
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
        if status >= 400:
            self._record(route, status, "http_error", started)
            raise error_from_response(status, parsed, context=context)
        self._record(route, status, "ok", started)
        return parsed

    def _record(self, route: str, status: int | None, outcome: str, started: float) -> None:
        tags = {
            "method": "POST",
            "route": "/worker" + route,
            "plane": "worker",
            "status_code": "none" if status is None else str(status),
            "outcome": outcome,
        }
        try:
            self._metrics.increment(CLIENT_REQUESTS, 1.0, tags)
            self._metrics.record(CLIENT_REQUEST_DURATION_SECONDS, time.perf_counter() - started, tags)
        except Exception:
            pass

    # -- polls --------------------------------------------------------------------------------------

    async def _poll(
        self, kind: str, prefix: str, *, worker_id: str, task_queue: str, timeout: float, **extra: Any
    ) -> dict[str, Any] | None:
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "poll_request_id": prefix + secrets.token_hex(16),
        }
        body.update({key: value for key, value in extra.items() if value is not None})
        route = f"/{kind}/poll"
        # Same contract as the client: after an HTTP timeout, one more try with the same request id.
        for attempt in range(2):
            try:
                data = await self._post(
                    route,
                    route,
                    body,
                    context=ErrorContext("task_queue", task_queue),
                    timeout=timeout,
                    poll=True,
                )
            except PollTimedOut:
                if attempt == 0:
                    continue
                return None
            task = data.get("task") if isinstance(data, Mapping) else None
            return dict(task) if isinstance(task, Mapping) else None
        return None

    async def poll_workflow_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float,
        build_id: str | None = None,
        history_page_size: int | None = None,
    ) -> dict[str, Any] | None:
        return await self._poll(
            "workflow-tasks",
            protocol.WORKFLOW_POLL_REQUEST_PREFIX,
            worker_id=worker_id,
            task_queue=task_queue,
            timeout=timeout,
            build_id=build_id or None,
            history_page_size=history_page_size,
        )

    async def poll_activity_task(
        self, *, worker_id: str, task_queue: str, timeout: float, build_id: str | None = None
    ) -> dict[str, Any] | None:
        return await self._poll(
            "activity-tasks",
            protocol.ACTIVITY_POLL_REQUEST_PREFIX,
            worker_id=worker_id,
            task_queue=task_queue,
            timeout=timeout,
            build_id=build_id or None,
        )

    # -- workflow tasks -----------------------------------------------------------------------------

    async def workflow_task_history(
        self, *, task_id: str, next_history_page_token: str, lease_owner: str, workflow_task_attempt: int
    ) -> Any:
        return await self._post(
            "/workflow-tasks/{task_id}/history",
            f"/workflow-tasks/{quote(task_id, safe='')}/history",
            {
                "lease_owner": lease_owner,
                "workflow_task_attempt": workflow_task_attempt,
                "next_history_page_token": next_history_page_token,
                "history_page_size": protocol.MAX_HISTORY_PAGE_SIZE,  # fewer round trips on a full replay
            },
            context=ErrorContext("task", task_id),
        )

    async def complete_workflow_task(
        self, *, task_id: str, lease_owner: str, workflow_task_attempt: int, commands: list[dict[str, Any]]
    ) -> Any:
        return await self._post(
            "/workflow-tasks/{task_id}/complete",
            f"/workflow-tasks/{quote(task_id, safe='')}/complete",
            {
                "lease_owner": lease_owner,
                "workflow_task_attempt": workflow_task_attempt,
                "commands": commands,
            },
            context=ErrorContext("task", task_id),
        )

    async def fail_workflow_task(
        self,
        *,
        task_id: str,
        lease_owner: str,
        workflow_task_attempt: int,
        message: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
    ) -> Any:
        failure: dict[str, Any] = {"message": message}
        if failure_type:
            failure["type"] = failure_type
        if stack_trace:
            failure["stack_trace"] = stack_trace
        return await self._post(
            "/workflow-tasks/{task_id}/fail",
            f"/workflow-tasks/{quote(task_id, safe='')}/fail",
            {"lease_owner": lease_owner, "workflow_task_attempt": workflow_task_attempt, "failure": failure},
            context=ErrorContext("task", task_id),
        )

    # -- activity tasks -----------------------------------------------------------------------------

    def _envelope(self, value: Any, *, codec: str, kind: str, activity_name: str | None) -> dict[str, Any]:
        from dw_core import serializer

        context = PayloadSizeWarningContext(kind=kind, activity_name=activity_name, namespace=self._namespace)
        storage = self._payloads.external_storage
        threshold = self._payloads.external_storage_threshold_bytes
        if storage is not None and threshold is not None:
            return serializer.external_storage_envelope(
                value,
                external_storage=storage,
                threshold_bytes=threshold,
                codec=codec,
                size_warning=self._size_warning,
                warning_context=context,
            )
        return serializer.envelope(value, codec, size_warning=self._size_warning, warning_context=context)

    async def complete_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        result: Any,
        codec: str = "avro",
        activity_name: str | None = None,
        external_storage: Any = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> Any:
        envelope = self._envelope(result, codec=codec, kind="activity_result", activity_name=activity_name)
        return await self._post(
            "/activity-tasks/{task_id}/complete",
            f"/activity-tasks/{quote(task_id, safe='')}/complete",
            {"activity_attempt_id": activity_attempt_id, "lease_owner": lease_owner, "result": envelope},
            context=ErrorContext("task", task_id),
        )

    async def fail_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        message: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
        non_retryable: bool = False,
        details: Any = None,
        codec: str = "avro",
        activity_name: str | None = None,
    ) -> Any:
        failure: dict[str, Any] = {"message": message}
        if failure_type:
            failure["type"] = failure_type
        if stack_trace:
            failure["stack_trace"] = stack_trace
        if non_retryable:
            failure["non_retryable"] = True
        if details is not None:
            failure["details"] = self._envelope(
                details, codec=codec, kind="activity_failure_details", activity_name=activity_name
            )
        return await self._post(
            "/activity-tasks/{task_id}/fail",
            f"/activity-tasks/{quote(task_id, safe='')}/fail",
            {"activity_attempt_id": activity_attempt_id, "lease_owner": lease_owner, "failure": failure},
            context=ErrorContext("task", task_id),
        )

    async def heartbeat_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        details: dict[str, Any] | None = None,
    ) -> Any:
        body: dict[str, Any] = {"activity_attempt_id": activity_attempt_id, "lease_owner": lease_owner}
        if details is not None:
            body["details"] = details
        return await self._post(
            "/activity-tasks/{task_id}/heartbeat",
            f"/activity-tasks/{quote(task_id, safe='')}/heartbeat",
            body,
            context=ErrorContext("task", task_id),
        )
