"""Async and sync HTTP client for the Durable Workflow server: control plane and the low-level worker-
plane calls.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_client.client import Client
from dw_client.handles import ScheduleHandle, StandaloneActivityHandle, WorkflowHandle
from dw_client.models import (
    BridgeAdapterOutcome,
    NamespaceDescription,
    NamespaceList,
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleSpec,
    ScheduleTriggerResult,
    SearchAttributeList,
    StandaloneActivityExecution,
    StandaloneActivityList,
    StoragePayloadTestResult,
    StorageTestResult,
    TaskQueueAdmission,
    TaskQueueBuildIdCohort,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    TaskQueueList,
    TaskQueueQueryAdmission,
    TaskQueueTaskAdmission,
    WorkerDescription,
    WorkerList,
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from dw_client.transport_errors import RequestOutcomeUnknown
from dw_client.versions import (
    CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA,
    CONTROL_PLANE_REQUEST_CONTRACT_VERSION,
    CONTROL_PLANE_VERSION,
    DEFAULT_SDK_VERSION,
    PROTOCOL_VERSION,
)

try:
    __version__ = version("dw-client")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = [
    "CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA",
    "CONTROL_PLANE_REQUEST_CONTRACT_VERSION",
    "CONTROL_PLANE_VERSION",
    "DEFAULT_SDK_VERSION",
    "PROTOCOL_VERSION",
    "BridgeAdapterOutcome",
    "Client",
    "NamespaceDescription",
    "NamespaceList",
    "RequestOutcomeUnknown",
    "ScheduleAction",
    "ScheduleBackfillResult",
    "ScheduleDescription",
    "ScheduleHandle",
    "ScheduleHistoryEvent",
    "ScheduleHistoryPage",
    "ScheduleList",
    "ScheduleSpec",
    "ScheduleTriggerResult",
    "SearchAttributeList",
    "StandaloneActivityExecution",
    "StandaloneActivityHandle",
    "StandaloneActivityList",
    "StoragePayloadTestResult",
    "StorageTestResult",
    "TaskQueueAdmission",
    "TaskQueueBuildIdCohort",
    "TaskQueueBuildIdRollout",
    "TaskQueueBuildIdRolloutState",
    "TaskQueueDescription",
    "TaskQueueList",
    "TaskQueueQueryAdmission",
    "TaskQueueTaskAdmission",
    "WorkerDescription",
    "WorkerList",
    "WorkflowCommandResult",
    "WorkflowExecution",
    "WorkflowHandle",
    "WorkflowList",
    "WorkflowRun",
    "WorkflowRunList",
    "__version__",
]
