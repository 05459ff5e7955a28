"""Wire constants of the Durable Workflow protocol, shared by client, worker, dev server and replay.

Only names and values live here: versions, header names, contract schema strings, history event
types, command types, statuses and failure categories as the server writes them (see ``spec/``).
"""

from __future__ import annotations

from typing import Final

# -- versions and headers -----------------------------------------------------------------------------

CONTROL_PLANE_VERSION: Final = "2"
"""Control-plane version sent in ``X-Durable-Workflow-Control-Plane-Version``."""
WORKER_PROTOCOL_VERSION: Final = "1.1"
"""Worker-protocol version sent in ``X-Durable-Workflow-Protocol-Version``."""
WORKER_PROTOCOL_MAJOR: Final = 1
WORKER_PROTOCOL_MIN_MINOR: Final = 1
"""A server advertising ``1.x`` with ``x >= 1`` is compatible with this SDK."""

CONTROL_PLANE_VERSION_HEADER: Final = "X-Durable-Workflow-Control-Plane-Version"
WORKER_PROTOCOL_VERSION_HEADER: Final = "X-Durable-Workflow-Protocol-Version"
NAMESPACE_HEADER: Final = "X-Namespace"
AUTHORIZATION_HEADER: Final = "Authorization"
REQUEST_ID_HEADER: Final = "X-Request-Id"
CORRELATION_ID_HEADER: Final = "X-Correlation-Id"

CONTROL_PLANE_VERSION_ENV: Final = "DURABLE_WORKFLOW_CONTROL_PLANE_VERSION"
WORKER_PROTOCOL_VERSION_ENV: Final = "DURABLE_WORKFLOW_WORKER_PROTOCOL_VERSION"

DEFAULT_NAMESPACE: Final = "default"
API_PREFIX: Final = "/api"
WORKER_API_PREFIX: Final = "/api/worker"

# -- contracts advertised in /api/cluster/info ---------------------------------------------------------

CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA: Final = "durable-workflow.v2.control-plane-request.contract"
CONTROL_PLANE_REQUEST_CONTRACT_VERSION: Final = 1
CONTROL_PLANE_RESPONSE_SCHEMA: Final = "durable-workflow.v2.control-plane-response"
CONTROL_PLANE_RESPONSE_CONTRACT_SCHEMA: Final = "durable-workflow.v2.control-plane-response.contract"
AUTH_COMPOSITION_CONTRACT_SCHEMA: Final = "durable-workflow.v2.auth-composition.contract"
AUTH_COMPOSITION_CONTRACT_VERSION: Final = 1
CLIENT_COMPATIBILITY_SCHEMA: Final = "durable-workflow.v2.client-compatibility"
EXTERNAL_EXECUTION_SURFACE_CONTRACT_SCHEMA: Final = "durable-workflow.v2.external-execution-surface.contract"
EXTERNAL_EXECUTOR_CONFIG_CONTRACT_SCHEMA: Final = "durable-workflow.v2.external-executor-config.contract"
INVOCABLE_CARRIER_CONTRACT_SCHEMA: Final = "durable-workflow.v2.invocable-carrier.contract"
EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA: Final = "durable-workflow.v2.external-task-input.contract"
EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA: Final = "durable-workflow.v2.external-task-result.contract"
EXTERNAL_TASK_CONTRACT_VERSION: Final = 1
BRIDGE_ADAPTER_OUTCOME_CONTRACT_SCHEMA: Final = "durable-workflow.v2.bridge-adapter-outcome.contract"
EXTERNAL_PAYLOAD_REFERENCE_SCHEMA: Final = "durable-workflow.v2.external-payload-reference.v1"
HISTORY_EXPORT_SCHEMA: Final = "durable-workflow.v2.history-export"

