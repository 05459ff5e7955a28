"""Keep-alive HTTP/1.1 over plain ``asyncio`` streams, for the worker plane's hot path.

Why not ``httpx`` here: a worker makes about five worker-plane calls per activity (polls, history
tail, completions), and ``httpx`` + ``httpcore`` + ``anyio`` cost ~0.8 ms of CPU per call against
~0.15 ms for an ``asyncio`` stream; on a long workflow that overhead is most of the worker's CPU.
Worker-plane calls are simple (JSON ``POST``, answers with ``Content-Length`` or chunked bodies, no
redirects, cookies or proxies), so this module speaks just that much HTTP/1.1.

It only moves bytes. :class:`dw_client.transport.Transport` keeps the request policy (headers,
retries, metrics, typed errors) for both this path and ``httpx``; to make that possible, failures
are raised as the ``httpx`` exception a ``httpx`` client would raise for the same fault
(``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``RemoteProtocolError``, ``ReadError``),
so callers and retry classifiers see one error surface whichever path carried a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from typing import Final, NamedTuple
from urllib.parse import urlsplit

import httpx

__all__ = ["KeepAliveHttp", "RawResponse", "supports_keepalive_http"]

#: Idle connections kept open for reuse; a worker has two long polls plus a few completions in flight.
MAX_IDLE_CONNECTIONS: Final = 16


class RawResponse(NamedTuple):
    """A server answer as read off the wire: header names lower-cased, names and values undecoded."""

    status_code: int
    headers: dict[bytes, bytes]
    content: bytes


def supports_keepalive_http(base_url: str) -> bool:
    """Whether :class:`KeepAliveHttp` reaches ``base_url`` the way ``httpx`` would.

    Not when the URL carries credentials or when the environment routes it through a proxy
    (``httpx`` honours ``HTTP(S)_PROXY``/``ALL_PROXY``; this path does not speak to proxies).
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    proxies = {key.lower(): value for key, value in urllib.request.getproxies_environment().items()}
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return True
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
    return bool(bypass(parts.hostname, proxies))


