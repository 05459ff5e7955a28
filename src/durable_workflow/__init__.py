"""Durable Workflow Python SDK.

The facade over the ``dw-*`` packages: the public API users already know
(``from durable_workflow import Client, Worker, workflow, activity``) re-exported from the
packages that implement it. Nothing is implemented here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

# Submodules are attributes of the package after ``import durable_workflow`` (the README of the
# published SDK relies on ``from durable_workflow import serializer``).
from durable_workflow import (
    activity,
    auth_composition,
    client,
    errors,
    external_storage,
    external_task_input,
    external_task_result,
    history_bundle_verify,
    interceptors,
    invocable,
    metrics,
    replay_verify,
    retry_policy,
    serializer,
    sync,
    testing,
    worker,
    workflow,
)
from durable_workflow.activity import ActivityContext, ActivityInfo
from durable_workflow.auth_composition import (
    AUTH_COMPOSITION_CONTRACT_SCHEMA,
    AUTH_COMPOSITION_CONTRACT_VERSION,
    AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS,
    AuthCompositionContract,
    AuthCompositionContractError,
    parse_auth_composition_contract,
)
from durable_workflow.client import (
    BridgeAdapterOutcome,
    Client,
    NamespaceDescription,
    NamespaceList,
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleSpec,
    ScheduleTriggerResult,
    SearchAttributeList,
    StandaloneActivityExecution,
    StandaloneActivityHandle,
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
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from durable_workflow.errors import (
    ActivityCancelled,
    ActivityFailed,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    ChildWorkflowTerminated,
    DurableWorkflowError,
    InvalidArgument,
    NamespaceNotFound,
    NonDeterministicReplayError,
    NonRetryableError,
    QueryFailed,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ServerError,
    SignalFailed,
    Unauthorized,
    UpdateRejected,
    WorkflowAlreadyStarted,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowPayloadDecodeError,
    WorkflowTerminated,
)
from durable_workflow.external_storage import (
    EXTERNAL_PAYLOAD_REFERENCE_SCHEMA,
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalPayloadReference,
    ExternalPayloadStoragePolicy,
    ExternalStorageDriver,
    LocalFilesystemExternalStorage,
    delete_external_payload,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from durable_workflow.external_task_input import (
    EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_INPUT_MEDIA_TYPE,
    EXTERNAL_TASK_INPUT_SCHEMA,
    EXTERNAL_TASK_INPUT_VERSION,
    ExternalTaskInput,
    ExternalTaskInputError,
    ExternalTaskInputIdentity,
    ExternalTaskLease,
    ExternalTaskWorkflowContext,
    parse_external_task_input,
    parse_external_task_input_artifact,
)
from durable_workflow.external_task_result import (
    EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_RESULT_MEDIA_TYPE,
    EXTERNAL_TASK_RESULT_SCHEMA,
    EXTERNAL_TASK_RESULT_VERSION,
    ExternalTaskFailure,
    ExternalTaskIdentity,
    ExternalTaskResult,
    ExternalTaskResultError,
    parse_external_task_result,
    parse_external_task_result_artifact,
)
from durable_workflow.history_bundle_verify import (
    HISTORY_BUNDLE_SCHEMA,
    HISTORY_BUNDLE_SCHEMA_VERSION,
    HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA,
    HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA_VERSION,
    verify_history_bundle,
    verify_history_bundle_json,
)
from durable_workflow.interceptors import (
    ActivityHandler,
    ActivityInterceptorContext,
    PassthroughWorkerInterceptor,
    QueryTaskHandler,
    QueryTaskInterceptorContext,
    WorkerInterceptor,
    WorkflowTaskHandler,
    WorkflowTaskInterceptorContext,
)
from durable_workflow.invocable import (
    InvocableActivityHandler,
    InvocableHttpResponse,
    handle_invocable_activity,
    handle_invocable_http_request,
    handle_invocable_lambda_event,
    lambda_invocable_activity_handler,
)
from durable_workflow.metrics import InMemoryMetrics, MetricsRecorder, NoopMetrics
from durable_workflow.replay_verify import (
    GoldenHistoryReport,
    ReplayCaseReport,
    SimulationReport,
    aggregate_verdicts,
    promotion_decision_for,
    promotion_decision_for_report,
    simulate_bundles,
    verify_golden_history,
    verify_replay,
)
from durable_workflow.retry_policy import RetryPolicy, TransportRetryPolicy
from durable_workflow.serializer import (
    PayloadSizeWarningConfig,
    PayloadSizeWarningContext,
    external_storage_envelope,
    to_avro_payload_value,
    to_avro_payload_values,
)
from durable_workflow.worker import Worker
from durable_workflow.workflow import (
    ActivityRetryPolicy,
    ChildWorkflowRetryPolicy,
    ContinueAsNew,
    Replayer,
    ReplayOutcome,
    StartChildWorkflow,
    replay,
)

if TYPE_CHECKING:
    from durable_workflow.external_storage import AzureBlobExternalStorage as AzureBlobExternalStorage
    from durable_workflow.external_storage import GCSExternalStorage as GCSExternalStorage
    from durable_workflow.external_storage import S3ExternalStorage as S3ExternalStorage
    from durable_workflow.metrics import PrometheusMetrics as PrometheusMetrics

try:
    __version__ = version("durable-workflow")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

# Names whose classes live in optional plugin distributions (extras s3, gcs, azure, prometheus):
# resolved on first use so a default install imports without them. Maps each name to the facade
# module that resolves it and the import package of the distribution providing it.
_OPTIONAL_NAMES: dict[str, tuple[Any, str]] = {
    "AzureBlobExternalStorage": (external_storage, "dw_storage_azure"),
    "GCSExternalStorage": (external_storage, "dw_storage_gcs"),
    "S3ExternalStorage": (external_storage, "dw_storage_s3"),
    "PrometheusMetrics": (metrics, "dw_metrics_prometheus"),
}


def __getattr__(name: str) -> Any:
    """Resolve the plugin-provided classes lazily (``ImportError`` names the extra to install)."""
    if name not in _OPTIONAL_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_OPTIONAL_NAMES[name][0], name)


__all__ = [
    "AUTH_COMPOSITION_CONTRACT_SCHEMA",
    "AUTH_COMPOSITION_CONTRACT_VERSION",
    "AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS",
    "EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
    "EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_INPUT_MEDIA_TYPE",
    "EXTERNAL_TASK_INPUT_SCHEMA",
    "EXTERNAL_TASK_INPUT_VERSION",
    "EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_RESULT_MEDIA_TYPE",
    "EXTERNAL_TASK_RESULT_SCHEMA",
    "EXTERNAL_TASK_RESULT_VERSION",
    "HISTORY_BUNDLE_SCHEMA",
    "HISTORY_BUNDLE_SCHEMA_VERSION",
    "HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA",
    "HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA_VERSION",
    "ActivityCancelled",
    "ActivityContext",
    "ActivityFailed",
    "ActivityHandler",
    "ActivityInfo",
    "ActivityInterceptorContext",
    "ActivityRetryPolicy",
    "AuthCompositionContract",
    "AuthCompositionContractError",
    "BridgeAdapterOutcome",
    "ChildWorkflowCancelled",
    "ChildWorkflowFailed",
    "ChildWorkflowRetryPolicy",
    "ChildWorkflowTerminated",
    "Client",
    "ContinueAsNew",
    "DurableWorkflowError",
    "ExternalPayloadCache",
    "ExternalPayloadIntegrityError",
    "ExternalPayloadReference",
    "ExternalPayloadStoragePolicy",
    "ExternalStorageDriver",
    "ExternalTaskFailure",
    "ExternalTaskIdentity",
    "ExternalTaskInput",
    "ExternalTaskInputError",
    "ExternalTaskInputIdentity",
    "ExternalTaskLease",
    "ExternalTaskResult",
    "ExternalTaskResultError",
    "ExternalTaskWorkflowContext",
    "GoldenHistoryReport",
    "InMemoryMetrics",
    "InvalidArgument",
    "InvocableActivityHandler",
    "InvocableHttpResponse",
    "LocalFilesystemExternalStorage",
    "MetricsRecorder",
    "NamespaceDescription",
    "NamespaceList",
    "NamespaceNotFound",
    "NonDeterministicReplayError",
    "NonRetryableError",
    "NoopMetrics",
    "PassthroughWorkerInterceptor",
    "PayloadSizeWarningConfig",
    "PayloadSizeWarningContext",
    "QueryFailed",
    "QueryTaskHandler",
    "QueryTaskInterceptorContext",
    "ReplayCaseReport",
    "ReplayOutcome",
    "Replayer",
    "RetryPolicy",
    "ScheduleAction",
    "ScheduleAlreadyExists",
    "ScheduleBackfillResult",
    "ScheduleDescription",
    "ScheduleHandle",
    "ScheduleHistoryEvent",
    "ScheduleHistoryPage",
    "ScheduleList",
    "ScheduleNotFound",
    "ScheduleSpec",
    "ScheduleTriggerResult",
    "SearchAttributeList",
    "ServerError",
    "SignalFailed",
    "SimulationReport",
    "StandaloneActivityExecution",
    "StandaloneActivityHandle",
    "StandaloneActivityList",
    "StartChildWorkflow",
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
    "TransportRetryPolicy",
    "Unauthorized",
    "UpdateRejected",
    "Worker",
    "WorkerInterceptor",
    "WorkflowAlreadyStarted",
    "WorkflowCancelled",
    "WorkflowCommandResult",
    "WorkflowExecution",
    "WorkflowFailed",
    "WorkflowHandle",
    "WorkflowList",
    "WorkflowNotFound",
    "WorkflowPayloadDecodeError",
    "WorkflowRun",
    "WorkflowRunList",
    "WorkflowTaskHandler",
    "WorkflowTaskInterceptorContext",
    "WorkflowTerminated",
    "__version__",
    "activity",
    "aggregate_verdicts",
    "delete_external_payload",
    "external_storage_driver_from_policy",
    "external_storage_envelope",
    "fetch_external_payload",
    "handle_invocable_activity",
    "handle_invocable_http_request",
    "handle_invocable_lambda_event",
    "lambda_invocable_activity_handler",
    "parse_auth_composition_contract",
    "parse_external_task_input",
    "parse_external_task_input_artifact",
    "parse_external_task_result",
    "parse_external_task_result_artifact",
    "promotion_decision_for",
    "promotion_decision_for_report",
    "replay",
    "simulate_bundles",
    "store_external_payload",
    "sync",
    "testing",
    "to_avro_payload_value",
    "to_avro_payload_values",
    "verify_golden_history",
    "verify_history_bundle",
    "verify_history_bundle_json",
    "verify_replay",
    "workflow",
]

# ``from durable_workflow import *`` must work on a default install, so the plugin-provided names
# are public only where their distribution is installed.
__all__ += [name for name, (_, package) in _OPTIONAL_NAMES.items() if find_spec(package) is not None]

# Imported for their side effect of being package attributes; listed so linters see them used.
_SUBMODULES = (
    auth_composition,
    client,
    errors,
    external_storage,
    external_task_input,
    external_task_result,
    history_bundle_verify,
    interceptors,
    invocable,
    metrics,
    replay_verify,
    retry_policy,
    serializer,
    worker,
)
