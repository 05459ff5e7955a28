"""External-task result envelopes (re-exported from :mod:`dw_core.external_task_result`)."""

from dw_core.external_task_result import (
    EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_RESULT_MEDIA_TYPE,
    EXTERNAL_TASK_RESULT_SCHEMA,
    EXTERNAL_TASK_RESULT_VERSION,
    ExternalTaskFailure,
    ExternalTaskIdentity,
    ExternalTaskResult,
    ExternalTaskResultError,
    ExternalTaskResultKind,
    parse_external_task_result,
    parse_external_task_result_artifact,
)

__all__ = [
    "EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_RESULT_MEDIA_TYPE",
    "EXTERNAL_TASK_RESULT_SCHEMA",
    "EXTERNAL_TASK_RESULT_VERSION",
    "ExternalTaskFailure",
    "ExternalTaskIdentity",
    "ExternalTaskResult",
    "ExternalTaskResultError",
    "ExternalTaskResultKind",
    "parse_external_task_result",
    "parse_external_task_result_artifact",
]