class _Connection:
    __slots__ = ("loop", "reader", "writer")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.loop = loop
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()

    def close_from_elsewhere(self) -> None:
        """Close it from any thread or loop (transports are not thread-safe: the owning loop closes it)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.writer.close()
        elif not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.writer.close)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def exchange(self, request: bytes) -> tuple[RawResponse, bool]:
        """Send one request; return the response and whether the connection may be reused."""
        self.writer.write(request)
        reader = self.reader
        try:
            status_line = await reader.readline()
        except ConnectionError as exc:  # reset before any byte of an answer: it never got an answer
            raise _PeerClosed(f"the server closed the connection without answering ({exc})") from exc
        if not status_line:
            raise _PeerClosed("the server closed the connection without answering")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise _Malformed(f"malformed status line {status_line[:80]!r}")
        status = int(parts[1])
        keep_alive = not parts[0].startswith(b"HTTP/1.0")
        headers: dict[bytes, bytes] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _PeerClosed("the server closed the connection in the middle of the headers")
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get(b"connection")
        if connection is not None:
            keep_alive = connection.lower() != b"close"
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            return RawResponse(status, headers, bytes(body)), keep_alive
        length = headers.get(b"content-length")
        if length is not None:
            return RawResponse(status, headers, await reader.readexactly(int(length))), keep_alive
        if status in (204, 304) or 100 <= status < 200:
            return RawResponse(status, headers, b""), keep_alive
        return RawResponse(status, headers, await reader.read()), False


class _PeerClosed(ConnectionError):
    pass


class _Malformed(ValueError):
    pass


class KeepAliveHttp:
    """A small pool of keep-alive HTTP/1.1 connections to one server, for JSON requests.

    ``headers`` are sent on every request (``Host`` and ``Content-Length`` are added here). A
    connection is only reused on the event loop that opened it, since asyncio streams cannot move
    between loops. TLS trusts what ``httpx`` trusts (``httpx.create_ssl_context``).
    """

    def __init__(self, base_url: str, *, headers: dict[str, str], connect_timeout: float) -> None:
        parts = urlsplit(base_url)
        if not supports_keepalive_http(base_url) or parts.hostname is None:
            raise ValueError(f"keep-alive HTTP cannot reach {base_url!r}; use the httpx transport")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._ssl: ssl.SSLContext | None = httpx.create_ssl_context() if self._tls else None
        self._origin = f"{parts.scheme}://{parts.netloc}"
        lines = [f"Host: {parts.netloc}", *(f"{name}: {value}" for name, value in headers.items())]
        self._header_block = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._closed = False

    def close(self) -> None:
        """Close the idle connections; connections in use close when their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close_from_elsewhere()

    async def request(self, method: str, target: str, body: bytes | None, *, timeout: float) -> RawResponse:
        """Send one request to ``target`` (a path with query) and read the answer.

        Raises the ``httpx`` exception for the fault. A kept-alive connection the server has closed
        in the meantime is replaced once, at once, as ``httpcore`` does: such a request never
        reached the server.
        """
        if self._closed:
            raise RuntimeError("this transport is closed")
        loop = asyncio.get_running_loop()
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + self._header_block
        length = b"" if body is None else b"Content-Length: %d\r\n" % len(body)
        request = head + length + b"\r\n" + (body or b"")
        while True:
            connection = self._idle.pop() if self._idle else None
            if connection is not None and connection.loop is not loop:
                connection.close_from_elsewhere()
                continue
            if connection is not None and connection.reader.at_eof():
                connection.close()  # the server has closed it while it sat idle
                continue
            reused = connection is not None
            if connection is None:
                connection = await self._connect(loop, method, target)
            try:
                response, keep_alive = await self._exchange(connection, request, timeout, method, target)
            except _StaleConnection:
                if reused:
                    continue
                raise httpx.RemoteProtocolError(
                    "the server closed the connection without answering",
                    request=self._request(method, target),
                ) from None
            if keep_alive and not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
            else:
                connection.close()
            return response

    async def _connect(self, loop: asyncio.AbstractEventLoop, method: str, target: str) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, ssl=self._ssl), self._connect_timeout
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(
                f"connecting to {self._origin} took longer than {self._connect_timeout} s",
                request=self._request(method, target),
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(
                f"cannot connect to {self._origin}: {exc}", request=self._request(method, target)
            ) from exc
        return _Connection(loop, reader, writer)

    async def _exchange(
        self, connection: _Connection, request: bytes, timeout: float, method: str, target: str
    ) -> tuple[RawResponse, bool]:
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            connection.abort()

        # One timer that aborts the socket costs far less than wrapping each call in wait_for.
        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            return await connection.exchange(request)
        except asyncio.CancelledError:
            connection.abort()  # half used: never hand it to another request
            raise
        except _PeerClosed as exc:
            connection.close()
            if expired:
                raise self._timeout(method, target, timeout) from None
            raise _StaleConnection(str(exc)) from None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            connection.abort()
            if expired:
                raise self._timeout(method, target, timeout) from None
            http_request = self._request(method, target)
            if isinstance(exc, (ValueError, IndexError)):
                raise httpx.RemoteProtocolError(
                    f"malformed answer from {self._origin}: {exc}", request=http_request
                ) from exc
            if isinstance(exc, asyncio.IncompleteReadError):
                raise httpx.RemoteProtocolError(
                    "the server closed the connection in the middle of the answer", request=http_request
                ) from exc
            message = f"exchange with {self._origin} failed: {exc}"
            raise httpx.ReadError(message, request=http_request) from exc
        finally:
            timer.cancel()

    def _timeout(self, method: str, target: str, timeout: float) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(
            f"no answer from {self._origin} within {timeout} s", request=self._request(method, target)
        )

    def _request(self, method: str, target: str) -> httpx.Request:
        # Built only on failures: the exception carries the request as an httpx one would.
        return httpx.Request(method, self._origin + target)


class _StaleConnection(Exception):
    """The peer closed the connection before answering (reused keep-alive connections do that)."""