# Keys of ``worker_protocol.server_capabilities``.
CAPABILITY_QUERY_TASKS: Final = "query_tasks"
CAPABILITY_LONG_POLL_TIMEOUT: Final = "long_poll_timeout"
CAPABILITY_SUPPORTED_WORKFLOW_TASK_COMMANDS: Final = "supported_workflow_task_commands"
CAPABILITY_POLL_REQUEST_IDEMPOTENCY: Final = "workflow_task_poll_request_idempotency"
CAPABILITY_HISTORY_PAGE_SIZE_DEFAULT: Final = "history_page_size_default"
CAPABILITY_HISTORY_PAGE_SIZE_MAX: Final = "history_page_size_max"
CAPABILITY_ACTIVITY_RETRY_POLICY: Final = "activity_retry_policy"
CAPABILITY_ACTIVITY_TIMEOUTS: Final = "activity_timeouts"
CAPABILITY_CHILD_WORKFLOW_RETRY_POLICY: Final = "child_workflow_retry_policy"
CAPABILITY_CHILD_WORKFLOW_TIMEOUTS: Final = "child_workflow_timeouts"
CAPABILITY_PARENT_CLOSE_POLICY: Final = "parent_close_policy"
CAPABILITY_NON_RETRYABLE_FAILURES: Final = "non_retryable_failures"
CAPABILITY_RESPONSE_COMPRESSION: Final = "response_compression"
CAPABILITY_HISTORY_COMPRESSION: Final = "history_compression"

WORKER_CAPABILITY_QUERY_TASKS: Final = "query_tasks"
"""Capability a worker registers when it runs query tasks."""

DEFAULT_LONG_POLL_TIMEOUT_SECONDS: Final = 30
DEFAULT_HISTORY_PAGE_SIZE: Final = 500
MAX_HISTORY_PAGE_SIZE: Final = 1000
DEFAULT_MAX_PAYLOAD_BYTES: Final = 2_097_152

# Prefixes of the idempotency ids sent with polls.
WORKFLOW_POLL_REQUEST_PREFIX: Final = "wf-poll-"
ACTIVITY_POLL_REQUEST_PREFIX: Final = "activity-poll-"
QUERY_POLL_REQUEST_PREFIX: Final = "query-poll-"

# -- history event types (PascalCase on the wire) ------------------------------------------------------

START_ACCEPTED: Final = "StartAccepted"
START_REJECTED: Final = "StartRejected"
WORKFLOW_STARTED: Final = "WorkflowStarted"
WORKFLOW_COMPLETED: Final = "WorkflowCompleted"
WORKFLOW_FAILED: Final = "WorkflowFailed"
WORKFLOW_CONTINUED_AS_NEW: Final = "WorkflowContinuedAsNew"
WORKFLOW_TIMED_OUT: Final = "WorkflowTimedOut"
CANCEL_REQUESTED: Final = "CancelRequested"
WORKFLOW_CANCELLED: Final = "WorkflowCancelled"
TERMINATE_REQUESTED: Final = "TerminateRequested"
WORKFLOW_TERMINATED: Final = "WorkflowTerminated"
REPAIR_REQUESTED: Final = "RepairRequested"
ARCHIVE_REQUESTED: Final = "ArchiveRequested"
WORKFLOW_ARCHIVED: Final = "WorkflowArchived"
ACTIVITY_SCHEDULED: Final = "ActivityScheduled"
ACTIVITY_STARTED: Final = "ActivityStarted"
ACTIVITY_HEARTBEAT_RECORDED: Final = "ActivityHeartbeatRecorded"
ACTIVITY_RETRY_SCHEDULED: Final = "ActivityRetryScheduled"
ACTIVITY_COMPLETED: Final = "ActivityCompleted"
ACTIVITY_FAILED: Final = "ActivityFailed"
ACTIVITY_CANCELLED: Final = "ActivityCancelled"
ACTIVITY_TIMED_OUT: Final = "ActivityTimedOut"
TIMER_SCHEDULED: Final = "TimerScheduled"
TIMER_FIRED: Final = "TimerFired"
TIMER_CANCELLED: Final = "TimerCancelled"
CONDITION_WAIT_OPENED: Final = "ConditionWaitOpened"
CONDITION_WAIT_SATISFIED: Final = "ConditionWaitSatisfied"
CONDITION_WAIT_TIMED_OUT: Final = "ConditionWaitTimedOut"
SIGNAL_WAIT_OPENED: Final = "SignalWaitOpened"
SIGNAL_RECEIVED: Final = "SignalReceived"
SIGNAL_APPLIED: Final = "SignalApplied"
UPDATE_ACCEPTED: Final = "UpdateAccepted"
UPDATE_REJECTED: Final = "UpdateRejected"
UPDATE_APPLIED: Final = "UpdateApplied"
UPDATE_COMPLETED: Final = "UpdateCompleted"
SIDE_EFFECT_RECORDED: Final = "SideEffectRecorded"
VERSION_MARKER_RECORDED: Final = "VersionMarkerRecorded"
SEARCH_ATTRIBUTES_UPSERTED: Final = "SearchAttributesUpserted"
MEMO_UPSERTED: Final = "MemoUpserted"
CHILD_WORKFLOW_SCHEDULED: Final = "ChildWorkflowScheduled"
CHILD_RUN_STARTED: Final = "ChildRunStarted"
CHILD_RUN_COMPLETED: Final = "ChildRunCompleted"
CHILD_RUN_FAILED: Final = "ChildRunFailed"
CHILD_RUN_CANCELLED: Final = "ChildRunCancelled"
CHILD_RUN_TERMINATED: Final = "ChildRunTerminated"
PARENT_CLOSE_POLICY_APPLIED: Final = "ParentClosePolicyApplied"
PARENT_CLOSE_POLICY_FAILED: Final = "ParentClosePolicyFailed"
FAILURE_HANDLED: Final = "FailureHandled"
MESSAGE_CURSOR_ADVANCED: Final = "MessageCursorAdvanced"
# Engine head only (not written for runs of protocol 1.8 servers).
SERVICE_CALL_STARTED: Final = "ServiceCallStarted"
SERVICE_CALL_COMPLETED: Final = "ServiceCallCompleted"
SERVICE_CALL_FAILED: Final = "ServiceCallFailed"
SERVICE_CALL_CANCELLED: Final = "ServiceCallCancelled"

