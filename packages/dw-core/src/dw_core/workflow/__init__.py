"""The workflow authoring API: decorators, the context, commands and offline replay helpers.

Workflows are classes decorated with :func:`defn` whose ``run(self, ctx, *args)`` yields commands
built by :class:`WorkflowContext`; see the package README ("Replay semantics") for how replay
treats them.
"""

from dw_core.payload_size import PayloadWarningContext
from dw_core.retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy
from dw_core.workflow.commands import (
    NOOP_MARKER_CHANGE_ID,
    ActivityRetryPolicyInput,
    ChildWorkflowRetryPolicyInput,
    Command,
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailUpdate,
    FailWorkflow,
    InvalidCommandError,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
    commands_to_server_commands,
    noop_server_command,
)
from dw_core.workflow.context import (
    REPLAY_LOGGER_NAME,
    ReplayAwareLogger,
    WorkflowContext,
    predicate_fingerprint,
)
from dw_core.workflow.definition import (
    WorkflowDefinition,
    WorkflowDefinitionError,
    definition_fingerprint,
    defn,
    get_definition,
    query,
    registry,
    signal,
    update,
    update_validator,
)
from dw_core.workflow.replayer import (
    Replayer,
    ReplayOutcome,
    apply_update,
    query_state,
    replay,
    replay_history,
    replay_history_file,
)

__all__ = [
    "NOOP_MARKER_CHANGE_ID",
    "REPLAY_LOGGER_NAME",
    "ActivityRetryPolicy",
    "ActivityRetryPolicyInput",
    "ChildWorkflowRetryPolicy",
    "ChildWorkflowRetryPolicyInput",
    "Command",
    "CompleteUpdate",
    "CompleteWorkflow",
    "ContinueAsNew",
    "FailUpdate",
    "FailWorkflow",
    "InvalidCommandError",
    "PayloadWarningContext",
    "RecordSideEffect",
    "RecordVersionMarker",
    "ReplayAwareLogger",
    "ReplayOutcome",
    "Replayer",
    "ScheduleActivity",
    "StartChildWorkflow",
    "StartTimer",
    "UpsertSearchAttributes",
    "WaitCondition",
    "WorkflowContext",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "apply_update",
    "commands_to_server_commands",
    "definition_fingerprint",
    "defn",
    "get_definition",
    "noop_server_command",
    "predicate_fingerprint",
    "query",
    "query_state",
    "registry",
    "replay",
    "replay_history",
    "replay_history_file",
    "signal",
    "update",
    "update_validator",
]
