"""An in-memory history writer that reacts to wire commands the way the server does.

:class:`HistorySimulator` keeps one run's history (``history-events.md`` shapes: ``id``,
``sequence``, ``event_type``, ``payload``, ``recorded_at``). Feed it the wire commands of a
workflow task with :meth:`~HistorySimulator.complete_workflow_task` (step numbers assigned as the
engine does: ``last sequence + 1``, then one per non-terminal command), then resolve what is open
(:meth:`complete_activity`, :meth:`fire_timer`, :meth:`complete_child`, ...), deliver
:meth:`signal` / :meth:`accept_update`, and read :attr:`events`. It knows the signal-resume rule
of ``commands.md`` §1.1 (a task resumed by a signal that opens no condition wait satisfies the
latest open wait).

It is what unit tests, property tests, benchmarks and an in-process ``WorkflowEnvironment`` use
to run workflows without a server. It stores what it is given; it does not validate commands
beyond the batch rules (the command classes validate themselves before conversion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from dw_core import protocol, serializer

__all__ = ["HistorySimulator", "OpenStep"]


@dataclass
class OpenStep:
    """A scheduled step without a result yet."""

    kind: str
    """``activity``, ``timer``, ``child`` or ``condition_wait``."""
    number: int
    """Its step number (``payload.sequence`` of its events)."""
    command: dict[str, Any]
    """The wire command that opened it."""
    wait_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class HistorySimulator:
    """One run's history, extended by wire commands and by what happens outside the workflow."""

    def __init__(
        self,
        *,
        workflow_type: str,
        workflow_id: str = "wf-1",
        run_id: str = "run-1",
        start_input: Sequence[Any] | None = None,
        task_queue: str = "default",
        codec: str = serializer.AVRO_CODEC,
        start_time: datetime | None = None,
        event_spacing: timedelta = timedelta(milliseconds=1),
    ) -> None:
        self.workflow_type = workflow_type
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.task_queue = task_queue
        self.codec = codec
        self.start_input = list(start_input or [])
        self.events: list[dict[str, Any]] = []
        self.open_steps: dict[int, OpenStep] = {}
        self.closed = False
        self._clock = start_time or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._spacing = event_spacing
        self._ids = 0
        self._resumed_by_signal = False
        self._open_waits: list[OpenStep] = []
        self._updates: dict[str, dict[str, Any]] = {}
        arguments = serializer.encode(self.start_input, codec)
        self._append(
            protocol.START_ACCEPTED,
            {
                "workflow_instance_id": workflow_id,
                "workflow_run_id": run_id,
                "workflow_type": workflow_type,
                "workflow_class": workflow_type,
                "outcome": "started_new",
            },
        )
        self._append(
            protocol.WORKFLOW_STARTED,
            {
                "workflow_instance_id": workflow_id,
                "workflow_run_id": run_id,
                "workflow_type": workflow_type,
                "workflow_class": workflow_type,
                "timestamp": self._timestamp(),
                "arguments": arguments,
                "payload_codec": codec,
            },
        )

    # -- helpers ---------------------------------------------------------------------------------------

    @property
    def last_sequence(self) -> int:
        """Sequence of the last event written."""
        return len(self.events)

    def _timestamp(self) -> str:
        return self._clock.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance_clock(self, delta: timedelta) -> None:
        """Move the simulated wall clock forward (e.g. before a timer fires)."""
        self._clock += delta

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def _append(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._clock += self._spacing
        event = {
            "id": f"evt-{len(self.events) + 1:06d}",
            "sequence": len(self.events) + 1,
            "event_type": event_type,
            "payload": payload,
            "recorded_at": self._timestamp(),
        }
        self.events.append(event)
        return event

    def _blob(self, value: Any) -> str:
        return serializer.encode(value, self.codec)

    @staticmethod
    def _payload_blob(value: Any) -> Any:
        if isinstance(value, Mapping) and "blob" in value:
            return value["blob"]
        return value

    def _step(self, number: int, kind: str) -> OpenStep:
        step = self.open_steps.get(number)
        if step is None or step.kind != kind:
            open_now = {n: s.kind for n, s in self.open_steps.items()}
            raise KeyError(f"no open {kind} step {number}; open steps: {open_now}")
        return step

    def steps(self, kind: str | None = None) -> list[OpenStep]:
        """Open steps (optionally of one kind) in step-number order."""
        return [step for number, step in sorted(self.open_steps.items()) if kind is None or step.kind == kind]

    # -- a workflow task completes -----------------------------------------------------------------

    def complete_workflow_task(self, commands: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Apply one workflow task's wire commands; returns the events written."""
        if self.closed:
            raise RuntimeError("the run is closed; no workflow task can complete")
        if not commands:
            raise ValueError("commands must be a non-empty list (the server answers 422)")
        terminal = [c for c in commands if c.get("type") in protocol.TERMINAL_COMMAND_TYPES]
        if len(terminal) > 1:
            raise ValueError("at most one terminal command per task (the server answers invalid_commands)")
        first = len(self.events)
        if self._resumed_by_signal and not any(
            c.get("type") == protocol.COMMAND_OPEN_CONDITION_WAIT for c in commands
        ):
            self._satisfy_latest_wait()
        self._resumed_by_signal = False
        number = self.last_sequence + 1
        for command in commands:
            if command.get("type") in protocol.TERMINAL_COMMAND_TYPES:
                continue
            self._apply_command(command, number)
            number += 1
        if terminal:
            self._apply_terminal(terminal[0])
        return self.events[first:]

    def _satisfy_latest_wait(self) -> None:
        if not self._open_waits:
            return
        wait = self._open_waits.pop()
        self.open_steps.pop(wait.number, None)
        details = wait.details
        self._append(
            protocol.CONDITION_WAIT_SATISFIED,
            {
                "condition_wait_id": wait.wait_id,
                "condition_key": details.get("condition_key"),
                "sequence": wait.number,
            },
        )
        if details.get("timeout_seconds"):
            self._append(
                protocol.TIMER_CANCELLED,
                {
                    "timer_kind": "condition_timeout",
                    "condition_wait_id": wait.wait_id,
                    "sequence": wait.number,
                },
            )

    def _apply_command(self, command: Mapping[str, Any], number: int) -> None:
        kind = command.get("type")
        wire = dict(command)
        if kind == protocol.COMMAND_SCHEDULE_ACTIVITY:
            execution_id = self._next_id("act")
            self._append(
                protocol.ACTIVITY_SCHEDULED,
                {
                    "activity_execution_id": execution_id,
                    "activity_type": command["activity_type"],
                    "activity_class": command["activity_type"],
                    "sequence": number,
                },
            )
            self.open_steps[number] = OpenStep(
                "activity", number, wire, details={"activity_execution_id": execution_id}
            )
        elif kind == protocol.COMMAND_START_TIMER:
            timer_id = self._next_id("timer")
            self._append(
                protocol.TIMER_SCHEDULED,
                {"timer_id": timer_id, "sequence": number, "delay_seconds": command["delay_seconds"]},
            )
            self.open_steps[number] = OpenStep("timer", number, wire, details={"timer_id": timer_id})
        elif kind == protocol.COMMAND_START_CHILD_WORKFLOW:
            child_id = self._next_id("child")
            common = {
                "sequence": number,
                "child_workflow_instance_id": child_id,
                "child_workflow_run_id": f"{child_id}-run-1",
                "child_workflow_type": command["workflow_type"],
                "child_workflow_class": command["workflow_type"],
            }
            self._append(
                protocol.CHILD_WORKFLOW_SCHEDULED,
                {**common, "parent_close_policy": command.get("parent_close_policy", "abandon")},
            )
            self._append(protocol.CHILD_RUN_STARTED, {**common, "child_status": "pending"})
            self.open_steps[number] = OpenStep("child", number, wire, details=common)
        elif kind == protocol.COMMAND_OPEN_CONDITION_WAIT:
            wait_id = self._next_id("wait")
            payload: dict[str, Any] = {"condition_wait_id": wait_id, "sequence": number}
            for key in ("condition_key", "condition_definition_fingerprint", "timeout_seconds"):
                if command.get(key) is not None:
                    payload[key] = command[key]
            self._append(protocol.CONDITION_WAIT_OPENED, payload)
            if command.get("timeout_seconds"):
                self._append(
                    protocol.TIMER_SCHEDULED,
                    {
                        "timer_id": self._next_id("timer"),
                        "sequence": number,
                        "delay_seconds": command["timeout_seconds"],
                        "timer_kind": "condition_timeout",
                        "condition_wait_id": wait_id,
                    },
                )
            step = OpenStep("condition_wait", number, wire, wait_id=wait_id, details=payload)
            self.open_steps[number] = step
            self._open_waits.append(step)
        elif kind == protocol.COMMAND_RECORD_SIDE_EFFECT:
            self._append(protocol.SIDE_EFFECT_RECORDED, {"sequence": number, "result": command["result"]})
        elif kind == protocol.COMMAND_RECORD_VERSION_MARKER:
            self._append(
                protocol.VERSION_MARKER_RECORDED,
                {
                    "sequence": number,
                    "change_id": command["change_id"],
                    "version": command["version"],
                    "min_supported": command["min_supported"],
                    "max_supported": command["max_supported"],
                },
            )
        elif kind == protocol.COMMAND_UPSERT_SEARCH_ATTRIBUTES:
            self._append(
                protocol.SEARCH_ATTRIBUTES_UPSERTED,
                {"sequence": number, "attributes": dict(command["attributes"])},
            )
        elif kind in (protocol.COMMAND_COMPLETE_UPDATE, protocol.COMMAND_FAIL_UPDATE):
            update = self._updates.pop(command["update_id"])
            common = {
                "update_id": command["update_id"],
                "update_name": update["update_name"],
                "sequence": number,
            }
            if kind == protocol.COMMAND_COMPLETE_UPDATE:
                self._append(protocol.UPDATE_APPLIED, {**common, "arguments": update.get("arguments")})
                self._append(protocol.UPDATE_COMPLETED, {**common, "result": command.get("result")})
            else:
                self._append(
                    protocol.UPDATE_COMPLETED,
                    {
                        **common,
                        "message": command.get("message"),
                        "exception_type": command.get("exception_type"),
                    },
                )
        else:
            raise ValueError(f"the simulator does not know command type {kind!r}")

    def _apply_terminal(self, command: Mapping[str, Any]) -> None:
        kind = command["type"]
        self.closed = True
        if kind == protocol.COMMAND_COMPLETE_WORKFLOW:
            result = command.get("result")
            codec = result.get("codec", self.codec) if isinstance(result, Mapping) else self.codec
            self._append(
                protocol.WORKFLOW_COMPLETED, {"output": self._payload_blob(result), "payload_codec": codec}
            )
        elif kind == protocol.COMMAND_FAIL_WORKFLOW:
            self._append(
                protocol.WORKFLOW_FAILED,
                {
                    "message": command.get("message"),
                    "exception_type": command.get("exception_type"),
                    "failure_category": "application",
                },
            )
        else:
            self._append(
                protocol.WORKFLOW_CONTINUED_AS_NEW,
                {"sequence": self.last_sequence + 1, "closed_reason": "continued"},
            )

    # -- the outside world ------------------------------------------------------------------------------

    def start_activity(self, number: int, attempt: int = 1) -> None:
        """An activity worker claimed attempt ``attempt`` of step ``number``."""
        step = self._step(number, "activity")
        self._append(
            protocol.ACTIVITY_STARTED,
            {
                "activity_execution_id": step.details["activity_execution_id"],
                "activity_type": step.command["activity_type"],
                "activity_attempt_id": self._next_id("attempt"),
                "attempt_number": attempt,
                "sequence": number,
            },
        )

    def complete_activity(self, number: int, result: Any = None) -> None:
        """Step ``number``'s activity returned ``result``."""
        step = self._step(number, "activity")
        del self.open_steps[number]
        self._append(
            protocol.ACTIVITY_COMPLETED,
            {
                "activity_execution_id": step.details["activity_execution_id"],
                "activity_type": step.command["activity_type"],
                "sequence": number,
                "result": self._blob(result),
                "payload_codec": self.codec,
            },
        )

    def fail_activity(
        self,
        number: int,
        message: str,
        *,
        exception_type: str | None = None,
        non_retryable: bool = False,
        timed_out: bool = False,
    ) -> None:
        """Step ``number``'s activity failed for good (or timed out)."""
        step = self._step(number, "activity")
        del self.open_steps[number]
        payload = {
            "activity_execution_id": step.details["activity_execution_id"],
            "activity_type": step.command["activity_type"],
            "sequence": number,
            "message": message,
            "failure_category": "timeout" if timed_out else "activity",
        }
        if exception_type is not None:
            payload["exception_type"] = exception_type
        if non_retryable:
            payload["non_retryable"] = True
        self._append(protocol.ACTIVITY_TIMED_OUT if timed_out else protocol.ACTIVITY_FAILED, payload)

    def fire_timer(self, number: int) -> None:
        """Step ``number``'s timer fired."""
        step = self._step(number, "timer")
        del self.open_steps[number]
        self._append(
            protocol.TIMER_FIRED,
            {"timer_id": step.details["timer_id"], "sequence": number, "fired_at": self._timestamp()},
        )

    def complete_child(self, number: int, result: Any = None) -> None:
        """Step ``number``'s child run completed with ``result``."""
        step = self._step(number, "child")
        del self.open_steps[number]
        blob = self._blob(result)
        self._append(
            protocol.CHILD_RUN_COMPLETED,
            {
                **step.details,
                "child_status": "completed",
                "output": blob,
                "result": blob,
                "payload_codec": self.codec,
            },
        )

    def fail_child(self, number: int, message: str = "child failed", *, outcome: str = "failed") -> None:
        """Step ``number``'s child run ``failed``, was ``cancelled`` or ``terminated``."""
        step = self._step(number, "child")
        del self.open_steps[number]
        event = {
            "failed": protocol.CHILD_RUN_FAILED,
            "cancelled": protocol.CHILD_RUN_CANCELLED,
            "terminated": protocol.CHILD_RUN_TERMINATED,
        }[outcome]
        self._append(event, {**step.details, "child_status": outcome, "message": message})

    def time_out_wait(self, number: int) -> None:
        """The timeout timer of condition wait step ``number`` fired."""
        step = self._step(number, "condition_wait")
        del self.open_steps[number]
        self._open_waits = [wait for wait in self._open_waits if wait is not step]
        self._append(
            protocol.TIMER_FIRED,
            {"sequence": number, "timer_kind": "condition_timeout", "condition_wait_id": step.wait_id},
        )

    def signal(self, name: str, args: Sequence[Any] | None = None) -> None:
        """A signal was accepted (arguments on the event, as engine head writes them)."""
        self._append(
            protocol.SIGNAL_RECEIVED,
            {
                "signal_name": name,
                "signal_id": self._next_id("signal"),
                "arguments": self._blob(list(args or [])),
                "payload_codec": self.codec,
            },
        )
        self._resumed_by_signal = True

    def accept_update(self, update_id: str, name: str, args: Sequence[Any] | None = None) -> None:
        """An update was accepted; a workflow task with ``workflow_update_id`` follows."""
        arguments = self._blob(list(args or []))
        self._updates[update_id] = {"update_name": name, "arguments": arguments}
        self._append(
            protocol.UPDATE_ACCEPTED,
            {
                "update_id": update_id,
                "update_name": name,
                "arguments": arguments,
                "payload_codec": self.codec,
            },
        )
