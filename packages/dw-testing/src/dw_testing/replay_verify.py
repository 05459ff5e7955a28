"""Replay verification: does current workflow code still replay recorded histories?

* :func:`verify_replay` replays one history and classifies the outcome as a :class:`CaseReport`
  (``replayed`` / ``drifted`` / ``failed`` with a reason and, for non-determinism, the step).
* :func:`verify_golden_history` replays every case of ``durable-workflow.golden-history.v1``
  fixture files and reports per case plus coverage of the required workflow families
  (``durable-workflow.v2.replay-diff`` report).
* :func:`simulate_bundles` integrity-checks a directory of history-export bundles
  (``durable-workflow.v2.replay-simulation.report``); it runs no workflow code, so even a clean
  run recommends review before promotion.

Verdicts order ``ok < warning < drifted < failed``; each maps to a promotion decision
(:func:`promotion_decision_for`).

CLI ``durable-workflow-replay-verify FIXTURE_DIR --workflows MODULE:CALLABLE`` (golden mode) or
``durable-workflow-replay-verify BUNDLE_DIR --simulate-bundles``; exit 1 on a blocking verdict.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dw_core.errors import ChildWorkflowFailed, NonDeterministicReplayError, WorkflowFailed
from dw_core.workflow import (
    Command,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    RecordSideEffect,
    RecordVersionMarker,
    ReplayOutcome,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
    WorkflowDefinitionError,
    get_definition,
    replay_history,
)

from dw_testing import history_bundle_verify

__all__ = [
    "FIXTURE_SCHEMA",
    "PROMOTION_BLOCK_AND_INVESTIGATE",
    "PROMOTION_BLOCK_UNTIL_COMPATIBLE",
    "PROMOTION_REVIEW_BEFORE_PROMOTE",
    "PROMOTION_SAFE_TO_PROMOTE",
    "REASON_BUNDLE_INVALID",
    "REASON_EXPECTATION_MISMATCH",
    "REASON_NONE",
    "REASON_REPLAY_ERROR",
    "REASON_SHAPE_MISMATCH",
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "REQUIRED_FAMILIES",
    "SIMULATION_REPORT_SCHEMA",
    "SIMULATION_REPORT_SCHEMA_VERSION",
    "STATUS_DRIFTED",
    "STATUS_FAILED",
    "STATUS_REPLAYED",
    "VERDICT_DRIFTED",
    "VERDICT_FAILED",
    "VERDICT_OK",
    "VERDICT_WARNING",
    "BundleEntry",
    "CaseReport",
    "GoldenHistoryReport",
    "SimulationReport",
    "aggregate_verdicts",
    "load_workflows",
    "main",
    "promotion_decision_for",
    "promotion_decision_for_report",
    "simulate_bundles",
    "verify_golden_history",
    "verify_replay",
]

REPORT_SCHEMA = "durable-workflow.v2.replay-diff"
REPORT_SCHEMA_VERSION = 1
SIMULATION_REPORT_SCHEMA = "durable-workflow.v2.replay-simulation.report"
SIMULATION_REPORT_SCHEMA_VERSION = 1
FIXTURE_SCHEMA = "durable-workflow.golden-history.v1"
REQUIRED_FAMILIES = frozenset(
    {"activity", "saga-compensation", "signal-update", "version-marker", "wait-condition"}
)

STATUS_REPLAYED = "replayed"
STATUS_DRIFTED = "drifted"
STATUS_FAILED = "failed"

VERDICT_OK = "ok"
VERDICT_WARNING = "warning"
VERDICT_DRIFTED = "drifted"
VERDICT_FAILED = "failed"

PROMOTION_SAFE_TO_PROMOTE = "safe_to_promote"
PROMOTION_REVIEW_BEFORE_PROMOTE = "review_before_promote"
PROMOTION_BLOCK_UNTIL_COMPATIBLE = "block_until_compatible"
PROMOTION_BLOCK_AND_INVESTIGATE = "block_and_investigate"

REASON_NONE = "none"
REASON_SHAPE_MISMATCH = "shape_mismatch"
REASON_REPLAY_ERROR = "replay_error"
REASON_BUNDLE_INVALID = "bundle_invalid"
REASON_EXPECTATION_MISMATCH = "expectation_mismatch"

_VERDICT_RANK = {VERDICT_OK: 0, VERDICT_WARNING: 1, VERDICT_DRIFTED: 2, VERDICT_FAILED: 3}
_PROMOTION_BY_VERDICT = {
    VERDICT_OK: PROMOTION_SAFE_TO_PROMOTE,
    VERDICT_WARNING: PROMOTION_REVIEW_BEFORE_PROMOTE,
    VERDICT_DRIFTED: PROMOTION_BLOCK_UNTIL_COMPATIBLE,
    VERDICT_FAILED: PROMOTION_BLOCK_AND_INVESTIGATE,
}
_VERDICT_BY_STATUS = {
    STATUS_REPLAYED: VERDICT_OK,
    STATUS_DRIFTED: VERDICT_DRIFTED,
    STATUS_FAILED: VERDICT_FAILED,
}
# The engine reports a changed wait key or predicate as a failed run, not as an exception; for a
# verifier that is drift all the same.
_DRIFT_FAILURE_TYPES = frozenset({"NonDeterministicWaitCondition"})


def promotion_decision_for(verdict: str) -> str:
    """The promotion decision for a verdict (an unknown verdict blocks and asks for investigation)."""
    return _PROMOTION_BY_VERDICT.get(verdict, PROMOTION_BLOCK_AND_INVESTIGATE)


def promotion_decision_for_report(verdict: str, evidence: Mapping[str, Any] | None = None) -> str:
    """Like :func:`promotion_decision_for`, but a clean verdict without replay evidence needs review."""
    decision = promotion_decision_for(verdict)
    if (
        decision == PROMOTION_SAFE_TO_PROMOTE
        and evidence is not None
        and evidence.get("replay_skipped") is True
    ):
        return PROMOTION_REVIEW_BEFORE_PROMOTE
    return decision


def aggregate_verdicts(verdicts: Sequence[str]) -> str:
    """The strictest verdict; unknown verdicts count as ``failed``, and no verdicts at all is ``failed``."""
    if not verdicts:
        return VERDICT_FAILED
    return max(verdicts, key=lambda verdict: _VERDICT_RANK.get(verdict, _VERDICT_RANK[VERDICT_FAILED]))


@dataclass(frozen=True)
class CaseReport:
    """The outcome of replaying one history (``status`` replayed/drifted/failed, with a ``reason``)."""

    id: str
    status: str
    reason: str
    workflow_type: str | None
    family: str | None
    source: Mapping[str, Any] | None = None
    divergence: Mapping[str, Any] | None = None
    expected: Mapping[str, Any] | None = None
    observed: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None

    @property
    def verdict(self) -> str:
        """``ok`` for a clean replay, ``drifted`` or ``failed`` otherwise."""
        return _VERDICT_BY_STATUS.get(self.status, VERDICT_FAILED)

    @property
    def promotion_decision(self) -> str:
        """What this case means for promoting the new code."""
        return promotion_decision_for(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (mappings copied)."""

        def plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
            return None if value is None else dict(value)

        return {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "verdict": self.verdict,
            "promotion_decision": self.promotion_decision,
            "workflow_type": self.workflow_type,
            "family": self.family,
            "source": plain(self.source),
            "divergence": plain(self.divergence),
            "expected": plain(self.expected),
            "observed": plain(self.observed),
            "error": plain(self.error),
        }


