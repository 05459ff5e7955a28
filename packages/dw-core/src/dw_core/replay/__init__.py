"""The replay engine: live state of a workflow run, advanced incrementally by history events.

Public interface (used by the worker's sticky cache, the testing package and the replay helpers):

* :class:`WorkflowRunState` — built from a ``@workflow.defn`` class and the run identity
  (``workflow_id``, ``run_id``, ``workflow_type``, decoded ``start_input``, ``payload_codec``,
  ``task_queue``, ``namespace``).

  - ``state.apply(events)`` applies events that follow the ones already applied (dicts of
    ``history-events.md`` §1.1); ``state.extend(history)`` takes a task's *whole* history and
    applies only the suffix not applied yet. Both raise :class:`HistoryMismatchError` (state
    untouched) when the events do not extend what was applied: fall back to a fresh state.
  - ``state.commands()`` -> command objects still to send; ``state.wire_commands(task_queue)`` ->
    the wire dicts of ``commands.md``, never empty (a no-op marker when nothing is new).
  - ``state.applied_count``, ``state.last_sequence``, ``state.last_event_id``: how far it got.
  - ``state.query(name, args)``: a query against the replayed state (emits nothing).
  - ``state.handle_update(update_id)``: an accepted update's ``CompleteUpdate``/``FailUpdate``.
  - ``state.is_finished`` / ``state.terminal``; ``state.reusable`` (False after an error: do not
    cache it).

  A full replay is ``WorkflowRunState(...)`` + ``apply(all events)``; the incremental path
  applies only new events to a kept state. Both give the same commands and results; a step costs
  time proportional to the new events.
* :class:`HistorySimulator` (``dw_core.replay.simulator``) — writes the events a server would write
  for wire commands, activity results, timers, signals and updates, for tests and in-process
  environments.
"""

from dw_core.replay.simulator import HistorySimulator, OpenStep
from dw_core.replay.state import HistoryMismatchError, ReplayStateUnusableError, WorkflowRunState

__all__ = [
    "HistoryMismatchError",
    "HistorySimulator",
    "OpenStep",
    "ReplayStateUnusableError",
    "WorkflowRunState",
]
