"""The worker's narrow view of the replay engine (``dw_core.replay``, ARCHITECTURE §4).

One place that knows how a polled task maps onto a :class:`WorkflowRunState` and how the engine's
commands become the wire commands a task completes with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dw_core.replay import HistoryMismatchError, WorkflowRunState
from dw_core.workflow import commands_to_server_commands, definition_fingerprint

from dw_worker.payloads import PayloadOptions

__all__ = [
    "HistoryMismatchError",
    "WorkflowRunState",
    "applied_sequence",
    "definition_fingerprint",
    "is_closing",
    "new_run_state",
    "update_commands",
    "wire_commands",
]

CLOSING_COMMAND_TYPES = frozenset({"complete_workflow", "fail_workflow", "continue_as_new"})


def new_run_state(
    cls: type,
    *,
    workflow_id: str,
    run_id: str,
    workflow_type: str,
    start_input: Any,
    payload_codec: str,
    task_queue: str,
    namespace: str | None,
    payloads: PayloadOptions,
) -> WorkflowRunState:
    """A fresh run state (nothing applied yet) for one run."""
    return WorkflowRunState(
        cls,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        start_input=start_input,
        payload_codec=payload_codec,
        task_queue=task_queue,
        namespace=namespace,
        external_storage=payloads.external_storage,
        external_storage_cache=payloads.external_storage_cache,
    )


def applied_sequence(state: WorkflowRunState) -> int:
    """History ``sequence`` of the last event the state applied (0 when none)."""
    return state.last_sequence or 0


def wire_commands(
    state: WorkflowRunState, *, task_queue: str, payload_codec: str, payloads: PayloadOptions
) -> list[dict[str, Any]]:
    """The commands to complete the task with (never empty)."""
    return state.wire_commands(
        task_queue,
        payload_codec=payload_codec,
        **payloads.storage_kwargs(),
    )


def update_commands(
    state: WorkflowRunState, update_id: str, *, task_queue: str, payload_codec: str, payloads: PayloadOptions
) -> list[dict[str, Any]]:
    """Apply the accepted update ``update_id``: exactly one ``complete_update``/``fail_update``."""
    command = state.handle_update(update_id)
    return commands_to_server_commands(
        [command], task_queue, payload_codec=payload_codec, **payloads.storage_kwargs()
    )


def is_closing(commands: Sequence[dict[str, Any]]) -> bool:
    """Whether the batch ends the run (so its state is not worth caching)."""
    return any(command.get("type") in CLOSING_COMMAND_TYPES for command in commands)