RUN_HISTORY_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        START_ACCEPTED, START_REJECTED, WORKFLOW_STARTED, WORKFLOW_COMPLETED, WORKFLOW_FAILED,
        WORKFLOW_CONTINUED_AS_NEW, WORKFLOW_TIMED_OUT, CANCEL_REQUESTED, WORKFLOW_CANCELLED,
        TERMINATE_REQUESTED, WORKFLOW_TERMINATED, REPAIR_REQUESTED, ARCHIVE_REQUESTED, WORKFLOW_ARCHIVED,
        ACTIVITY_SCHEDULED, ACTIVITY_STARTED, ACTIVITY_HEARTBEAT_RECORDED, ACTIVITY_RETRY_SCHEDULED,
        ACTIVITY_COMPLETED, ACTIVITY_FAILED, ACTIVITY_CANCELLED, ACTIVITY_TIMED_OUT, TIMER_SCHEDULED,
        TIMER_FIRED, TIMER_CANCELLED, CONDITION_WAIT_OPENED, CONDITION_WAIT_SATISFIED,
        CONDITION_WAIT_TIMED_OUT, SIGNAL_WAIT_OPENED, SIGNAL_RECEIVED, SIGNAL_APPLIED, UPDATE_ACCEPTED,
        UPDATE_REJECTED, UPDATE_APPLIED, UPDATE_COMPLETED, SIDE_EFFECT_RECORDED, VERSION_MARKER_RECORDED,
        SEARCH_ATTRIBUTES_UPSERTED, MEMO_UPSERTED, CHILD_WORKFLOW_SCHEDULED, CHILD_RUN_STARTED,
        CHILD_RUN_COMPLETED, CHILD_RUN_FAILED, CHILD_RUN_CANCELLED, CHILD_RUN_TERMINATED,
        PARENT_CLOSE_POLICY_APPLIED, PARENT_CLOSE_POLICY_FAILED, FAILURE_HANDLED, MESSAGE_CURSOR_ADVANCED,
    }
)  # fmt: skip
"""The 49 run-history event types the engine wrote at 0.4.84 time."""

ENGINE_HEAD_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {SERVICE_CALL_STARTED, SERVICE_CALL_COMPLETED, SERVICE_CALL_FAILED, SERVICE_CALL_CANCELLED}
)

