"""Shared test helpers for dw-client.

``RecordingServer`` is a tiny ASGI app reached through ``httpx.ASGITransport``: the client performs
a real HTTP-shaped exchange (URL, headers, JSON body) and the app records what arrived and answers
with a scripted reply. It stands in for the server only where a test needs to see the exact request
or to script an answer the dev server cannot produce (fixtures, odd bodies).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from dw_client import Client


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def api_path(self) -> str:
        """The raw (still percent-encoded) path after ``/api``."""
        assert self.raw_path.startswith("/api"), self.raw_path
        return self.raw_path[len("/api") :]

    @property
    def decoded_api_path(self) -> str:
        return unquote(self.api_path)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Responder = Callable[[Recorded], Reply | Awaitable[Reply]]


class RecordingServer:
    """ASGI app recording requests and answering from a queue of replies (or a responder)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self.responder: Responder | None = None

    def reply(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None
    ) -> RecordingServer:
        self.replies.append(Reply(status, {} if body is None else body, headers or {}))
        return self

    def reply_raw(self, status: int, raw: bytes, headers: dict[str, str] | None = None) -> RecordingServer:
        self.replies.append(Reply(status, None, headers or {}, raw))
        return self

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_body = b"".join(chunks)
        recorded = Recorded(
            method=scope["method"],
            raw_path=scope["raw_path"].decode("ascii"),
            query=dict(parse_qsl(scope["query_string"].decode("ascii"), keep_blank_values=True)),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=json.loads(raw_body) if raw_body else None,
        )
        self.requests.append(recorded)
        if self.responder is not None:
            result = self.responder(recorded)
            reply = await result if isinstance(result, Awaitable) else result
        elif self.replies:
            reply = self.replies.pop(0)
        else:
            reply = Reply(200, {})
        if reply.raw is not None:
            payload = reply.raw
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        headers = [(b"content-type", b"application/json")] + [
            (k.encode(), v.encode()) for k, v in reply.headers.items()
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def server() -> RecordingServer:
    return RecordingServer()


@pytest.fixture
def make_client(server: RecordingServer) -> Iterator[Callable[..., Client]]:
    """Factory of clients wired to the recording server (closed by the test's event loop)."""

    def build(**kwargs: Any) -> Client:
        kwargs.setdefault("base_url", "http://testserver")
        base_url = kwargs.pop("base_url")
        return Client(base_url, http_transport=httpx.ASGITransport(app=server), **kwargs)

    yield build
