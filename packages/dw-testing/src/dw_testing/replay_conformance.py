"""Replay conformance evidence for the Python runtime (``durable-workflow.v2.replay-conformance.result``).

:func:`compose_report` runs in-process scenarios and reports each as ``pass`` / ``fail``:

* runs of :class:`ReplayConformanceWorkflow` (one per family: activity, signal-update,
  wait-condition, version-marker, saga-compensation) are recorded the way a live worker writes
  them: one kept replay state answering every workflow task against a simulated server history;
* *completed-history replay*: the finished history replays in a fresh state to a
  ``CompleteWorkflow`` with the expected workflow state;
* *worker restart*: a fresh state rebuilt from the history at a checkpoint (and the completed run's
  query) gives the same state and the same next decision as the worker that never restarted;
* *adversarial replay*: changed code, a history mutated after export, and a malformed export are
  all refused;
* *in-flight timing*: a worker restarted right after a signal arrived makes the same decision;
* *published artifact install*: the versions and install channels given for ``server``, ``cli``,
  ``workflow-php``, ``sdk-python`` and ``waterline`` are pinned, published artifacts.

Every non-passing scenario yields a finding. CLI: ``durable-workflow-replay-conformance
[--artifact-version ACTOR=VERSION]... [--artifact-source ACTOR=SOURCE]... [--output PATH]``;
exit 1 when any scenario did not pass.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dw_core.errors import ChildWorkflowFailed
from dw_core.replay import HistorySimulator, WorkflowRunState
from dw_core.workflow import (
    CompleteWorkflow,
    WorkflowContext,
    commands_to_server_commands,
    defn,
    query,
    query_state,
    replay_history,
    signal,
    update,
)

from dw_testing import history_bundle_verify, replay_verify

__all__ = [
    "COVERAGE_SCOPE",
    "RESULT_SCHEMA",
    "RESULT_VERSION",
    "ReplayConformanceDivergentWorkflow",
    "ReplayConformanceWorkflow",
    "compose_report",
    "main",
]

RESULT_SCHEMA = "durable-workflow.v2.replay-conformance.result"
RESULT_VERSION = 1
COVERAGE_SCOPE = "sdk-python-runtime-shard"
WORKFLOW_TYPE = "python-replay-conformance"
RUNTIME = "sdk-python"

REQUIRED_ARTIFACTS = ("server", "cli", "workflow-php", "sdk-python", "waterline")
#: Install channels that count as published artifacts, per artifact (compared after normalising
#: case and punctuation to ``snake_case``).
PUBLISHED_ARTIFACT_SOURCES: Mapping[str, frozenset[str]] = {
    "server": frozenset(
        {"docker_image", "docker_registry", "oci_image", "published_docker_image", "registry_image"}
    ),
    "cli": frozenset({"github_release", "github_release_asset", "official_install_script", "release_asset"}),
    "workflow-php": frozenset({"composer", "composer_package", "packagist", "packagist_package"}),
    "sdk-python": frozenset({"pip_package", "pypi", "pypi_package", "python_package"}),
    "waterline": frozenset({"composer", "composer_package", "packagist", "packagist_package"}),
}
#: Channels that are never a published artifact (a developer's tree, not what users install).
FORBIDDEN_SOURCE_WORDS = frozenset(
    {"local", "editable", "path", "file", "git", "checkout", "workspace", "source"}
)
PLACEHOLDER_VERSION_TOKENS = frozenset(
    {"", "current", "head", "latest", "main", "placeholder", "tip", "unresolved"}
)
# Development or local builds: PEP 440 ".devN" / "-dev" suffixes, local labels ("+local"), 0.0.0.
_UNPUBLISHED_VERSION = re.compile(r"(?:^|[.\-_])dev\d*(?:$|[.\-_+])|\+|^0\.0\.0(?:$|[.\-])", re.IGNORECASE)

FAMILIES = ("activity", "signal-update", "wait-condition", "version-marker", "saga-compensation")
COMPLETED_SCENARIOS = tuple(f"python_completed_history_{f.replace('-', '_')}_replay" for f in FAMILIES)
RESTART_SCENARIOS = (
    "python_worker_restart_completed_query",
    *(f"python_worker_restart_{f.replace('-', '_')}_state" for f in FAMILIES),
)
ADVERSARIAL_SCENARIOS = (
    "python_code_divergence_refusal",
    "server_history_mutation_refusal",
    "malformed_history_refusal",
)
IN_FLIGHT_SCENARIOS = ("python_in_flight_signal_restart_timing",)
INSTALL_SCENARIO = "published_artifact_install_only"
SCENARIO_IDS = (
    INSTALL_SCENARIO,
    *COMPLETED_SCENARIOS,
    *RESTART_SCENARIOS,
    *ADVERSARIAL_SCENARIOS,
    *IN_FLIGHT_SCENARIOS,
)


def _initial_state() -> dict[str, Any]:
    return {
        "stage": "started",
        "name": None,
        "greeting": None,
        "approved": False,
        "events": [],
        "version": -1,
        "version_result": None,
        "reservation_id": None,
    }


#: The workflow state each family's completed run must end in.
EXPECTED_STATES: Mapping[str, Mapping[str, Any]] = {
    "activity": {
        **_initial_state(),
        "stage": "completed",
        "greeting": "Hello, Ada!",
        "events": ["activity:Hello, Ada!"],
    },
    "signal-update": {
        **_initial_state(),
        "stage": "completed",
        "name": "Grace",
        "greeting": "Hello, Grace!",
        "events": ["signal:Grace", "activity:Hello, Grace!"],
    },
    "wait-condition": {
        **_initial_state(),
        "stage": "approved",
        "approved": True,
        "events": ["approved", "condition-satisfied"],
    },
    "version-marker": {
        **_initial_state(),
        "stage": "completed",
        "version": 2,
        "version_result": "v3_result",
        "events": ["version:2"],
    },
    "saga-compensation": {
        **_initial_state(),
        "stage": "compensated",
        "reservation_id": "inventory-id-456",
        "events": ["compensated:payment declined"],
    },
}


# Defined before the conforming workflow: both use the same type name, and the process-wide
# registry keeps the last one, which must be the conforming one.
@defn(name=WORKFLOW_TYPE)
class ReplayConformanceDivergentWorkflow:
    """The conformance workflow after an incompatible change: it schedules a different activity."""

    def run(self, ctx: WorkflowContext, family: str) -> Any:
        farewell = yield ctx.schedule_activity("python-replay.farewell", ["Ada"])
        return {"stage": "completed", "greeting": farewell}


@defn(name=WORKFLOW_TYPE)
class ReplayConformanceWorkflow:
    """One workflow per replay family (chosen by its single argument), with a queryable state.

    Signal ``name-provided`` sets the name to greet, update ``approve`` approves the wait, query
    ``currentState`` returns the state dict.
    """

    def __init__(self) -> None:
        self.state = _initial_state()

    @signal("name-provided")
    def name_provided(self, name: str) -> None:
        self.state["name"] = name
        self.state["events"].append(f"signal:{name}")

    @update("approve")
    def approve(self) -> bool:
        self.state["approved"] = True
        self.state["events"].append("approved")
        return True

    @query("currentState")
    def current_state(self) -> dict[str, Any]:
        return {**self.state, "events": list(self.state["events"])}

    def run(self, ctx: WorkflowContext, family: str) -> Any:
        state = self.state
        if family == "activity":
            state["greeting"] = yield ctx.schedule_activity("python-replay.greet", ["Ada"])
            state["events"].append(f"activity:{state['greeting']}")
            state["stage"] = "completed"
        elif family == "signal-update":
            yield ctx.wait_condition(lambda: state["name"] is not None, key="name-provided")
            state["greeting"] = yield ctx.schedule_activity("python-replay.greet", [state["name"]])
            state["events"].append(f"activity:{state['greeting']}")
            state["stage"] = "completed"
        elif family == "wait-condition":
            yield ctx.wait_condition(lambda: state["approved"], key="approval")
            state["events"].append("condition-satisfied")
            state["stage"] = "approved"
        elif family == "version-marker":
            state["version"] = yield ctx.get_version("python-replay-version", 1, 2)
            state["events"].append(f"version:{state['version']}")
            activity = "python-replay.version-v3" if state["version"] == 2 else "python-replay.version-v1"
            state["version_result"] = yield ctx.schedule_activity(activity, [])
            state["stage"] = "completed"
        elif family == "saga-compensation":
            state["reservation_id"] = yield ctx.schedule_activity(
                "python-replay.reserve-inventory", ["order-123"]
            )
            try:
                yield ctx.start_child_workflow("python-replay.payment", ["order-123"])
                state["stage"] = "paid"
            except ChildWorkflowFailed as exc:
                yield ctx.schedule_activity("python-replay.release-inventory", [state["reservation_id"]])
                state["events"].append(f"compensated:{exc}")
                state["stage"] = "compensated"
        else:
            raise ValueError(f"unknown replay family {family!r}; expected one of {', '.join(FAMILIES)}")
        return self.current_state()


# ----------------------------------------------------------------------------------------------
# Recording runs the way a live worker does


_QUEUE = "replay-conformance"
_CODEC = "avro"


@dataclass
class _Checkpoint:
    events: list[dict[str, Any]]
    live_state: dict[str, Any]
    live_next: list[dict[str, Any]]


@dataclass
class _Recording:
    family: str
    run_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    final_state: dict[str, Any] = field(default_factory=dict)
    checkpoints: dict[str, _Checkpoint] = field(default_factory=dict)


class _LiveRun:
    """A run driven by one kept replay state (a worker that never restarts) against a simulated server."""

    def __init__(self, family: str) -> None:
        self.recording = _Recording(family=family, run_id=f"replay-conformance-{family}")
        self.sim = HistorySimulator(
            workflow_type=WORKFLOW_TYPE,
            workflow_id=f"replay-conformance-{family}",
            run_id=self.recording.run_id,
            start_input=[family],
            task_queue=_QUEUE,
            codec=_CODEC,
        )
        self.state = WorkflowRunState(
            ReplayConformanceWorkflow,
            workflow_id=self.sim.workflow_id,
            run_id=self.recording.run_id,
            start_input=[family],
            payload_codec=_CODEC,
            task_queue=_QUEUE,
        )

    def checkpoint(self, name: str) -> None:
        """Remember what the live worker would answer for the history so far."""
        self.state.extend(self.sim.events)
        self.recording.checkpoints[name] = _Checkpoint(
            events=[dict(event) for event in self.sim.events],
            live_state=self.state.query("currentState"),
            live_next=self.state.wire_commands(_QUEUE),
        )

    def task(self) -> None:
        self.state.extend(self.sim.events)
        self.sim.complete_workflow_task(self.state.wire_commands(_QUEUE))

    def update(self, update_id: str, name: str) -> None:
        self.sim.accept_update(update_id, name, [])
        self.state.extend(self.sim.events)
        answer = self.state.handle_update(update_id)
        self.sim.complete_workflow_task(commands_to_server_commands([answer], _QUEUE, payload_codec=_CODEC))

    def open_step(self, kind: str) -> int:
        return self.sim.steps(kind)[0].number

    def finish(self) -> _Recording:
        self.state.extend(self.sim.events)
        self.recording.final_state = self.state.query("currentState")
        self.recording.events = [dict(event) for event in self.sim.events]
        return self.recording


def _record(family: str) -> _Recording:
    run = _LiveRun(family)
    run.task()
    if family == "activity":
        run.sim.complete_activity(run.open_step("activity"), "Hello, Ada!")
    elif family == "signal-update":
        run.sim.signal("name-provided", ["Grace"])
        run.checkpoint("after_signal")
        run.task()
        run.sim.complete_activity(run.open_step("activity"), "Hello, Grace!")
    elif family == "wait-condition":
        run.update("update-approve-1", "approve")
    elif family == "version-marker":
        run.sim.complete_activity(run.open_step("activity"), "v3_result")
    elif family == "saga-compensation":
        run.sim.complete_activity(run.open_step("activity"), "inventory-id-456")
        run.task()
        run.sim.fail_child(run.open_step("child"), "payment declined")
        run.task()
        run.sim.complete_activity(run.open_step("activity"), None)
    run.checkpoint("before_last_task")
    run.task()
    return run.finish()


# ----------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class _Outcome:
    passed: bool
    observed: dict[str, Any]


def _summary(command: Mapping[str, Any]) -> dict[str, Any]:
    """A wire command without its encoded payloads, for comparing decisions."""
    return {key: value for key, value in command.items() if key not in ("arguments", "result", "input")}


def _event_types(events: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(event.get("event_type") or event.get("type")) for event in events]


def _completed_history(recording: _Recording) -> _Outcome:
    # The run's codec, as a worker passes it: events that do not name theirs were written in it.
    outcome = replay_history(
        ReplayConformanceWorkflow,
        recording.events,
        [recording.family],
        run_id=recording.run_id,
        payload_codec=_CODEC,
    )
    replayed_state = query_state(
        ReplayConformanceWorkflow,
        recording.events,
        [recording.family],
        "currentState",
        run_id=recording.run_id,
        payload_codec=_CODEC,
    )
    expected = dict(EXPECTED_STATES[recording.family])
    terminal = outcome.terminal
    observed = {
        "family": recording.family,
        "history_event_types": _event_types(recording.events),
        "replayed_command_sequence": [
            {"command_type": type(command).__name__} for command in outcome.commands
        ],
        "replayed_result": terminal.result if isinstance(terminal, CompleteWorkflow) else None,
        "replayed_state": replayed_state,
        "expected_state": expected,
        "state_matches_fixture": replayed_state == expected,
    }
    passed = (
        isinstance(terminal, CompleteWorkflow) and replayed_state == expected and terminal.result == expected
    )
    return _Outcome(passed, observed)


def _fresh_state(recording: _Recording, events: Sequence[Mapping[str, Any]]) -> WorkflowRunState:
    state = WorkflowRunState(
        ReplayConformanceWorkflow,
        workflow_id=f"replay-conformance-{recording.family}",
        run_id=recording.run_id,
        start_input=[recording.family],
        payload_codec=_CODEC,
        task_queue=_QUEUE,
    )
    state.apply(events)
    return state


def _restart_mid_run(recording: _Recording, checkpoint: str) -> _Outcome:
    point = recording.checkpoints[checkpoint]
    restarted = _fresh_state(recording, point.events)
    restarted_state = restarted.query("currentState")
    restarted_next = restarted.wire_commands(_QUEUE)
    observed = {
        "family": recording.family,
        "worker_restart_at": checkpoint,
        "history_event_types": _event_types(point.events),
        "live_worker_state": point.live_state,
        "restarted_worker_state": restarted_state,
        "live_next_decision": [_summary(command) for command in point.live_next],
        "restarted_next_decision": [_summary(command) for command in restarted_next],
        "state_matches": restarted_state == point.live_state,
        "decision_matches": restarted_next == point.live_next,
    }
    return _Outcome(observed["state_matches"] and observed["decision_matches"], observed)


def _restart_completed_query(recording: _Recording) -> _Outcome:
    replayed = _fresh_state(recording, recording.events).query("currentState")
    observed = {
        "family": "completed-query",
        "history_event_types": _event_types(recording.events),
        "original_query_result": recording.final_state,
        "replay_query_result": replayed,
        "query_result_matches_original": replayed == recording.final_state,
    }
    passed = replayed == recording.final_state == dict(EXPECTED_STATES[recording.family])
    return _Outcome(passed, observed)


def _in_flight_signal(recording: _Recording) -> _Outcome:
    outcome = _restart_mid_run(recording, "after_signal")
    outcome.observed["signal_sent_at"] = "history_event:SignalReceived"
    next_types = [command.get("type") for command in outcome.observed["restarted_next_decision"]]
    outcome.passed = outcome.passed and next_types == ["schedule_activity"]
    return outcome


def _code_divergence(recording: _Recording) -> _Outcome:
    report = replay_verify.verify_replay(
        ReplayConformanceDivergentWorkflow,
        recording.events,
        start_input=[recording.family],
        case_id="python_code_divergence_refusal",
    )
    observed = {
        "observed_outcome": "non_determinism_error"
        if report.reason == replay_verify.REASON_SHAPE_MISMATCH
        else report.reason,
        "replay_diff": report.to_dict(),
    }
    return _Outcome(report.status == replay_verify.STATUS_DRIFTED and report.divergence is not None, observed)


def _export(recording: _Recording, mutate: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The run as a sealed history-export bundle (optionally changed before sealing)."""
    history = [
        {
            "id": str(event.get("id") or index),
            "sequence": event["sequence"],
            "type": event["event_type"],
            "payload": event.get("payload", {}),
        }
        for index, event in enumerate(recording.events)
    ]
    body: dict[str, Any] = {
        "schema": history_bundle_verify.BUNDLE_SCHEMA,
        "schema_version": history_bundle_verify.BUNDLE_SCHEMA_VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "workflow": {
            "instance_id": f"replay-conformance-{recording.family}",
            "run_id": recording.run_id,
            "workflow_type": WORKFLOW_TYPE,
            "last_history_sequence": history[-1]["sequence"],
        },
        "payloads": {"codec": _CODEC},
        "history_events": history,
        **{
            section: []
            for section in ("commands", "signals", "updates", "tasks", "activities", "timers", "failures")
        },
        "links": {},
        "redaction": {"applied": False, "paths": []},
        "codec_schemas": {},
        "payload_manifest": {"entries": []},
    }
    if mutate is not None:
        mutate(body)
    return history_bundle_verify.seal_bundle(body)


