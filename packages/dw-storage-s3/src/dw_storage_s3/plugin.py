"""The ``s3`` storage-driver plugin (entry point ``dw-storage-s3`` in the ``durable_workflow`` group)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from dw_core.external_storage import ExternalPayloadStoragePolicy, ExternalStorageDriver
from dw_core.plugins import hookimpl

from dw_storage_s3.locator import SCHEME, check_bucket_name
from dw_storage_s3.storage import S3ExternalStorage

__all__ = [
    "DRIVER_NAME",
    "bucket_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAME: Final = "s3"
_ARN_PREFIX: Final = "arn:aws:s3:::"


def _fail(detail: str) -> ValueError:
    return ValueError(f"invalid s3 external payload storage policy: {detail}")


def bucket_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The bucket named by ``config.bucket``, else by ``reference`` (``arn:aws:s3:::b``, ``s3://b`` or ``b``).

    Only the bucket is taken from a reference; the key prefix comes from the policy's ``prefix``.
    """
    configured = policy.config.get("bucket")
    if configured is not None and not isinstance(configured, str):
        raise _fail(f"config.bucket must be a string, got {type(configured).__name__}")
    if configured:
        candidate = configured
    elif policy.reference:
        reference = policy.reference
        if reference.startswith(_ARN_PREFIX):
            candidate = reference[len(_ARN_PREFIX) :].split("/", 1)[0]
        elif reference.startswith(f"{SCHEME}://"):
            candidate = reference[len(SCHEME) + 3 :].split("/", 1)[0]
        elif "://" in reference or reference.startswith("arn:"):
            raise _fail(
                f"reference {reference!r} is not an S3 bucket (use arn:aws:s3:::bucket or s3://bucket)"
            )
        else:
            candidate = reference
    else:
        raise _fail("set config.bucket, or a reference such as arn:aws:s3:::bucket or s3://bucket")
    try:
        return check_bucket_name(candidate)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@hookimpl
def dw_external_storage_driver_names() -> Iterable[str]:
    return [DRIVER_NAME]


@hookimpl
def dw_external_storage_driver(
    name: str, policy: ExternalPayloadStoragePolicy, options: Mapping[str, Any]
) -> ExternalStorageDriver | None:
    if name != DRIVER_NAME:
        return None
    bucket = bucket_from_policy(policy)
    client = options.get("s3_client")
    if client is None:
        raise ValueError(
            "the s3 external storage driver needs the application's S3 client: pass "
            "s3_client=boto3.client('s3', ...) to external_storage_driver_from_policy()"
        )
    try:
        return S3ExternalStorage(client, bucket=bucket, prefix=policy.prefix)
    except ValueError as exc:
        raise _fail(str(exc)) from None