@dataclass
class GoldenHistoryReport:
    """Per-case results of a golden-history run plus coverage of the required families."""

    schema: str = REPORT_SCHEMA
    schema_version: int = REPORT_SCHEMA_VERSION
    status: str = STATUS_REPLAYED
    fixture_schema: str = FIXTURE_SCHEMA
    cases: list[CaseReport] = field(default_factory=list)
    missing_families: list[str] = field(default_factory=list)
    required_families: list[str] = field(default_factory=list)
    covered_families: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``failed`` when a required family has no case, else the status's verdict."""
        if self.missing_families:
            return VERDICT_FAILED
        return _VERDICT_BY_STATUS.get(self.status, VERDICT_FAILED)

    @property
    def promotion_decision(self) -> str:
        """What the whole run means for promoting the new code."""
        return promotion_decision_for(self.verdict)

    @property
    def evidence(self) -> dict[str, Any]:
        """Counts and family coverage that back the verdict."""
        return {
            "fixture_count": self.summary.get("fixtures", 0),
            "case_count": self.summary.get("cases", len(self.cases)),
            "required_families": list(self.required_families),
            "covered_families": list(self.covered_families),
            "missing_family_count": len(self.missing_families),
            "missing_families": list(self.missing_families),
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``durable-workflow.v2.replay-diff`` document."""
        return {
            "schema": self.schema,
            "schema_version": self.schema_version,
            "status": self.status,
            "verdict": self.verdict,
            "promotion_decision": self.promotion_decision,
            "evidence": self.evidence,
            "fixture_schema": self.fixture_schema,
            "summary": dict(self.summary),
            "missing_families": list(self.missing_families),
            "cases": [case.to_dict() for case in self.cases],
        }


@dataclass
class BundleEntry:
    """One bundle of a simulation run: its verdict and the integrity report behind it."""

    path: str
    verdict: str
    promotion_decision: str
    integrity: Mapping[str, Any] | None = None
    evidence: Mapping[str, Any] | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``path`` is written as ``bundle_path``)."""
        return {
            "bundle_path": self.path,
            "verdict": self.verdict,
            "promotion_decision": self.promotion_decision,
            "reason": self.reason,
            "evidence": None if self.evidence is None else dict(self.evidence),
            "integrity": None if self.integrity is None else dict(self.integrity),
        }


@dataclass
class SimulationReport:
    """Integrity verdicts for a directory of history-export bundles (no workflow code is run)."""

    schema: str = SIMULATION_REPORT_SCHEMA
    schema_version: int = SIMULATION_REPORT_SCHEMA_VERSION
    verdict: str = VERDICT_OK
    promotion_decision: str = PROMOTION_SAFE_TO_PROMOTE
    summary: dict[str, int] = field(default_factory=dict)
    bundles: list[BundleEntry] = field(default_factory=list)
    missing_bundles: list[str] = field(default_factory=list)
    error: str | None = None
    strict_warnings: bool = False

    @property
    def evidence(self) -> dict[str, Any]:
        """What was checked: every bundle's integrity, never a replay."""
        return {
            "bundle_count": len(self.bundles),
            "missing_bundle_count": len(self.missing_bundles),
            "integrity_checked_count": sum(
                1 for bundle in self.bundles if (bundle.evidence or {}).get("integrity_checked") is True
            ),
            "replay_checked_count": 0,
            "replay_skipped": True,
            "strict_warnings": self.strict_warnings,
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``durable-workflow.v2.replay-simulation.report`` document (``error`` only when set)."""
        document: dict[str, Any] = {
            "schema": self.schema,
            "schema_version": self.schema_version,
            "verdict": self.verdict,
            "promotion_decision": self.promotion_decision,
            "evidence": self.evidence,
            "summary": dict(self.summary),
            "bundles": [bundle.to_dict() for bundle in self.bundles],
            "missing_bundles": list(self.missing_bundles),
        }
        if self.error is not None:
            document["error"] = self.error
        return document


# ----------------------------------------------------------------------------------------------
# One history


def _observed(command: Command) -> dict[str, Any]:
    """The comparable face of a command: its type name and the fields golden fixtures pin."""
    observed: dict[str, Any] = {"command_type": type(command).__name__}
    if isinstance(command, CompleteWorkflow):
        observed["result"] = command.result
    elif isinstance(command, FailWorkflow):
        observed.update(message=command.message, exception_type=command.exception_type)
    elif isinstance(command, ScheduleActivity):
        observed.update(activity_type=command.activity_type, arguments=list(command.arguments))
    elif isinstance(command, (StartChildWorkflow, ContinueAsNew)):
        observed.update(workflow_type=command.workflow_type, arguments=list(command.arguments))
    elif isinstance(command, StartTimer):
        observed["delay_seconds"] = command.delay_seconds
    elif isinstance(command, RecordSideEffect):
        observed["result"] = command.result
    elif isinstance(command, RecordVersionMarker):
        observed.update(change_id=command.change_id, version=command.version)
    elif isinstance(command, UpsertSearchAttributes):
        observed["attributes"] = dict(command.attributes)
    elif isinstance(command, WaitCondition):
        observed.update(condition_key=command.condition_key, timeout_seconds=command.timeout_seconds)
    return observed


def _expectation_problem(observed: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> str | None:
    if observed is None:
        return f"replay produced no command, expected {expected.get('command_type')!r}"
    for key, want in expected.items():
        if key not in observed:
            return f"expected.{key} is not a field this verifier compares for {observed['command_type']}"
        if observed[key] != want:
            return f"{key} {observed[key]!r} does not match expected {want!r}"
    return None


def _error(exc: BaseException) -> dict[str, Any]:
    return {"class": type(exc).__name__, "message": str(exc)}


def _case(
    case_id: str,
    status: str,
    reason: str,
    workflow_type: str | None,
    family: str | None = None,
    source: Mapping[str, Any] | None = None,
    **details: Mapping[str, Any] | None,
) -> CaseReport:
    return CaseReport(case_id, status, reason, workflow_type, family, source, **details)


def verify_replay(
    workflow_cls: type,
    history: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    *,
    start_input: list[Any] | None = None,
    expected: Mapping[str, Any] | None = None,
    case_id: str = "verify_replay",
    workflow_type: str | None = None,
    family: str | None = None,
    source: Mapping[str, Any] | None = None,
) -> CaseReport:
    """Replay ``history`` with ``workflow_cls`` and classify the outcome; never raises for bad history.

    * clean replay → ``replayed`` / ``none`` (``observed`` = the first command it would send);
    * ``NonDeterministicReplayError`` (or a changed wait condition) → ``drifted`` /
      ``shape_mismatch`` with ``divergence`` naming the step, what history recorded and what the
      code yielded;
    * ``TypeError`` / ``ValueError`` / child or workflow failures raised by replay → ``drifted`` /
      ``shape_mismatch``; any other exception → ``failed`` / ``replay_error``;
    * ``expected`` given (``command_type`` plus fields such as ``result``, ``activity_type``,
      ``arguments``) and not met → ``drifted`` / ``expectation_mismatch``.

    ``start_input`` defaults to the input recorded on ``WorkflowStarted``.
    """
    if workflow_type is None:
        workflow_type = get_definition(workflow_cls).name
    expected_copy = None if expected is None else dict(expected)

    def report(status: str, reason: str, **details: Mapping[str, Any] | None) -> CaseReport:
        return _case(
            case_id, status, reason, workflow_type, family, source, expected=expected_copy, **details
        )

    try:
        outcome: ReplayOutcome = replay_history(workflow_cls, history, start_input)
    except NonDeterministicReplayError as exc:
        divergence = {
            "workflow_sequence": exc.workflow_sequence,
            "expected_shape": exc.expected_shape,
            "recorded_event_types": list(exc.recorded_event_types),
            "message": str(exc),
        }
        return report(
            STATUS_DRIFTED, REASON_SHAPE_MISMATCH, divergence=divergence, error=_error(exc) | divergence
        )
    except (TypeError, ValueError, ChildWorkflowFailed, WorkflowFailed) as exc:
        return report(STATUS_DRIFTED, REASON_SHAPE_MISMATCH, error=_error(exc))
    except Exception as exc:
        return report(STATUS_FAILED, REASON_REPLAY_ERROR, error=_error(exc))

    observed = _observed(outcome.commands[0]) if outcome.commands else None
    terminal = outcome.terminal
    if isinstance(terminal, FailWorkflow) and terminal.exception_type in _DRIFT_FAILURE_TYPES:
        divergence = {"exception_type": terminal.exception_type, "message": terminal.message}
        return report(
            STATUS_DRIFTED,
            REASON_SHAPE_MISMATCH,
            divergence=divergence,
            observed=_observed(terminal),
            error={"class": terminal.exception_type, "message": terminal.message},
        )
    if expected_copy is not None:
        problem = _expectation_problem(observed, expected_copy)
        if problem is not None:
            return report(
                STATUS_DRIFTED,
                REASON_EXPECTATION_MISMATCH,
                observed=observed,
                error={"class": "ExpectationMismatch", "message": problem},
            )
    return report(STATUS_REPLAYED, REASON_NONE, observed=observed)


# ----------------------------------------------------------------------------------------------
# Golden-history fixtures


def _fixture_failure(case_id: str, exc_class: str, message: str) -> CaseReport:
    return _case(
        case_id, STATUS_FAILED, REASON_BUNDLE_INVALID, None, error={"class": exc_class, "message": message}
    )


def _load_fixture(path: Path) -> tuple[dict[str, Any] | None, CaseReport | None]:
    """The fixture document, or the synthetic failed case explaining why it cannot be used."""
    name = path.name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, _fixture_failure(f"<unparseable:{name}>", type(exc).__name__, str(exc))
    if not isinstance(document, dict) or document.get("fixture_schema") != FIXTURE_SCHEMA:
        found = document.get("fixture_schema") if isinstance(document, dict) else type(document).__name__
        return None, _fixture_failure(
            f"<schema-drift:{name}>",
            "FixtureSchemaError",
            f"{name} must be an object with fixture_schema={FIXTURE_SCHEMA}; found {found!r}",
        )
    if not isinstance(document.get("cases"), list):
        return None, _fixture_failure(
            f"<schema-drift:{name}>", "FixtureSchemaError", f"{name} has no 'cases' list"
        )
    source = document.get("source")
    if not (
        isinstance(source, dict)
        and isinstance(source.get("runtime"), str)
        and source["runtime"]
        and isinstance(source.get("version"), str)
        and source["version"]
    ):
        return None, _fixture_failure(
            f"<source-missing:{name}>",
            "FixtureSchemaError",
            f"{name} is missing source.runtime or source.version",
        )
    return document, None


def _replay_case(case: Any, index: int, source: Mapping[str, Any], by_type: Mapping[str, type]) -> CaseReport:
    prefix = f"{source['runtime']}@{source['version']}"
    if not isinstance(case, Mapping):
        return _case(
            f"{prefix}::<case {index}>",
            STATUS_FAILED,
            REASON_BUNDLE_INVALID,
            None,
            source=source,
            error={"class": "FixtureSchemaError", "message": f"cases[{index}] is not an object"},
        )
    name = case.get("name") if isinstance(case.get("name"), str) and case.get("name") else f"<case {index}>"
    case_id = f"{prefix}::{name}"
    workflow_type = case.get("workflow_type") if isinstance(case.get("workflow_type"), str) else None
    family = case.get("family") if isinstance(case.get("family"), str) else None
    expected = case.get("expected") if isinstance(case.get("expected"), Mapping) else None
    history = case.get("history")
    start_input = case.get("start_input")
    if not isinstance(history, list) or not (start_input is None or isinstance(start_input, list)):
        return _case(
            case_id,
            STATUS_FAILED,
            REASON_BUNDLE_INVALID,
            workflow_type,
            family,
            source,
            expected=expected,
            error={
                "class": "FixtureSchemaError",
                "message": f"{name}: history must be a list, start_input a list",
            },
        )
    workflow_cls = by_type.get(workflow_type or "")
    if workflow_cls is None:
        registered = ", ".join(sorted(by_type)) or "none"
        return _case(
            case_id,
            STATUS_DRIFTED,
            REASON_SHAPE_MISMATCH,
            workflow_type,
            family,
            source,
            expected=expected,
            error={
                "class": "ValueError",
                "message": f"workflow type {workflow_type!r} is not registered; registered: {registered}",
            },
        )
    return verify_replay(
        workflow_cls,
        history,
        start_input=list(start_input or []),
        expected=expected,
        case_id=case_id,
        workflow_type=workflow_type,
        family=family,
        source=source,
    )


def verify_golden_history(
    fixture_dir: str | Path,
    workflows: Sequence[type],
    *,
    required_families: Iterable[str] = REQUIRED_FAMILIES,
) -> GoldenHistoryReport:
    """Replay every case of every ``*.json`` golden fixture in ``fixture_dir`` (sorted by name).

    Bad fixtures never raise: they become failed cases ``<no-fixtures>``, ``<unparseable:F>``,
    ``<schema-drift:F>`` or ``<source-missing:F>`` (reason ``bundle_invalid``). Case ids are
    ``<runtime>@<version>::<case name>``. The status is ``failed`` if any case failed or a required
    family has no case, else ``drifted`` if any case drifted, else ``replayed``.
    """
    by_type: dict[str, type] = {}
    for cls in workflows:
        by_type[get_definition(cls).name] = cls
    required = sorted(set(required_families))
    directory = Path(fixture_dir)
    paths = sorted(directory.glob("*.json")) if directory.is_dir() else []

    cases: list[CaseReport] = []
    if not paths:
        cases.append(
            _fixture_failure(
                "<no-fixtures>",
                "FileNotFoundError",
                f"no golden-history fixtures (*.json) found in {directory}",
            )
        )
    for path in paths:
        document, failure = _load_fixture(path)
        if failure is not None:
            cases.append(failure)
            continue
        assert document is not None
        source = dict(document["source"])
        cases.extend(
            _replay_case(case, index, source, by_type) for index, case in enumerate(document["cases"])
        )

    covered = sorted({case.family for case in cases if case.family})
    missing = [family for family in required if family not in covered]
    counts = {status: sum(1 for case in cases if case.status == status) for status in _VERDICT_BY_STATUS}
    if counts[STATUS_FAILED] or missing:
        status = STATUS_FAILED
    elif counts[STATUS_DRIFTED]:
        status = STATUS_DRIFTED
    else:
        status = STATUS_REPLAYED
    return GoldenHistoryReport(
        status=status,
        cases=cases,
        missing_families=missing,
        required_families=required,
        covered_families=covered,
        summary={
            "fixtures": len(paths),
            "cases": len(cases),
            "replayed": counts[STATUS_REPLAYED],
            "drifted": counts[STATUS_DRIFTED],
            "failed": counts[STATUS_FAILED],
        },
    )


# ----------------------------------------------------------------------------------------------
# History-export bundles


def _bundle_entry(path: Path, signing_key: str | None, strict_warnings: bool) -> BundleEntry:
    try:
        integrity = history_bundle_verify.verify_bundle_json(path.read_text(encoding="utf-8"), signing_key)
    except (OSError, UnicodeDecodeError) as exc:
        integrity = history_bundle_verify.verify_bundle_json("", signing_key)
        integrity["findings"][0]["message"] = f"Bundle file could not be read: {exc}."
    status = integrity["status"]
    if status == history_bundle_verify.STATUS_OK:
        verdict = VERDICT_OK
    elif status == history_bundle_verify.STATUS_WARNING:
        verdict = VERDICT_FAILED if strict_warnings else VERDICT_WARNING
    else:
        verdict = VERDICT_FAILED
    evidence = {
        "integrity_checked": True,
        "integrity_status": status,
        "integrity_finding_count": len(integrity["findings"]),
        "replay_checked": False,
        "replay_skipped": True,
        "replay_status": None,
        "strict_warnings": strict_warnings,
    }
    return BundleEntry(
        path=str(path),
        verdict=verdict,
        promotion_decision=promotion_decision_for_report(verdict, evidence),
        integrity=integrity,
        evidence=evidence,
        reason=REASON_BUNDLE_INVALID if verdict == VERDICT_FAILED else None,
    )


def simulate_bundles(
    bundle_dir: str | Path, *, signing_key: str | None = None, strict_warnings: bool = False
) -> SimulationReport:
    """Integrity-check every ``*.json`` history-export bundle in ``bundle_dir`` (no workflow code runs).

    A missing directory or one without bundles is ``failed`` (``missing_bundles`` and ``error``
    say which). Integrity warnings give ``warning`` (``failed`` with ``strict_warnings``). Because
    nothing was replayed, a clean run recommends ``review_before_promote``.
    """
    directory = Path(bundle_dir)
    report = SimulationReport(strict_warnings=strict_warnings)
    if not directory.is_dir():
        report.error = f"Bundle directory [{directory}] does not exist."
        report.missing_bundles = [str(directory)]
    else:
        paths = sorted(path for path in directory.glob("*.json") if path.is_file())
        if not paths:
            report.error = f"Bundle directory [{directory}] holds no history-export bundles (*.json)."
            report.missing_bundles = [str(directory)]
        report.bundles = [_bundle_entry(path, signing_key, strict_warnings) for path in paths]
    verdicts = [bundle.verdict for bundle in report.bundles]
    report.summary = {
        "total": len(verdicts),
        **{verdict: sum(1 for item in verdicts if item == verdict) for verdict in _VERDICT_RANK},
    }
    report.verdict = VERDICT_FAILED if report.missing_bundles else aggregate_verdicts(verdicts)
    report.promotion_decision = promotion_decision_for_report(report.verdict, report.evidence)
    return report


# ----------------------------------------------------------------------------------------------
# CLI


def load_workflows(spec: str) -> list[type]:
    """Resolve ``module:callable`` to the workflow classes the zero-argument callable returns.

    Raises ``ValueError`` for a malformed spec or a result that is not an iterable of classes;
    import errors propagate.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"--workflows must look like MODULE:CALLABLE (e.g. myapp.workflows:all), got {spec!r}"
        )
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(
            f"{spec} is not callable; point --workflows at a function returning workflow classes"
        )
    produced = target()
    if not isinstance(produced, Iterable):
        raise ValueError(
            f"{spec}() returned {type(produced).__name__}, expected an iterable of workflow classes"
        )
    classes = list(produced)
    for cls in classes:
        if not isinstance(cls, type) or not _is_workflow(cls):
            raise ValueError(f"{spec}() returned {cls!r}, which is not a @workflow.defn class")
    return classes


def _is_workflow(cls: type) -> bool:
    try:
        get_definition(cls)
    except WorkflowDefinitionError:
        return False
    return True


def _write(document: Mapping[str, Any], output: str | None) -> None:
    history_bundle_verify.write_json_report(document, output)


def _exit_code(verdict: str) -> int:
    return 1 if verdict in (VERDICT_DRIFTED, VERDICT_FAILED) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``durable-workflow-replay-verify``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="durable-workflow-replay-verify",
        description=(
            "Replay golden-history fixtures against workflow code (default), or integrity-check a "
            "directory of history-export bundles (--simulate-bundles)."
        ),
    )
    parser.add_argument("fixture_dir", help="directory of golden-history fixtures, or of bundles")
    parser.add_argument("--workflows", help="MODULE:CALLABLE returning the workflow classes (golden mode)")
    parser.add_argument("--output", help="write the report to this file instead of stdout")
    parser.add_argument(
        "--strict-missing-families", action="store_true", help="exit 1 when a required family has no case"
    )
    parser.add_argument(
        "--simulate-bundles", action="store_true", help="integrity-check history-export bundles"
    )
    parser.add_argument("--signing-key", help="HMAC key for bundle signatures (--simulate-bundles)")
    parser.add_argument("--strict-warnings", action="store_true", help="treat bundle warnings as failures")
    args = parser.parse_args(argv)

    if args.simulate_bundles:
        simulation = simulate_bundles(
            args.fixture_dir, signing_key=args.signing_key, strict_warnings=args.strict_warnings
        )
        _write(simulation.to_dict(), args.output)
        return _exit_code(simulation.verdict)

    if not args.workflows:
        parser.error("--workflows MODULE:CALLABLE is required unless --simulate-bundles is given")
    # Console scripts do not put the working directory on sys.path; workflow modules usually
    # live in the project the command is run from.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        workflows = load_workflows(args.workflows)
    except (ValueError, ImportError, AttributeError) as exc:
        parser.error(f"cannot load workflows from {args.workflows}: {exc}")
    golden = verify_golden_history(args.fixture_dir, workflows)
    _write(golden.to_dict(), args.output)
    if args.strict_missing_families and golden.missing_families:
        return 1
    return 1 if golden.status in (STATUS_FAILED, STATUS_DRIFTED) else 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