def _refusal(report: Mapping[str, Any], rule: str) -> _Outcome:
    rules = [finding["rule"] for finding in report["findings"]]
    first = next((finding for finding in report["findings"] if finding["rule"] == rule), None)
    observed = {
        "integrity": {"status": report["status"], "rules": rules},
        "message": first["message"] if first else None,
        "observed_outcome": "refused"
        if report["status"] == history_bundle_verify.STATUS_FAILED
        else "accepted",
    }
    return _Outcome(report["status"] == history_bundle_verify.STATUS_FAILED and rule in rules, observed)


def _history_mutation(recording: _Recording) -> _Outcome:
    bundle = _export(recording)
    for event in bundle["history_events"]:
        if event["type"] == "ActivityCompleted":
            event["payload"] = {**event["payload"], "activity_type": "python-replay.forged"}
            break
    return _refusal(history_bundle_verify.verify_bundle(bundle), "integrity.checksum_mismatch")


def _malformed_history(recording: _Recording) -> _Outcome:
    bundle = _export(recording, lambda body: body["workflow"].pop("run_id"))
    return _refusal(history_bundle_verify.verify_bundle(bundle), "workflow.run_id_missing")


def _normalize_source(source: str) -> str:
    return "_".join(part for part in re.split(r"[^0-9a-z]+", source.strip().lower()) if part)


