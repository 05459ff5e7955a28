"""Amazon S3 external-payload storage driver for Durable Workflow.

``S3ExternalStorage(boto3.client("s3"), bucket="my-bucket", prefix="payloads")`` is a driver for
:func:`dw_core.external_storage.store_external_payload` / ``fetch_external_payload``; installed, this
distribution also registers the ``s3`` driver name with the plugin manager, so a namespace policy with
``"driver": "s3"`` resolves through ``external_storage_driver_from_policy(policy, s3_client=...)``.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_storage_s3.plugin import DRIVER_NAME
from dw_storage_s3.storage import CONTENT_TYPE, S3ExternalStorage

try:
    __version__ = version("dw-storage-s3")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["CONTENT_TYPE", "DRIVER_NAME", "S3ExternalStorage", "__version__"]
