"""Testing helpers (re-exported from ``dw_testing``).

``WorkflowEnvironment`` runs a workflow in process against mocked activities; ``replay_history`` /
``replay_history_file`` / ``Replayer`` check code against captured histories;
``LocalServerEnvironment`` boots the embedded dev server with a client and workers for end-to-end
tests (the pytest plugin offers it as the ``workflow_env`` / ``workflow_client`` fixtures).
"""

from dw_testing import (
    ContinueAsNewLimitExceeded,
    IterationLimitExceeded,
    MissingMockError,
    NonDeterministicWorkflowError,
    Replayer,
    ReplayOutcome,
    UnregisteredWorkflowError,
    UnsatisfiableWaitError,
    WorkflowEnvironment,
    WorkflowRunRecord,
    WorkflowStuckError,
    replay_history,
    replay_history_file,
)

__all__ = [
    "ContinueAsNewLimitExceeded",
    "IterationLimitExceeded",
    "MissingMockError",
    "NonDeterministicWorkflowError",
    "ReplayOutcome",
    "Replayer",
    "UnregisteredWorkflowError",
    "UnsatisfiableWaitError",
    "WorkflowEnvironment",
    "WorkflowRunRecord",
    "WorkflowStuckError",
    "replay_history",
    "replay_history_file",
]
