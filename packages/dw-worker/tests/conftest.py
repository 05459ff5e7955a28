"""Shared fixtures: a real dev server in process and a real client for every end-to-end test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture
async def server() -> AsyncIterator[Any]:
    from dw_devserver import DevServer

    async with DevServer.start(long_poll_timeout=2) as running:
        yield running


@pytest.fixture
async def client(server: Any) -> AsyncIterator[Any]:
    from dw_client import Client

    async with Client(server.url) as connected:
        yield connected


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def new_id(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