def _install_only(versions: Mapping[str, str], sources: Mapping[str, str]) -> _Outcome:
    missing_versions = [name for name in REQUIRED_ARTIFACTS if not str(versions.get(name) or "").strip()]
    missing_sources = [name for name in REQUIRED_ARTIFACTS if not str(sources.get(name) or "").strip()]
    placeholder: dict[str, str] = {}
    rejected: dict[str, str] = {}
    for name in REQUIRED_ARTIFACTS:
        value = str(versions.get(name) or "").strip()
        if not value:
            continue
        if value.lower() in PLACEHOLDER_VERSION_TOKENS:
            placeholder[name] = value
        elif _UNPUBLISHED_VERSION.search(value):
            rejected[name] = value
    forbidden: dict[str, str] = {}
    untrusted: dict[str, str] = {}
    for name in REQUIRED_ARTIFACTS:
        raw = str(sources.get(name) or "").strip()
        if not raw:
            continue
        normalized = _normalize_source(raw)
        if set(normalized.split("_")) & FORBIDDEN_SOURCE_WORDS:
            forbidden[name] = raw
        elif normalized not in PUBLISHED_ARTIFACT_SOURCES[name]:
            untrusted[name] = raw
    published_only = not (forbidden or untrusted or missing_sources)
    proven = published_only and not (missing_versions or placeholder or rejected)
    observed = {
        "artifact_versions_recorded": dict(versions),
        "artifact_sources": dict(sources),
        "missing_artifacts": sorted(set(missing_versions) | set(missing_sources)),
        "missing_artifact_versions": missing_versions,
        "missing_artifact_sources": missing_sources,
        "placeholder_versions": placeholder,
        "rejected_versions": rejected,
        "forbidden_sources": forbidden,
        "untrusted_sources": untrusted,
        "accepted_sources": {name: sorted(channels) for name, channels in PUBLISHED_ARTIFACT_SOURCES.items()},
        "published_artifacts_only": published_only,
        "published_install_tuple_proven": proven,
    }
    return _Outcome(proven, observed)


