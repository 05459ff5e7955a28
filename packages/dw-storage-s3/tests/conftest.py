"""A real S3 endpoint for the tests: moto's server in a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from dw_testing.emulator import serve_emulator


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    with serve_emulator("moto server", command, lambda port: f"http://127.0.0.1:{port}/moto-api/") as port:
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
