"""Shared fixtures for the dev-server tests: a running server and raw HTTP callers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer
from dw_devserver.runtime import Runtime

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
WORKER = {"X-Durable-Workflow-Protocol-Version": "1.1"}


class Http:
    """Raw JSON calls with the headers a control-plane client or a worker sends."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        content = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        hdrs = {**self.headers, "Content-Type": "application/json", **(headers or {})}
        return await self.client.request(method, "/api" + path, content=content, headers=hdrs, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("POST", path, {} if body is None else body, **kw)


def snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: proves a rejected request changed nothing."""
    tables = [r["name"] for r in rt.store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: sorted(tuple(r) for r in rt.store.all(f"SELECT * FROM {t}")) for t in tables}


@pytest.fixture
def snap() -> Any:
    """The :func:`snapshot` function (test modules cannot import conftest under importlib mode)."""
    return snapshot


@pytest.fixture
async def dev() -> AsyncIterator[DevServer]:
    """A dev server on a virtual clock with short long-polls."""
    async with DevServer.start(virtual_clock=True, long_poll_timeout=0.5) as server:
        yield server


@pytest.fixture
async def http(dev: DevServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=dev.url, timeout=30) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Http:
    """Control-plane caller."""
    return Http(http, dict(CONTROL))


@pytest.fixture
def wp(http: httpx.AsyncClient) -> Http:
    """Worker-plane caller."""
    return Http(http, dict(WORKER))
