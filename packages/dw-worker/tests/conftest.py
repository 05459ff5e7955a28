"""Shared fixtures: a real dev server and a real client for every end-to-end test.

The server runs on its own thread (``SyncDevServer``) and is shared by the tests of a module: each
test uses its own task queue and workflow ids, so they cannot see each other's work.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from dw_devserver import SyncDevServer

    with SyncDevServer.start(long_poll_timeout=2) as running:
        yield running


@pytest.fixture
async def client(server: Any) -> AsyncIterator[Any]:
    from dw_client import Client

    async with Client(server.url) as connected:
        yield connected


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"
