"""A real S3 endpoint for the tests: moto's server in a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

START_TIMEOUT_S = 90.0
START_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(name: str, command_for: Callable[[int], list[str]], probe: Callable[[int], str]) -> Iterator[int]:
    """Run ``command_for(port)`` on a free port until ``probe(port)`` answers; stop it on exit.

    A port taken between choosing and binding makes the emulator exit; then another port is tried.
    """
    failures: list[str] = []
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(command_for(port), stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + START_TIMEOUT_S
                while proc.poll() is None:
                    try:
                        if httpx.get(probe(port), timeout=2.0).status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail(f"{name} did not answer on port {port} within {START_TIMEOUT_S} s")
                    time.sleep(0.1)
                else:
                    log.seek(0)
                    failures.append(f"exit {proc.returncode}: {log.read().decode(errors='replace')[-2000:]}")
                    continue
                yield port
                return
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    pytest.fail(f"{name} did not start: {failures}")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    with _serve("moto server", command, lambda port: f"http://127.0.0.1:{port}/moto-api/") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"dw-test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name
