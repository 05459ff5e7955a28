"""Result and value dataclasses returned by the client; each ``from_dict`` tolerates missing keys."""

from dw_client.models.activities import StandaloneActivityExecution, StandaloneActivityList
from dw_client.models.bridge import BridgeAdapterOutcome
from dw_client.models.namespaces import (
    NamespaceDescription,
    NamespaceList,
    StoragePayloadTestResult,
    StorageTestResult,
)
from dw_client.models.schedules import (
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleSpec,
    ScheduleTriggerResult,
)
from dw_client.models.task_queues import (
    TaskQueueAdmission,
    TaskQueueBuildIdCohort,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    TaskQueueList,
    TaskQueueQueryAdmission,
    TaskQueueTaskAdmission,
)
from dw_client.models.workers import SearchAttributeList, WorkerDescription, WorkerList
from dw_client.models.workflows import (
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)

__all__ = [
    "BridgeAdapterOutcome",
    "NamespaceDescription",
    "NamespaceList",
    "ScheduleAction",
    "ScheduleBackfillResult",
    "ScheduleDescription",
    "ScheduleHistoryEvent",
    "ScheduleHistoryPage",
    "ScheduleList",
    "ScheduleSpec",
    "ScheduleTriggerResult",
    "SearchAttributeList",
    "StandaloneActivityExecution",
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
    "WorkflowList",
    "WorkflowRun",
    "WorkflowRunList",
]
