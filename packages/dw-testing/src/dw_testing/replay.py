"""Replaying captured histories against current workflow code (re-exported from ``dw_core.workflow``).

``replay_history(MyWorkflow, events)`` / ``replay_history_file(MyWorkflow, "history.json")`` raise
``NonDeterministicReplayError`` when the code no longer matches what history recorded;
``Replayer(workflows=[...])`` picks the class by the history's workflow type.
"""

from dw_core.workflow import Replayer, ReplayOutcome, replay_history, replay_history_file

__all__ = ["ReplayOutcome", "Replayer", "replay_history", "replay_history_file"]
