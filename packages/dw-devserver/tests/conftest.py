"""Shared fixtures for the dev-server tests: a running server, raw HTTP callers and recorded fixtures.

Test modules run under pytest's importlib import mode, so they cannot import this file: everything they
share is handed out as a fixture (``api_factory``, ``recorded_fixture``, ``dev_tokens``, ``snap``, ...).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer
from dw_devserver.runtime import Runtime

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
WORKER = {"X-Durable-Workflow-Protocol-Version": "1.1"}
# Role tokens the resource tests configure their servers with (ServerConfig(role_tokens=...)).
TOKENS = {"admin-token": "admin", "operator-token": "operator", "worker-token": "worker"}


class Api:
    """Raw JSON calls with the headers a control-plane client or a worker sends.

    Bytes or str bodies go out as they are (so tests can send malformed ones); any other body is sent
    as JSON. ``headers`` adds to (or overrides) this caller's headers for one request.
    """

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], prefix: str = "/api") -> None:
        self.client = client
        self.headers = headers
        self.prefix = prefix

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        content = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        hdrs = {**self.headers, **(headers or {})}
        return await self.client.request(method, self.prefix + path, content=content, headers=hdrs, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("POST", path, {} if body is None else body, **kw)


def sdk_headers(
    token: str | None, namespace: str | None, *, worker: bool = False, version: str | None = "2"
) -> dict[str, str]:
    """The headers the SDK sends: plane version, namespace, bearer token, JSON content type.

    ``version=None`` leaves the control-plane version header out (to test its absence); ``token`` or
    ``namespace`` of None leaves that header out.
    """
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if worker:
        headers.update(WORKER)
    elif version is not None:
        headers["X-Durable-Workflow-Control-Plane-Version"] = version
    if namespace is not None:
        headers["X-Namespace"] = namespace
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class ApiFactory:
    """Builds :class:`Api` callers for a server URL, each on its own client; closes them all at teardown."""

    def __init__(self, default_token: str | None) -> None:
        self.default_token = default_token
        self._clients: list[httpx.AsyncClient] = []

    def __call__(
        self,
        base: str,
        token: str | None = "",
        namespace: str = "default",
        *,
        worker: bool = False,
        version: str | None = "2",
    ) -> Api:
        """A caller for ``base`` (a server URL); ``token=""`` means this module's default token."""
        chosen = self.default_token if token == "" else token
        client = httpx.AsyncClient(base_url=base, timeout=30)
        self._clients.append(client)
        return Api(client, sdk_headers(chosen, namespace, worker=worker, version=version))

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients.clear()


class RecordedFixtures:
    """Loads the recorded ``control-plane/<name>-parity.json`` fixtures (request, response_body, ...)."""

    def __init__(self, fixtures_dir: Path) -> None:
        self.folder = fixtures_dir / "control-plane"

    def __call__(self, name: str) -> dict[str, Any]:
        path = self.folder / f"{name}-parity.json"
        if not path.is_file():
            raise FileNotFoundError(f"no recorded fixture {name!r}: expected {path}")
        data: dict[str, Any] = json.loads(path.read_text())
        return data


# (caller, method, path, body, expected status, expected reason)
RejectionCase = tuple[Api, str, str, Any, int, str]


async def expect_rejections(cases: Iterable[RejectionCase]) -> list[httpx.Response]:
    """Sends every case in order; each must answer its status with its ``reason``. Returns the responses."""
    responses = []
    for caller, method, path, body, status, reason in cases:
        response = await caller.call(method, path, body)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (
            method,
            path,
            response.text,
        )
        responses.append(response)
    return responses


def snapshot(target: DevServer | Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a server (or its runtime): proves a rejected request changed nothing."""
    store = target.runtime.store if isinstance(target, DevServer) else target.store
    tables = [r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: sorted(tuple(r) for r in store.all(f"SELECT * FROM {t}")) for t in tables}


@pytest.fixture
def snap() -> Callable[[DevServer | Runtime], dict[str, list[tuple[Any, ...]]]]:
    """The :func:`snapshot` function."""
    return snapshot


@pytest.fixture
def rejections() -> Callable[[Iterable[RejectionCase]], Awaitable[list[httpx.Response]]]:
    """The :func:`expect_rejections` function: ``await rejections(cases)``."""
    return expect_rejections


@pytest.fixture
def recorded_fixture(shared_fixtures: Path) -> RecordedFixtures:
    """The loader of recorded control-plane fixtures: ``recorded_fixture("namespace-create")``.

    ``shared_fixtures`` comes from the repository's root conftest (it finds ``shared/``).
    """
    return RecordedFixtures(shared_fixtures)


@pytest.fixture
def dev_tokens() -> dict[str, str]:
    """Token -> role map for ``ServerConfig(role_tokens=...)``; a fresh copy per test."""
    return dict(TOKENS)


@pytest.fixture
def api_default_token() -> str | None:
    """The token ``api_factory`` callers carry unless told otherwise; a module overrides it to change that."""
    return "operator-token"


@pytest.fixture
async def api_factory(api_default_token: str | None) -> AsyncIterator[ApiFactory]:
    """``api_factory(server.url, token=..., namespace=..., worker=..., version=...)`` -> :class:`Api`."""
    factory = ApiFactory(api_default_token)
    yield factory
    await factory.aclose()


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
def api(http: httpx.AsyncClient) -> Api:
    """Control-plane caller (no namespace or token headers) on the ``dev`` server."""
    return Api(http, {**CONTROL, "Content-Type": "application/json"})


@pytest.fixture
def wp(http: httpx.AsyncClient) -> Api:
    """Worker-plane caller (no namespace or token headers) on the ``dev`` server."""
    return Api(http, {**WORKER, "Content-Type": "application/json"})