def _restart_before_last_task(recording: _Recording) -> _Outcome:
    return _restart_mid_run(recording, "before_last_task")


class _Recordings:
    """Each family's run, recorded on first use and shared by the scenarios that read it."""

    def __init__(self) -> None:
        self._by_family: dict[str, _Recording] = {}

    def check(self, family: str, scenario: Callable[[_Recording], _Outcome]) -> _Outcome:
        if family not in self._by_family:
            self._by_family[family] = _record(family)
        return scenario(self._by_family[family])


def _run(scenario: Callable[[], _Outcome]) -> _Outcome:
    try:
        return scenario()
    except Exception as exc:  # a scenario that crashes is a failed scenario, not a crashed report
        return _Outcome(False, {"error": {"class": type(exc).__name__, "message": str(exc)}})


def _sdk_version() -> str:
    for distribution in ("durable-workflow", "dw-testing"):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "0.0.0+unknown"


def _timestamp() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _group(results: Sequence[Mapping[str, Any]], ids: Sequence[str]) -> dict[str, Any]:
    statuses = {item["scenario_id"]: item["status"] for item in results if item["scenario_id"] in ids}
    return {
        "total": len(statuses),
        "passed": sum(1 for status in statuses.values() if status == "pass"),
        "scenario_statuses": statuses,
    }


