"""Testing helpers for Durable Workflow.

* :class:`WorkflowEnvironment` — run a workflow to its end in process against mocked activities
  (no server, no worker, no real clock).
* :func:`replay_history`, :func:`replay_history_file`, :class:`Replayer` — check workflow code
  against captured histories.
* :class:`LocalServerEnvironment` — the embedded dev server in process, a connected client and
  workers, with time skipping (``dw_testing.local``); the pytest plugin exposes it as fixtures.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_testing.environment import WorkflowEnvironment, WorkflowRunRecord
from dw_testing.errors import (
    ContinueAsNewLimitExceeded,
    IterationLimitExceeded,
    MissingMockError,
    NonDeterministicWorkflowError,
    UnregisteredWorkflowError,
    UnsatisfiableWaitError,
    WorkflowStuckError,
)
from dw_testing.replay import Replayer, ReplayOutcome, replay_history, replay_history_file

try:
    __version__ = version("dw-testing")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

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
    "__version__",
    "replay_history",
    "replay_history_file",
]
