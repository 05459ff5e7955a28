"""A user's path end to end: namespace policy on the dev server -> S3 driver -> client offload -> read back.

Real parts only: the embedded dev server, the SDK client, moto's S3 API and boto3.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dw_client import Client
from dw_core.external_storage import ExternalPayloadIntegrityError, external_storage_driver_from_policy
from dw_devserver import DevServer
from dw_storage_s3 import S3ExternalStorage

ORDER = {"order_id": "o-1", "lines": [{"sku": f"sku-{i}", "note": "x" * 40} for i in range(60)]}


async def test_large_workflow_input_goes_to_s3_and_comes_back_verified(s3_client: Any, bucket: str) -> None:
    async with DevServer.start() as server:
        async with Client(server.url) as admin:
            described = await admin.set_namespace_external_storage(
                "default",
                driver="s3",
                threshold_bytes=1024,
                config={"bucket": bucket, "prefix": "tenants/default/"},
            )
        policy = described.external_payload_storage
        assert policy is not None
        driver = external_storage_driver_from_policy(policy, s3_client=s3_client)
        assert isinstance(driver, S3ExternalStorage)
        assert (driver.bucket, driver.prefix) == (bucket, "tenants/default")

        async with Client(
            server.url, external_storage=driver, external_storage_threshold_bytes=policy.threshold_bytes
        ) as client:
            await client.start_workflow(
                workflow_type="orders.process", task_queue="orders", workflow_id="wf-big", input=[ORDER]
            )
            await client.start_workflow(
                workflow_type="orders.process", task_queue="orders", workflow_id="wf-small", input=["tiny"]
            )

            # On the wire the server holds only a reference to the S3 object.
            async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as raw_http:
                raw = await raw_http.get(
                    "/api/workflows/wf-big", headers={"X-Durable-Workflow-Control-Plane-Version": "2"}
                )
            raw.raise_for_status()
            reference = raw.json()["input_envelope"]["external_storage"]
            assert reference["uri"].startswith(f"s3://{bucket}/tenants/default/avro/")
            key = reference["uri"].removeprefix(f"s3://{bucket}/")
            [stored] = s3_client.list_objects_v2(Bucket=bucket)["Contents"]  # the small input stayed inline
            assert stored["Key"] == key and stored["Size"] == reference["size_bytes"]

            assert (await client.describe_workflow("wf-big")).input == [ORDER]
            assert (await client.describe_workflow("wf-small")).input == ["tiny"]

            # A changed object is caught on read, not handed to the application.
            assert client.external_storage_cache is not None  # the client always keeps one
            client.external_storage_cache.clear()
            body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            s3_client.put_object(Bucket=bucket, Key=key, Body=bytes([body[0] ^ 1]) + body[1:])
            with pytest.raises(ExternalPayloadIntegrityError):
                await client.describe_workflow("wf-big")
