"""Testing helpers for Durable Workflow.

* :class:`WorkflowEnvironment` — run a workflow to its end in process against mocked activities
  (no server, no worker, no real clock).
* :func:`replay_history`, :func:`replay_history_file`, :class:`Replayer` — check workflow code
  against captured histories.
* :class:`LocalServerEnvironment` — the embedded dev server in process, a connected client and
  workers, with time skipping (``dw_testing.local``); the pytest plugin exposes it as fixtures.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from dw_testing.local import LocalServerEnvironment

try:
    __version__ = version("dw-testing")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

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
    "__version__",
    "replay_history",
    "replay_history_file",
]


def __getattr__(name: str) -> Any:
    # The local environment pulls in the dev server (uvicorn, starlette): load it on first use so
    # in-process harness tests stay light.
    if name == "LocalServerEnvironment":
        from dw_testing.local import LocalServerEnvironment

        return LocalServerEnvironment
    raise AttributeError(f"module 'dw_testing' has no attribute {name!r}")
