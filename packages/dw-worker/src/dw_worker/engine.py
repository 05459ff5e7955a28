"""The worker's narrow view of the replay engine in ``dw_core.replay`` (ARCHITECTURE §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dw_core.workflow.definition import definition_fingerprint

__all__ = [
    "HistoryMismatch",
    "UnknownQuery",
    "applied_sequence",
    "apply",
    "apply_update",
    "commands",
    "definition_fingerprint",
    "is_closing",
    "new_run_state",
    "query",
]

CLOSING_COMMAND_TYPES = frozenset({"complete_workflow", "fail_workflow", "continue_as_new"})


class HistoryMismatch(Exception):
    """The events handed to a run state do not continue what it has applied."""


class UnknownQuery(LookupError):
    """The workflow has no query handler of that name."""


def is_closing(commands: Sequence[dict[str, Any]]) -> bool:
    """Whether the batch ends the run (so its state is not worth caching)."""
    return any(command.get("type") in CLOSING_COMMAND_TYPES for command in commands)


def new_run_state(cls: type, **identity: Any) -> Any:
    raise NotImplementedError("waiting for dw_core.replay")


def applied_sequence(state: Any) -> int:
    raise NotImplementedError("waiting for dw_core.replay")


def apply(state: Any, events: Sequence[dict[str, Any]]) -> None:
    raise NotImplementedError("waiting for dw_core.replay")


def commands(state: Any) -> list[dict[str, Any]]:
    raise NotImplementedError("waiting for dw_core.replay")


def apply_update(state: Any, update_id: str) -> list[dict[str, Any]]:
    raise NotImplementedError("waiting for dw_core.replay")


def query(state: Any, name: str, args: Sequence[Any]) -> Any:
    raise NotImplementedError("waiting for dw_core.replay")
