"""Testing helpers (re-exported from ``dw_testing``).

``WorkflowEnvironment`` runs a workflow in process against mocked activities; ``replay_history`` /
``replay_history_file`` / ``Replayer`` check code against captured histories;
``LocalServerEnvironment`` boots the embedded dev server with a client and workers for end-to-end
tests (the pytest plugin offers it as the ``workflow_env`` / ``workflow_client`` fixtures).
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from dw_testing.local import LocalServerEnvironment

__all__ = [
    "ContinueAsNewLimitExceeded",
    "IterationLimitExceeded",
    "LocalServerEnvironment",
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


def __getattr__(name: str) -> Any:
    # Loaded on first use: it pulls in the dev server, which harness-only tests do not need.
    if name == "LocalServerEnvironment":
        from dw_testing.local import LocalServerEnvironment

        return LocalServerEnvironment
    raise AttributeError(f"module 'durable_workflow.testing' has no attribute {name!r}")