SCHEDULE_CREATED: Final = "ScheduleCreated"
SCHEDULE_PAUSED: Final = "SchedulePaused"
SCHEDULE_RESUMED: Final = "ScheduleResumed"
SCHEDULE_UPDATED: Final = "ScheduleUpdated"
SCHEDULE_TRIGGERED: Final = "ScheduleTriggered"
SCHEDULE_TRIGGER_SKIPPED: Final = "ScheduleTriggerSkipped"
SCHEDULE_DELETED: Final = "ScheduleDeleted"
SCHEDULE_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        SCHEDULE_CREATED,
        SCHEDULE_PAUSED,
        SCHEDULE_RESUMED,
        SCHEDULE_UPDATED,
        SCHEDULE_TRIGGERED,
        SCHEDULE_TRIGGER_SKIPPED,
        SCHEDULE_DELETED,
    }
)
"""Event types of a schedule's audit stream (never part of run history)."""

# ``timer_kind`` values on timer events.
TIMER_KIND_CONDITION_TIMEOUT: Final = "condition_timeout"
TIMER_KIND_SIGNAL_TIMEOUT: Final = "signal_timeout"

# -- workflow-task commands --------------------------------------------------------------------------

COMMAND_SCHEDULE_ACTIVITY: Final = "schedule_activity"
COMMAND_START_TIMER: Final = "start_timer"
COMMAND_START_CHILD_WORKFLOW: Final = "start_child_workflow"
COMMAND_RECORD_SIDE_EFFECT: Final = "record_side_effect"
COMMAND_RECORD_VERSION_MARKER: Final = "record_version_marker"
COMMAND_UPSERT_SEARCH_ATTRIBUTES: Final = "upsert_search_attributes"
COMMAND_OPEN_CONDITION_WAIT: Final = "open_condition_wait"
COMMAND_COMPLETE_UPDATE: Final = "complete_update"
COMMAND_FAIL_UPDATE: Final = "fail_update"
COMMAND_COMPLETE_WORKFLOW: Final = "complete_workflow"
COMMAND_FAIL_WORKFLOW: Final = "fail_workflow"
COMMAND_CONTINUE_AS_NEW: Final = "continue_as_new"
# Engine head only; this SDK never emits them.
COMMAND_OPEN_SIGNAL_WAIT: Final = "open_signal_wait"
COMMAND_START_SERVICE_OPERATION: Final = "start_service_operation"

TERMINAL_COMMAND_TYPES: Final[frozenset[str]] = frozenset(
    {COMMAND_COMPLETE_WORKFLOW, COMMAND_FAIL_WORKFLOW, COMMAND_CONTINUE_AS_NEW}
)
NON_TERMINAL_COMMAND_TYPES: Final[frozenset[str]] = frozenset(
    {
        COMMAND_SCHEDULE_ACTIVITY,
        COMMAND_START_TIMER,
        COMMAND_START_CHILD_WORKFLOW,
        COMMAND_RECORD_SIDE_EFFECT,
        COMMAND_RECORD_VERSION_MARKER,
        COMMAND_UPSERT_SEARCH_ATTRIBUTES,
        COMMAND_OPEN_CONDITION_WAIT,
        COMMAND_COMPLETE_UPDATE,
        COMMAND_FAIL_UPDATE,
    }
)
SDK_COMMAND_TYPES: Final[frozenset[str]] = TERMINAL_COMMAND_TYPES | NON_TERMINAL_COMMAND_TYPES
"""The twelve command types this SDK emits."""

PARENT_CLOSE_POLICY_ABANDON: Final = "abandon"
PARENT_CLOSE_POLICY_REQUEST_CANCEL: Final = "request_cancel"
PARENT_CLOSE_POLICY_TERMINATE: Final = "terminate"
PARENT_CLOSE_POLICIES: Final[frozenset[str]] = frozenset(
    {PARENT_CLOSE_POLICY_ABANDON, PARENT_CLOSE_POLICY_REQUEST_CANCEL, PARENT_CLOSE_POLICY_TERMINATE}
)

# -- statuses ----------------------------------------------------------------------------------------

