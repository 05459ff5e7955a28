"""Offline replay helpers: ``replay``, ``Replayer``, ``query_state``, ``apply_update``, ``replay_history``."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dw_core import protocol
from dw_core.errors import QueryFailed
from dw_core.replay.events import decode_value, event_payload, event_type
from dw_core.workflow.commands import (
    Command,
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailUpdate,
    FailWorkflow,
)
from dw_core.workflow.definition import get_definition

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver
    from dw_core.replay.state import WorkflowRunState

__all__ = [
    "ReplayOutcome",
    "Replayer",
    "apply_update",
    "query_state",
    "replay",
    "replay_history",
    "replay_history_file",
]


@dataclass
class ReplayOutcome:
    """What a workflow would send next for the replayed history."""

    commands: list[Command] = field(default_factory=list)

    @property
    def terminal(self) -> Command | None:
        """The terminal command (complete, fail or continue-as-new), when the run reached one."""
        if self.commands and isinstance(self.commands[-1], (CompleteWorkflow, FailWorkflow, ContinueAsNew)):
            return self.commands[-1]
        return None


def _events(history: object) -> list[Mapping[str, Any]]:
    if isinstance(history, Mapping):
        for key in ("events", "history_events", "history"):
            value = history.get(key)
            if isinstance(value, list):
                return value
        raise ValueError(
            "history mapping has no 'events', 'history_events' or 'history' list; pass the event list itself"
        )
    if isinstance(history, (str, bytes)):
        raise ValueError("history must be a list of event objects (load the JSON first)")
    if not isinstance(history, Iterable):
        raise ValueError(f"history must be a list of event objects, got {type(history).__name__}")
    return list(history)


def _state(
    workflow_cls: type,
    history_events: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    start_input: Any,
    *,
    workflow_id: str | None,
    run_id: str,
    payload_codec: str | None,
    external_storage: ExternalStorageDriver | None,
    external_storage_cache: ExternalPayloadCache | None,
) -> WorkflowRunState:
    # Imported here: the engine imports this package's command classes.
    from dw_core.replay.state import WorkflowRunState

    state = WorkflowRunState(
        workflow_cls,
        workflow_id=workflow_id or "",
        run_id=run_id,
        start_input=start_input,
        payload_codec=payload_codec,
        external_storage=external_storage,
        external_storage_cache=external_storage_cache,
    )
    state.apply(_events(history_events))
    return state


def replay(
    workflow_cls: type,
    history_events: Iterable[Mapping[str, Any]],
    start_input: list[Any] | None,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> ReplayOutcome:
    """Re-run ``workflow_cls`` against recorded history and return what it would send next.

    Workflow exceptions become ``FailWorkflow``; history/code divergence raises
    ``NonDeterministicReplayError``.
    """
    state = _state(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        payload_codec=payload_codec,
        external_storage=external_storage,
        external_storage_cache=external_storage_cache,
    )
    return ReplayOutcome(commands=state.commands())


def _start_input_from(events: Sequence[Mapping[str, Any]], payload_codec: str | None) -> list[Any] | None:
    for event in events:
        if event_type(event) != protocol.WORKFLOW_STARTED:
            continue
        payload = event_payload(event)
        codec = (
            payload.get("payload_codec") if isinstance(payload.get("payload_codec"), str) else payload_codec
        )
        for key in ("input_envelope", "input", "arguments"):
            raw = payload.get(key)
            if raw is None:
                continue
            if isinstance(raw, list):
                return raw
            value = decode_value(raw, codec)
            return value if isinstance(value, list) else [value]
        return None
    return None


def _workflow_type_from(events: Sequence[Mapping[str, Any]]) -> str | None:
    for event in events:
        value = event_payload(event).get("workflow_type")
        if isinstance(value, str) and value:
            return value
    return None


class Replayer:
    """Replays histories of several registered workflow classes, inferring type and input."""

    def __init__(self, *, workflows: Iterable[type]) -> None:
        self._by_type: dict[str, type] = {}
        for cls in workflows:
            name = get_definition(cls).name
            if name in self._by_type and self._by_type[name] is not cls:
                raise ValueError(f"two workflow classes are registered as type {name!r}")
            self._by_type[name] = cls
        if not self._by_type:
            raise ValueError(
                "Replayer needs at least one @workflow.defn class: Replayer(workflows=[MyWorkflow])"
            )

    def replay(
        self,
        history: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        start_input: list[Any] | None = None,
        *,
        workflow_type: str | None = None,
        workflow_id: str | None = None,
        run_id: str = "",
        payload_codec: str | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
    ) -> ReplayOutcome:
        """Replay ``history`` (an event list or a mapping holding one) with the matching class.

        The type comes from ``workflow_type``, else the first event naming one, else the only
        registered class; the input from ``start_input``, else the ``WorkflowStarted`` payload.
        """
        events = _events(history)
        name = workflow_type or _workflow_type_from(events)
        if name is None:
            if len(self._by_type) != 1:
                raise ValueError(
                    f"history names no workflow_type and {len(self._by_type)} classes are registered; "
                    "pass workflow_type="
                )
            cls = next(iter(self._by_type.values()))
        else:
            found = self._by_type.get(name)
            if found is None:
                raise ValueError(
                    f"no workflow registered for type {name!r}; registered: {sorted(self._by_type)}"
                )
            cls = found
        if start_input is None:
            start_input = _start_input_from(events, payload_codec)
        if run_id == "" and isinstance(history, Mapping) and isinstance(history.get("run_id"), str):
            run_id = history["run_id"]
        return replay(
            cls,
            events,
            start_input,
            workflow_id=workflow_id,
            run_id=run_id,
            payload_codec=payload_codec,
            external_storage=external_storage,
            external_storage_cache=external_storage_cache,
        )


def query_state(
    workflow_cls: type,
    history_events: Iterable[Mapping[str, Any]],
    start_input: list[Any] | None,
    query_name: str,
    args: list[Any] | None = None,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> Any:
    """Replay, then answer query ``query_name``; failures raise ``QueryFailed``."""
    try:
        state = _state(
            workflow_cls,
            history_events,
            start_input,
            workflow_id=workflow_id,
            run_id=run_id,
            payload_codec=payload_codec,
            external_storage=external_storage,
            external_storage_cache=external_storage_cache,
        )
    except Exception as exc:
        raise QueryFailed(
            f"workflow replay failed before query: {exc}", reason="query_workflow_state_unavailable"
        ) from exc
    result = state.query(query_name, list(args or []))
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def apply_update(
    workflow_cls: type,
    history_events: Iterable[Mapping[str, Any]],
    start_input: list[Any] | None,
    update_id: str,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> CompleteUpdate | FailUpdate:
    """Replay, then run accepted update ``update_id`` (validator, handler) as an update task does."""
    try:
        state = _state(
            workflow_cls,
            history_events,
            start_input,
            workflow_id=workflow_id,
            run_id=run_id,
            payload_codec=payload_codec,
            external_storage=external_storage,
            external_storage_cache=external_storage_cache,
        )
    except Exception as exc:
        return FailUpdate(update_id, f"replay failed before update: {exc}", exception_type=type(exc).__name__)
    return state.handle_update(update_id)


def replay_history(
    workflow_cls: type,
    history_events: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    start_input: list[Any] | None = None,
    *,
    run_id: str = "",
    payload_codec: str | None = None,
) -> ReplayOutcome:
    """Replay a captured history (input inferred from ``WorkflowStarted`` when not given)."""
    events = _events(history_events)
    if start_input is None:
        start_input = _start_input_from(events, payload_codec)
    return replay(workflow_cls, events, start_input, run_id=run_id, payload_codec=payload_codec)


def replay_history_file(
    workflow_cls: type,
    path: str | Path,
    start_input: list[Any] | None = None,
    *,
    run_id: str = "",
    payload_codec: str | None = None,
) -> ReplayOutcome:
    """Load a JSON history file (an event list or ``{"events": [...]}``) and replay it."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return replay_history(workflow_cls, data, start_input, run_id=run_id, payload_codec=payload_codec)
