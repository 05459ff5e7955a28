"""A real Azure Blob endpoint for the tests: Azurite (npm) in a subprocess on a free 127.0.0.1 port.

Azurite is installed once into ``<repo>/.cache/azurite`` with npm when it is not there yet.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from dw_testing.emulator import serve_emulator

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
AZURITE_DIR = REPO_ROOT / ".cache" / "azurite"
AZURITE_BIN = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
AZURITE_PACKAGE = "azurite@3"
INSTALL_TIMEOUT_S = 240.0  # inside pytest-timeout's 300 s per test

# Azurite's documented development account (public, well-known; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _ensure_azurite() -> pathlib.Path:
    if AZURITE_BIN.exists():
        return AZURITE_BIN
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the Azure Blob tests need node and npm to install Azurite (npm is not on PATH)")
    AZURITE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(AZURITE_DIR), "--no-audit", "--no-fund", AZURITE_PACKAGE],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0 or not AZURITE_BIN.exists():
        pytest.fail(f"npm install {AZURITE_PACKAGE} failed ({done.returncode}): {done.stderr[-2000:]}")
    return AZURITE_BIN


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _ensure_azurite()

    def command(port: int) -> list[str]:
        return [
            str(binary),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(port),
            "--location", str(tmp_path_factory.mktemp("azurite")),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ]  # fmt: skip

    def probe(port: int) -> str:
        return f"http://127.0.0.1:{port}/{DEV_ACCOUNT}?comp=list"

    with serve_emulator("Azurite", command, probe) as port:
        yield f"http://127.0.0.1:{port}/{DEV_ACCOUNT}"


@pytest.fixture(scope="session")
def blob_service(azurite_endpoint: str) -> Any:
    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint={azurite_endpoint};"
    )
    return BlobServiceClient.from_connection_string(connection_string, retry_total=2)


@pytest.fixture
def container(blob_service: Any) -> str:
    name = f"dw-test-{uuid.uuid4().hex[:12]}"
    blob_service.create_container(name)
    return name


@pytest.fixture
def container_client(blob_service: Any, container: str) -> Any:
    return blob_service.get_container_client(container)