RUN_STATUS_PENDING: Final = "pending"
RUN_STATUS_RUNNING: Final = "running"
RUN_STATUS_WAITING: Final = "waiting"
RUN_STATUS_COMPLETED: Final = "completed"
RUN_STATUS_FAILED: Final = "failed"
RUN_STATUS_CANCELLED: Final = "cancelled"
RUN_STATUS_TERMINATED: Final = "terminated"
RUN_STATUSES: Final[frozenset[str]] = frozenset(
    {
        RUN_STATUS_PENDING,
        RUN_STATUS_RUNNING,
        RUN_STATUS_WAITING,
        RUN_STATUS_COMPLETED,
        RUN_STATUS_FAILED,
        RUN_STATUS_CANCELLED,
        RUN_STATUS_TERMINATED,
    }
)
TERMINAL_RUN_STATUSES: Final[frozenset[str]] = frozenset(
    {RUN_STATUS_COMPLETED, RUN_STATUS_FAILED, RUN_STATUS_CANCELLED, RUN_STATUS_TERMINATED}
)
RUN_STATUS_CANCELED_ALIAS: Final = "canceled"
"""American spelling some servers send; clients treat it as ``cancelled``."""

STATUS_BUCKET_RUNNING: Final = "running"
STATUS_BUCKET_COMPLETED: Final = "completed"
STATUS_BUCKET_FAILED: Final = "failed"
STATUS_BUCKETS: Final[frozenset[str]] = frozenset(
    {STATUS_BUCKET_RUNNING, STATUS_BUCKET_COMPLETED, STATUS_BUCKET_FAILED}
)

CLOSED_REASON_CONTINUED: Final = "continued"
CLOSED_REASON_TIMED_OUT: Final = "timed_out"

# Task row statuses as the engine reports them (``task_status``); only ``leased`` and ``completed``
# appear verbatim in the recorded fixtures, the others follow the engine's task lifecycle.
TASK_STATUS_READY: Final = "ready"
TASK_STATUS_LEASED: Final = "leased"
TASK_STATUS_COMPLETED: Final = "completed"
TASK_STATUS_FAILED: Final = "failed"
TASK_STATUS_CANCELLED: Final = "cancelled"

TASK_TYPE_WORKFLOW: Final = "workflow"
TASK_TYPE_ACTIVITY: Final = "activity"
TASK_TYPE_TIMER: Final = "timer"

# Task families a worker polls (also the ``task_kind`` metric tag).
TASK_KIND_WORKFLOW: Final = "workflow"
TASK_KIND_ACTIVITY: Final = "activity"
TASK_KIND_QUERY: Final = "query"

WORKER_STATUS_ACTIVE: Final = "active"
WORKER_STATUS_DRAINING: Final = "draining"
WORKER_STATUS_STALE: Final = "stale"

DUPLICATE_POLICY_FAIL: Final = "fail"
DUPLICATE_POLICY_USE_EXISTING: Final = "use-existing"

UPDATE_WAIT_FOR_ACCEPTED: Final = "accepted"
UPDATE_WAIT_FOR_COMPLETED: Final = "completed"

# -- failures ------------------------------------------------------------------------------------------

FAILURE_CATEGORY_APPLICATION: Final = "application"
FAILURE_CATEGORY_CANCELLED: Final = "cancelled"
FAILURE_CATEGORY_TERMINATED: Final = "terminated"
FAILURE_CATEGORY_TIMEOUT: Final = "timeout"
FAILURE_CATEGORY_ACTIVITY: Final = "activity"
FAILURE_CATEGORY_CHILD_WORKFLOW: Final = "child_workflow"
FAILURE_CATEGORY_TASK_FAILURE: Final = "task_failure"
FAILURE_CATEGORY_INTERNAL: Final = "internal"
FAILURE_CATEGORY_STRUCTURAL_LIMIT: Final = "structural_limit"
FAILURE_CATEGORIES: Final[frozenset[str]] = frozenset(
    {
        FAILURE_CATEGORY_APPLICATION,
        FAILURE_CATEGORY_CANCELLED,
        FAILURE_CATEGORY_TERMINATED,
        FAILURE_CATEGORY_TIMEOUT,
        FAILURE_CATEGORY_ACTIVITY,
        FAILURE_CATEGORY_CHILD_WORKFLOW,
        FAILURE_CATEGORY_TASK_FAILURE,
        FAILURE_CATEGORY_INTERNAL,
        FAILURE_CATEGORY_STRUCTURAL_LIMIT,
    }
)

# -- payload codecs --------------------------------------------------------------------------------------

CODEC_AVRO: Final = "avro"
CODEC_JSON: Final = "json"
