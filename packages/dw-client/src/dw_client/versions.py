"""Protocol versions this client speaks and the SDK identity it advertises."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

from dw_core import protocol

#: Worker-protocol version sent on worker-plane calls (server must be 1.x with x >= 1).
PROTOCOL_VERSION: Final = protocol.WORKER_PROTOCOL_VERSION
#: Control-plane version sent on control-plane calls.
CONTROL_PLANE_VERSION: Final = protocol.CONTROL_PLANE_VERSION
#: Request-contract schema a compatible server advertises in ``cluster/info``.
CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA: Final = protocol.CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA
#: Request-contract version a compatible server advertises.
CONTROL_PLANE_REQUEST_CONTRACT_VERSION: Final = protocol.CONTROL_PLANE_REQUEST_CONTRACT_VERSION


def _sdk_version() -> str:
    for distribution in ("durable-workflow", "dw-client"):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "0.0.0+unknown"


#: ``sdk_version`` advertised at worker registration.
DEFAULT_SDK_VERSION: Final = f"durable-workflow-python/{_sdk_version()}"
