"""A real GCS JSON API for the tests: gcp-storage-emulator in a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dw_testing.emulator import serve_emulator
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
                "--port", str(port), "--in-memory"]  # fmt: skip

    def probe(port: int) -> str:
        return f"http://127.0.0.1:{port}/storage/v1/b?project=test"

    with serve_emulator("gcp-storage-emulator", command, probe) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def gcs_client(gcs_endpoint: str) -> Any:
    return storage.Client(
        project="test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_endpoint},
    )


@pytest.fixture
def bucket(gcs_client: Any) -> str:
    name = f"dw-test-{uuid.uuid4().hex[:12]}"
    gcs_client.create_bucket(name)
    return name