def compose_report(
    *,
    artifact_versions: Mapping[str, str] | None = None,
    artifact_sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run every scenario and return the ``durable-workflow.v2.replay-conformance.result`` document.

    ``outcome`` is ``pass`` only when every scenario passed; each other scenario has a finding
    (``findings``, and ``finding_links`` keyed by scenario id).
    """
    versions = {str(key): str(value) for key, value in (artifact_versions or {}).items()}
    sources = {str(key): str(value) for key, value in (artifact_sources or {}).items()}
    started_at = _timestamp()

    recordings = _Recordings()
    scenarios: dict[str, Callable[[], _Outcome]] = {
        INSTALL_SCENARIO: partial(_install_only, versions, sources)
    }
    for family, scenario_id in zip(FAMILIES, COMPLETED_SCENARIOS, strict=True):
        scenarios[scenario_id] = partial(recordings.check, family, _completed_history)
    scenarios["python_worker_restart_completed_query"] = partial(
        recordings.check, "activity", _restart_completed_query
    )
    for family, scenario_id in zip(FAMILIES, RESTART_SCENARIOS[1:], strict=True):
        scenarios[scenario_id] = partial(recordings.check, family, _restart_before_last_task)
    scenarios["python_code_divergence_refusal"] = partial(recordings.check, "activity", _code_divergence)
    scenarios["server_history_mutation_refusal"] = partial(recordings.check, "activity", _history_mutation)
    scenarios["malformed_history_refusal"] = partial(recordings.check, "activity", _malformed_history)
    scenarios["python_in_flight_signal_restart_timing"] = partial(
        recordings.check, "signal-update", _in_flight_signal
    )

    identity = {"package": "durable-workflow", "runtime": RUNTIME, "version": _sdk_version()}
    runtime_matrix = {"runtimes": [RUNTIME]}
    results: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for scenario_id in SCENARIO_IDS:
        outcome = _run(scenarios[scenario_id])
        status = "pass" if outcome.passed else "fail"
        results.append(
            {
                "scenario_id": scenario_id,
                "status": status,
                "implementation_identity": identity,
                "runtime_matrix": runtime_matrix,
                "published_artifact_versions": dict(versions),
                "observed_outputs": outcome.observed,
                "replay_diagnostics": outcome.observed,
            }
        )
        if status != "pass":
            findings.append(
                {
                    "scenario_id": scenario_id,
                    "title": f"Python replay conformance scenario [{scenario_id}] did not pass",
                    "evidence": outcome.observed,
                }
            )
    return {
        "schema": RESULT_SCHEMA,
        "schema_version": RESULT_VERSION,
        "coverage_scope": COVERAGE_SCOPE,
        "outcome": "pass" if not findings else "fail",
        "started_at": started_at,
        "finished_at": _timestamp(),
        "artifact_versions": versions,
        "artifact_sources": sources,
        "runtime_matrix": runtime_matrix,
        "scenario_results": results,
        "completed_history_replay": _group(results, COMPLETED_SCENARIOS),
        "worker_restart_replay": _group(results, RESTART_SCENARIOS),
        "adversarial_replay": _group(results, ADVERSARIAL_SCENARIOS),
        "in_flight_timing": _group(results, IN_FLIGHT_SCENARIOS),
        "findings": findings,
        "finding_links": {finding["scenario_id"]: [finding] for finding in findings},
    }


def _pairs(values: Sequence[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``durable-workflow-replay-conformance``; exit 1 when a scenario did not pass."""
    parser = argparse.ArgumentParser(
        prog="durable-workflow-replay-conformance",
        description=f"Run the Python replay conformance scenarios and print a {RESULT_SCHEMA} report.",
    )
    parser.add_argument(
        "--artifact-version", action="append", metavar="ACTOR=VERSION", help="installed version (repeatable)"
    )
    parser.add_argument(
        "--artifact-source", action="append", metavar="ACTOR=SOURCE", help="install channel (repeatable)"
    )
    parser.add_argument("--output", help="write the report to this file instead of stdout")
    parser.add_argument(
        "--json", action="store_true", help="accepted for compatibility; output is always JSON"
    )
    args = parser.parse_args(argv)
    report = compose_report(
        artifact_versions=_pairs(args.artifact_version), artifact_sources=_pairs(args.artifact_source)
    )
    history_bundle_verify.write_json_report(report, args.output)
    return 0 if all(item["status"] == "pass" for item in report["scenario_results"]) else 1


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
