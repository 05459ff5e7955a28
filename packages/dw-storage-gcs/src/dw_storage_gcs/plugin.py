"""The ``gcs`` storage-driver plugin (entry point ``dw-storage-gcs`` in the ``durable_workflow`` group)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from dw_core.external_storage import ExternalPayloadStoragePolicy, ExternalStorageDriver
from dw_core.plugins import hookimpl

from dw_storage_gcs.locator import SCHEME, check_bucket_name
from dw_storage_gcs.storage import GCSExternalStorage

__all__ = [
    "DRIVER_NAME",
    "bucket_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAME: Final = "gcs"
_BUCKETS_SEGMENT: Final = "buckets"


def _fail(detail: str) -> ValueError:
    return ValueError(f"invalid gcs external payload storage policy: {detail}")


def _bucket_from_reference(reference: str) -> str:
    if reference.startswith(f"{SCHEME}://"):
        return reference[len(SCHEME) + 3 :].split("/", 1)[0]
    segments = reference.split("/")
    # Resource names such as projects/_/buckets/<b> or //storage.googleapis.com/projects/_/buckets/<b>.
    if _BUCKETS_SEGMENT in segments:
        index = segments.index(_BUCKETS_SEGMENT)
        return segments[index + 1] if index + 1 < len(segments) else ""
    if "://" in reference or "/" in reference:
        raise _fail(
            f"reference {reference!r} is not a GCS bucket (use gs://bucket or projects/_/buckets/bucket)"
        )
    return reference


def bucket_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The bucket named by ``config.bucket``, else by ``reference`` (``gs://b``, ``…/buckets/b`` or ``b``).

    Only the bucket is taken from a reference; the key prefix comes from the policy's ``prefix``.
    """
    configured = policy.config.get("bucket")
    if configured is not None and not isinstance(configured, str):
        raise _fail(f"config.bucket must be a string, got {type(configured).__name__}")
    if configured:
        candidate = configured
    elif policy.reference:
        candidate = _bucket_from_reference(policy.reference)
    else:
        raise _fail("set config.bucket, or a reference such as gs://bucket or projects/_/buckets/bucket")
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
    client = options.get("gcs_client")
    if client is None:
        raise ValueError(
            "the gcs external storage driver needs the application's GCS client: pass "
            "gcs_client=google.cloud.storage.Client(...) to external_storage_driver_from_policy()"
        )
    try:
        return GCSExternalStorage(client, bucket=bucket, prefix=policy.prefix)
    except ValueError as exc:
        raise _fail(str(exc)) from None
