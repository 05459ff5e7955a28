"""The ``durable_workflow.client`` / ``durable_workflow.sync`` facade re-exports the published names."""

from __future__ import annotations

import dw_client
import dw_client.sync

# public-api.md §2, row ``.client`` (33 names), plus the client-module-only worker roster types.
PUBLISHED_CLIENT_NAMES = [
    "BridgeAdapterOutcome",
    "Client",
    "NamespaceDescription",
    "NamespaceList",
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
    "WorkflowCommandResult",
    "WorkflowExecution",
    "WorkflowHandle",
    "WorkflowList",
    "WorkflowRun",
    "WorkflowRunList",
    "WorkerDescription",
    "WorkerList",
    "PROTOCOL_VERSION",
    "CONTROL_PLANE_VERSION",
    "CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA",
    "CONTROL_PLANE_REQUEST_CONTRACT_VERSION",
    "DEFAULT_SDK_VERSION",
]


def test_client_facade_reexports_the_implementation() -> None:
    import durable_workflow.client as facade

    for name in PUBLISHED_CLIENT_NAMES:
        assert getattr(facade, name) is getattr(dw_client, name), name
        assert name in facade.__all__
    assert facade.PROTOCOL_VERSION == "1.1"
    assert facade.CONTROL_PLANE_VERSION == "2"
    assert (
        facade.CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA == "durable-workflow.v2.control-plane-request.contract"
    )
    assert facade.CONTROL_PLANE_REQUEST_CONTRACT_VERSION == 1


def test_sync_facade_reexports_the_blocking_client() -> None:
    import durable_workflow.sync as facade

    for name in ("Client", "SyncWorkflowHandle", "SyncScheduleHandle", "SyncStandaloneActivityHandle"):
        assert getattr(facade, name) is getattr(dw_client.sync, name)
