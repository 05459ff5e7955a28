"""External-task input envelopes (re-exported from :mod:`dw_core.external_task_input`)."""

from dw_core.external_task_input import (
    EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_INPUT_MEDIA_TYPE,
    EXTERNAL_TASK_INPUT_SCHEMA,
    EXTERNAL_TASK_INPUT_VERSION,
    ExternalTaskInput,
    ExternalTaskInputError,
    ExternalTaskInputIdentity,
    ExternalTaskInputKind,
    ExternalTaskLease,
    ExternalTaskWorkflowContext,
    parse_external_task_input,
    parse_external_task_input_artifact,
)

__all__ = [
    "EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_INPUT_MEDIA_TYPE",
    "EXTERNAL_TASK_INPUT_SCHEMA",
    "EXTERNAL_TASK_INPUT_VERSION",
    "ExternalTaskInput",
    "ExternalTaskInputError",
    "ExternalTaskInputIdentity",
    "ExternalTaskInputKind",
    "ExternalTaskLease",
    "ExternalTaskWorkflowContext",
    "parse_external_task_input",
    "parse_external_task_input_artifact",
]
