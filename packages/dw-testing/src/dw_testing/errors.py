"""Errors the in-process ``WorkflowEnvironment`` raises when a test cannot be driven to its end.

Each one says what the test forgot and how to fix it. They subclass the exception types the
published 0.4.84 harness raised (``KeyError`` for missing mocks, ``RuntimeError`` for limits), so
existing ``pytest.raises(KeyError)`` / ``pytest.raises(RuntimeError)`` checks keep working.
"""

from __future__ import annotations

__all__ = [
    "ContinueAsNewLimitExceeded",
    "IterationLimitExceeded",
    "MissingMockError",
    "NonDeterministicWorkflowError",
    "UnregisteredWorkflowError",
    "UnsatisfiableWaitError",
    "WorkflowStuckError",
]


class _ReadableKeyError(KeyError):
    """``KeyError`` whose ``str()`` is the message itself, not its ``repr``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingMockError(_ReadableKeyError):
    """The workflow scheduled an activity or child workflow that the test registered no mock for."""

    def __init__(self, message: str, *, kind: str, name: str) -> None:
        super().__init__(message)
        self.kind = kind
        """``"activity"`` or ``"child workflow"``."""
        self.name = name
        """The activity type or child workflow type without a mock."""


class UnregisteredWorkflowError(_ReadableKeyError):
    """``continue_as_new(workflow_type=...)`` named a type no registered class has."""

    def __init__(self, message: str, *, workflow_type: str) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type


class IterationLimitExceeded(RuntimeError):
    """A run needed more workflow tasks than ``iteration_limit`` allows (a runaway loop?)."""

    def __init__(self, message: str, *, workflow_type: str, limit: int) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type
        self.limit = limit


class ContinueAsNewLimitExceeded(RuntimeError):
    """A continue-as-new chain grew past ``continue_as_new_limit`` links."""

    def __init__(self, message: str, *, workflow_type: str, limit: int) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type
        self.limit = limit


class WorkflowStuckError(RuntimeError):
    """The workflow waits for something the environment will never deliver."""

    def __init__(self, message: str, *, workflow_type: str) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type


class UnsatisfiableWaitError(WorkflowStuckError):
    """The workflow waits on a ``wait_condition`` that nothing queued can make true."""

    def __init__(
        self, message: str, *, workflow_type: str, condition_key: str | None, condition: str
    ) -> None:
        super().__init__(message, workflow_type=workflow_type)
        self.condition_key = condition_key
        """The ``key=`` of the wait (``None`` when the workflow gave none)."""
        self.condition = condition
        """Where the predicate is defined (qualified name, file and line)."""


class NonDeterministicWorkflowError(RuntimeError):
    """Replaying a finished run's history from scratch did not reach the end the run reached."""

    def __init__(self, message: str, *, workflow_type: str) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type
