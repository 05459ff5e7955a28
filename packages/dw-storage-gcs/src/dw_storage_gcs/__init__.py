"""Google Cloud Storage external-payload storage driver for Durable Workflow.

``GCSExternalStorage(storage.Client(), bucket="my-bucket", prefix="payloads")`` is a driver for
:func:`dw_core.external_storage.store_external_payload` / ``fetch_external_payload``; installed, this
distribution also registers the ``gcs`` driver name with the plugin manager, so a namespace policy
with ``"driver": "gcs"`` resolves through ``external_storage_driver_from_policy(policy, gcs_client=...)``.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_storage_gcs.plugin import DRIVER_NAME
from dw_storage_gcs.storage import CONTENT_TYPE, GCSExternalStorage

try:
    __version__ = version("dw-storage-gcs")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["CONTENT_TYPE", "DRIVER_NAME", "GCSExternalStorage", "__version__"]
