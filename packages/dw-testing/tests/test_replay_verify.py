"""Replay verification (``dw_testing.replay_verify`` / ``durable_workflow.replay_verify``).

Real histories only: the recorded golden fixture, copies of it tampered to be non-deterministic,
and histories recorded by running workflows on the in-process dev server. The console script runs
as a subprocess; the published 0.4.84 tool runs on the same inputs and its reports are compared.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_testing import LocalServerEnvironment
from dw_testing import replay_verify as rv
from dw_testing.history_bundle_verify import seal_bundle

import durable_workflow.replay_verify as facade

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN_DIR = Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "golden_history"
GOLDEN_FILE = GOLDEN_DIR / "python-sdk-0.3.1.json"
SCRIPT = Path(sys.executable).parent / "durable-workflow-replay-verify"

# Workflows the golden fixture was recorded from, written against the public `durable_workflow`
# API so the very same module also runs under the published 0.4.84 SDK for the parity checks.
GOLDEN_WORKFLOWS = """
from durable_workflow import workflow
from durable_workflow.errors import ChildWorkflowFailed


@workflow.defn(name="golden.single-activity")
class SingleActivity:
    def run(self, ctx, name):
        return (yield ctx.schedule_activity("golden.greet", [name]))


@workflow.defn(name="golden.signal-wait")
class SignalWait:
    def __init__(self):
        self.approved_by = None

    @workflow.signal("approve")
    def approve(self, who):
        self.approved_by = who

    def run(self, ctx):
        yield ctx.wait_condition(lambda: self.approved_by is not None, key="approval", timeout=30)
        result = yield ctx.schedule_activity("golden.notify", [self.approved_by])
        return {"approved_by": self.approved_by, "activity_result": result}


@workflow.defn(name="golden.timeout-wait")
class TimeoutWait:
    def run(self, ctx):
        ok = yield ctx.wait_condition(lambda: False, key="approval", timeout=5)
        return "approved" if ok else "timed-out"


@workflow.defn(name="golden.version-marker")
class VersionMarker:
    def run(self, ctx):
        version = yield ctx.get_version("golden-version", 1, 2)
        if version == 2:
            return (yield ctx.schedule_activity("golden.version-new-path", []))
        return (yield ctx.schedule_activity("golden.version-old-path", []))


@workflow.defn(name="golden.saga-compensation")
class SagaCompensation:
    def run(self, ctx, order_id):
        reservation = yield ctx.schedule_activity("golden.reserve-inventory", [order_id])
        try:
            return (yield ctx.start_child_workflow("golden.payment", [order_id]))
        except ChildWorkflowFailed as exc:
            yield ctx.schedule_activity("golden.release-inventory", [order_id, reservation, str(exc)])
            raise


def golden_workflows():
    return [SingleActivity, SignalWait, TimeoutWait, VersionMarker, SagaCompensation]


def some_workflows():
    return [SingleActivity, SignalWait]


NOT_CALLABLE = 3


def not_workflows():
    return [int]
"""


@pytest.fixture(scope="module")
def workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("golden_workflows")
    (directory / "golden_workflows_h11.py").write_text(GOLDEN_WORKFLOWS, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def golden(workflows_dir: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(workflows_dir))
    try:
        yield importlib.import_module("golden_workflows_h11")
    finally:
        sys.path.remove(str(workflows_dir))


def golden_cases() -> dict[str, dict[str, Any]]:
    document = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    return {case["name"]: case for case in document["cases"]}


def write_fixture(directory: Path, name: str, mutate: Any = None) -> Path:
    """A copy of the recorded fixture (optionally changed by ``mutate(document)``) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    document = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    if mutate is not None:
        mutate(document)
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd or REPO_ROOT
    )


# ------------------------------------------------------------------------------------------------
# Verdict helpers


@pytest.mark.parametrize(
    ("verdict", "decision"),
    [
        ("ok", "safe_to_promote"),
        ("warning", "review_before_promote"),
        ("drifted", "block_until_compatible"),
        ("failed", "block_and_investigate"),
        ("something-new", "block_and_investigate"),
    ],
)
def test_promotion_decision_for_each_verdict(verdict: str, decision: str) -> None:
    assert rv.promotion_decision_for(verdict) == decision


def test_promotion_without_replay_evidence_needs_review() -> None:
    assert rv.promotion_decision_for_report("ok", {"replay_skipped": True}) == "review_before_promote"
    assert rv.promotion_decision_for_report("ok", {"replay_skipped": False}) == "safe_to_promote"
    assert rv.promotion_decision_for_report("ok", None) == "safe_to_promote"
    assert rv.promotion_decision_for_report("drifted", {"replay_skipped": True}) == "block_until_compatible"


def test_aggregate_takes_the_strictest_verdict() -> None:
    assert rv.aggregate_verdicts(["ok", "ok"]) == "ok"
    assert rv.aggregate_verdicts(["ok", "warning", "ok"]) == "warning"
    assert rv.aggregate_verdicts(["warning", "drifted", "ok"]) == "drifted"
    assert rv.aggregate_verdicts(["drifted", "failed"]) == "failed"
    assert rv.aggregate_verdicts(["ok", "mystery"]) == "mystery"  # unknown ranks as failed...
    assert rv.promotion_decision_for(rv.aggregate_verdicts(["ok", "mystery"])) == "block_and_investigate"
    assert rv.aggregate_verdicts([]) == "failed"  # nothing checked is never a pass


# ------------------------------------------------------------------------------------------------
# verify_replay on single histories


def test_recorded_golden_cases_replay_clean(golden: ModuleType) -> None:
    case = golden_cases()["single_activity_completion"]
    report = rv.verify_replay(
        golden.SingleActivity, case["history"], start_input=case["start_input"], expected=case["expected"]
    )
    assert (report.status, report.reason, report.verdict) == ("replayed", "none", "ok")
    assert report.promotion_decision == "safe_to_promote"
    assert report.observed == {"command_type": "CompleteWorkflow", "result": "hello Ada"}
    assert report.workflow_type == "golden.single-activity"
    assert report.id == "verify_replay"


def test_a_history_tampered_with_names_the_step(golden: ModuleType) -> None:
    history = [{"event_type": "TimerFired", "payload": {"sequence": 1}}]
    report = rv.verify_replay(golden.SingleActivity, history, start_input=["Ada"], case_id="tampered")
    assert (report.status, report.reason, report.verdict) == ("drifted", "shape_mismatch", "drifted")
    assert report.promotion_decision == "block_until_compatible"
    assert report.divergence is not None
    assert report.divergence["workflow_sequence"] == 1
    assert report.divergence["recorded_event_types"] == ["TimerFired"]
    assert "activity" in report.divergence["expected_shape"]
    assert "sequence 1" in report.divergence["message"]
    assert report.error is not None and report.error["class"] == "NonDeterministicReplayError"
    assert report.id == "tampered"


def test_a_renamed_activity_is_drift(golden: ModuleType) -> None:
    history = [
        {
            "event_type": "ActivityCompleted",
            "payload": {"sequence": 1, "activity_type": "other", "result": '"x"'},
        }
    ]
    report = rv.verify_replay(golden.SingleActivity, history, start_input=["Ada"])
    assert report.status == "drifted" and report.divergence is not None
    assert "golden.greet" in report.divergence["message"] and "other" in report.divergence["message"]


def test_history_longer_than_the_code_is_drift(golden: ModuleType) -> None:
    history = [
        {
            "event_type": "ActivityCompleted",
            "payload": {"sequence": seq, "activity_type": "golden.greet", "result": '"hi"'},
        }
        for seq in (1, 2)
    ]
    report = rv.verify_replay(golden.SingleActivity, history, start_input=["x"])
    assert report.status == "drifted" and report.divergence is not None
    assert report.divergence["workflow_sequence"] == 2


def test_a_changed_wait_condition_is_drift_not_a_clean_replay(golden: ModuleType) -> None:
    # [ref-quirk] fixed: 0.4.84 reports this history "replayed/ok" because the engine answers a
    # changed wait key with a FailWorkflow command rather than an exception.
    history = [
        {
            "event_type": "ConditionWaitOpened",
            "payload": {
                "sequence": 1,
                "condition_wait_id": "w1",
                "condition_key": "renamed",
                "timeout_seconds": 5,
            },
        },
        {"event_type": "ConditionWaitTimedOut", "payload": {"condition_wait_id": "w1"}},
    ]
    report = rv.verify_replay(golden.TimeoutWait, history)
    assert (report.status, report.reason) == ("drifted", "shape_mismatch")
    assert report.error is not None and report.error["class"] == "NonDeterministicWaitCondition"
    assert "renamed" in report.error["message"]


def test_expected_outcome_mismatch(golden: ModuleType) -> None:
    case = golden_cases()["single_activity_completion"]
    report = rv.verify_replay(
        golden.SingleActivity,
        case["history"],
        start_input=["Ada"],
        expected={"command_type": "CompleteWorkflow", "result": "bye"},
    )
    assert (report.status, report.reason) == ("drifted", "expectation_mismatch")
    assert report.observed == {"command_type": "CompleteWorkflow", "result": "hello Ada"}
    assert report.error is not None and "'hello Ada'" in report.error["message"]
    assert "'bye'" in report.error["message"]


def test_an_open_history_reports_the_next_command(golden: ModuleType) -> None:
    report = rv.verify_replay(golden.SingleActivity, {"events": []}, start_input=["Ada"])
    assert report.status == "replayed"
    assert report.observed == {
        "command_type": "ScheduleActivity",
        "activity_type": "golden.greet",
        "arguments": ["Ada"],
    }


def test_undecodable_history_payload_is_a_replay_error(golden: ModuleType) -> None:
    history = [
        {
            "event_type": "ConditionWaitOpened",
            "payload": {"sequence": 1, "condition_wait_id": "w1", "condition_key": "approval"},
        },
        {
            "event_type": "SignalReceived",
            "payload": {"signal_name": "approve", "arguments": "not json", "payload_codec": "json"},
        },
    ]
    report = rv.verify_replay(golden.SignalWait, history)
    assert (report.status, report.reason, report.verdict) == ("failed", "replay_error", "failed")
    assert report.error is not None and report.error["class"] == "WorkflowPayloadDecodeError"


def test_not_a_history_is_reported_not_raised(golden: ModuleType) -> None:
    report = rv.verify_replay(golden.SingleActivity, {"no": "events"}, start_input=["Ada"])
    assert report.status == "drifted" and report.error is not None
    assert report.error["class"] == "ValueError"


def test_case_report_dict_shape(golden: ModuleType) -> None:
    report = rv.verify_replay(golden.SingleActivity, [], start_input=["Ada"])
    assert set(report.to_dict()) == {
        "id",
        "status",
        "reason",
        "verdict",
        "promotion_decision",
        "workflow_type",
        "family",
        "source",
        "divergence",
        "expected",
        "observed",
        "error",
    }
    json.dumps(report.to_dict())  # JSON-ready


# ------------------------------------------------------------------------------------------------
# verify_golden_history


def test_the_recorded_golden_fixture_passes(golden: ModuleType) -> None:
    report = rv.verify_golden_history(GOLDEN_DIR, golden.golden_workflows())
    assert (report.status, report.verdict, report.promotion_decision) == ("replayed", "ok", "safe_to_promote")
    assert report.summary == {"fixtures": 1, "cases": 5, "replayed": 5, "drifted": 0, "failed": 0}
    assert report.missing_families == []
    assert report.covered_families == sorted(rv.REQUIRED_FAMILIES)
    assert [case.id for case in report.cases] == [
        "sdk-python@0.3.1::single_activity_completion",
        "sdk-python@0.3.1::signal_satisfies_wait_condition",
        "sdk-python@0.3.1::wait_condition_timeout",
        "sdk-python@0.3.1::version_marker_new_path",
        "sdk-python@0.3.1::saga_compensates_after_child_failure",
    ]
    document = report.to_dict()
    assert document["schema"] == "durable-workflow.v2.replay-diff" and document["schema_version"] == 1
    assert document["fixture_schema"] == "durable-workflow.golden-history.v1"
    assert document["evidence"] == {
        "fixture_count": 1,
        "case_count": 5,
        "required_families": sorted(rv.REQUIRED_FAMILIES),
        "covered_families": sorted(rv.REQUIRED_FAMILIES),
        "missing_family_count": 0,
        "missing_families": [],
    }
    saga = document["cases"][4]
    assert saga["observed"] == saga["expected"]
    assert saga["source"]["runtime"] == "sdk-python"


def test_a_tampered_fixture_drifts_and_names_the_case(golden: ModuleType, tmp_path: Path) -> None:
    def tamper(document: dict[str, Any]) -> None:
        saga = document["cases"][4]
        saga["history"][1] = {"event_type": "TimerFired", "payload": {}}

    write_fixture(tmp_path, "tampered.json", tamper)
    report = rv.verify_golden_history(tmp_path, golden.golden_workflows())
    assert (report.status, report.verdict, report.promotion_decision) == (
        "drifted",
        "drifted",
        "block_until_compatible",
    )
    drifted = [case for case in report.cases if case.status != "replayed"]
    assert [case.id for case in drifted] == ["sdk-python@0.3.1::saga_compensates_after_child_failure"]
    assert drifted[0].divergence is not None
    assert drifted[0].divergence["recorded_event_types"] == ["TimerFired"]
    assert drifted[0].divergence["workflow_sequence"] == 2


def test_unregistered_workflow_types_drift(golden: ModuleType) -> None:
    report = rv.verify_golden_history(GOLDEN_DIR, golden.some_workflows())
    assert report.status == "drifted"
    assert report.summary == {"fixtures": 1, "cases": 5, "replayed": 2, "drifted": 3, "failed": 0}
    unregistered = report.cases[2]
    assert unregistered.error is not None and "golden.timeout-wait" in unregistered.error["message"]


def test_bad_fixture_files_become_failed_cases(golden: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{nope", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"fixture_schema": "other", "cases": []}), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps({"fixture_schema": rv.FIXTURE_SCHEMA, "cases": []}), "utf-8")
    (tmp_path / "d.json").write_text("[1, 2]", encoding="utf-8")  # 0.4.84 crashes on this one
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    report = rv.verify_golden_history(tmp_path, golden.golden_workflows())
    assert [(case.id, case.reason) for case in report.cases] == [
        ("<unparseable:a.json>", "bundle_invalid"),
        ("<schema-drift:b.json>", "bundle_invalid"),
        ("<source-missing:c.json>", "bundle_invalid"),
        ("<schema-drift:d.json>", "bundle_invalid"),
    ]
    assert all(case.verdict == "failed" for case in report.cases)
    assert report.status == "failed" and report.verdict == "failed"
    assert report.missing_families == sorted(rv.REQUIRED_FAMILIES)
    assert report.summary["fixtures"] == 4 and report.summary["failed"] == 4


def test_missing_fixture_directory(golden: ModuleType, tmp_path: Path) -> None:
    report = rv.verify_golden_history(tmp_path / "nowhere", golden.golden_workflows())
    assert [case.id for case in report.cases] == ["<no-fixtures>"]
    assert report.verdict == "failed" and report.promotion_decision == "block_and_investigate"


def test_missing_families_fail_even_when_every_case_replays(golden: ModuleType, tmp_path: Path) -> None:
    write_fixture(tmp_path, "one.json", lambda document: document.update(cases=document["cases"][:1]))
    report = rv.verify_golden_history(tmp_path, golden.golden_workflows())
    assert report.summary["replayed"] == 1
    assert report.status == "failed" and report.verdict == "failed"
    assert report.missing_families == [
        "saga-compensation",
        "signal-update",
        "version-marker",
        "wait-condition",
    ]
    narrowed = rv.verify_golden_history(tmp_path, golden.golden_workflows(), required_families=["activity"])
    assert narrowed.verdict == "ok"


# ------------------------------------------------------------------------------------------------
# simulate_bundles, with bundles of runs recorded on the dev server


@activity.defn(name="golden.greet")
def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn(name="verify.greeter")
class Greeter:
    def run(self, ctx: workflow.WorkflowContext, name: str) -> Any:
        first = yield ctx.schedule_activity("golden.greet", [name])
        yield ctx.start_timer(30)
        second = yield ctx.schedule_activity("golden.greet", [first])
        return second


@workflow.defn(name="verify.greeter")
class GreeterWithoutTimer:
    """Greeter after an incompatible change: the timer was removed."""

    def run(self, ctx: workflow.WorkflowContext, name: str) -> Any:
        first = yield ctx.schedule_activity("golden.greet", [name])
        second = yield ctx.schedule_activity("golden.greet", [first])
        return second


def bundle_of(
    events: list[dict[str, Any]], *, workflow_id: str, run_id: str, signing_key: str | None = None
) -> dict[str, Any]:
    """A history-export bundle (server shape) around events recorded by the dev server."""
    history = [
        {
            "id": str(event.get("id") or f"evt-{event['sequence']}"),
            "sequence": event["sequence"],
            "type": event.get("event_type") or event.get("type"),
            "recorded_at": event.get("recorded_at") or event.get("timestamp"),
            "payload": event.get("payload") or {},
        }
        for event in events
    ]
    body = {
        "schema": "durable-workflow.v2.history-export",
        "schema_version": 1,
        "exported_at": "2026-01-01T00:00:00Z",
        "workflow": {
            "instance_id": workflow_id,
            "run_id": run_id,
            "workflow_type": "verify.greeter",
            "last_history_sequence": history[-1]["sequence"],
        },
        "payloads": {"codec": "avro"},
        "history_events": history,
        "commands": [],
        "signals": [],
        "updates": [],
        "tasks": [],
        "activities": [],
        "timers": [],
        "failures": [],
        "links": {},
        "redaction": {"applied": False, "paths": []},
        "codec_schemas": {},
        "payload_manifest": {"entries": []},
    }
    return seal_bundle(body, signing_key=signing_key, key_id="test-key" if signing_key else None)


async def _record_greeter_run() -> dict[str, Any]:
    async with LocalServerEnvironment.start() as env, env.worker(workflows=[Greeter], activities=[greet]):
        handle = await env.start_workflow(Greeter, "Ada")
        assert await env.result(handle) == "hello hello Ada"
        events = await env.get_history(handle)
        description = await env.client.describe_workflow(handle.workflow_id)
    return {"events": events, "workflow_id": handle.workflow_id, "run_id": description.run_id}


@pytest.fixture(scope="module")
def recorded_run() -> dict[str, Any]:
    """One real run on the in-process dev server (real worker, activity and timer), recorded once."""
    return asyncio.run(_record_greeter_run())


def test_dev_server_history_replays_and_a_code_change_is_caught(recorded_run: dict[str, Any]) -> None:
    bundle = bundle_of(
        recorded_run["events"], workflow_id=recorded_run["workflow_id"], run_id=recorded_run["run_id"]
    )
    clean = rv.verify_replay(Greeter, bundle["history_events"], start_input=["Ada"])
    assert clean.status == "replayed"
    assert clean.observed == {"command_type": "CompleteWorkflow", "result": "hello hello Ada"}

    changed = rv.verify_replay(GreeterWithoutTimer, bundle["history_events"], start_input=["Ada"])
    assert (changed.status, changed.reason) == ("drifted", "shape_mismatch")
    assert changed.divergence is not None
    assert (
        "TimerScheduled" in changed.divergence["recorded_event_types"]
        or "TimerFired" in (changed.divergence["recorded_event_types"])
    )


def test_simulate_bundles_of_dev_server_runs(recorded_run: dict[str, Any], tmp_path: Path) -> None:
    ids = {"workflow_id": recorded_run["workflow_id"], "run_id": recorded_run["run_id"]}
    (tmp_path / "plain.json").write_text(json.dumps(bundle_of(recorded_run["events"], **ids)), "utf-8")
    (tmp_path / "signed.json").write_text(
        json.dumps(bundle_of(recorded_run["events"], signing_key="s3cret", **ids)), "utf-8"
    )
    keyed = rv.simulate_bundles(tmp_path, signing_key="s3cret")
    assert keyed.verdict == "ok"
    # Integrity is all a simulation checks, so even a clean run asks for review.
    assert keyed.promotion_decision == "review_before_promote"
    assert keyed.summary == {"total": 2, "ok": 2, "warning": 0, "drifted": 0, "failed": 0}
    document = keyed.to_dict()
    assert document["schema"] == "durable-workflow.v2.replay-simulation.report"
    assert document["evidence"] == {
        "bundle_count": 2,
        "missing_bundle_count": 0,
        "integrity_checked_count": 2,
        "replay_checked_count": 0,
        "replay_skipped": True,
        "strict_warnings": False,
    }
    assert "error" not in document
    assert [entry["bundle_path"] for entry in document["bundles"]] == [
        str(tmp_path / "plain.json"),
        str(tmp_path / "signed.json"),
    ]
    assert document["bundles"][1]["integrity"]["integrity"]["signature_verified"] is True

    unkeyed = rv.simulate_bundles(tmp_path)
    assert (unkeyed.verdict, unkeyed.promotion_decision) == ("warning", "review_before_promote")
    assert unkeyed.bundles[1].verdict == "warning"
    strict = rv.simulate_bundles(tmp_path, strict_warnings=True)
    assert (strict.verdict, strict.promotion_decision) == ("failed", "block_and_investigate")
    assert strict.bundles[1].reason == "bundle_invalid"

    tampered = json.loads((tmp_path / "plain.json").read_text("utf-8"))
    tampered["history_events"][-1]["payload"]["result"] = "forged"
    (tmp_path / "plain.json").write_text(json.dumps(tampered), "utf-8")
    forged = rv.simulate_bundles(tmp_path, signing_key="s3cret")
    assert forged.verdict == "failed"
    assert forged.bundles[0].integrity is not None
    assert forged.bundles[0].integrity["summary"]["findings_by_rule"] == {"integrity.checksum_mismatch": 1}


def test_simulate_without_bundles(tmp_path: Path) -> None:
    missing = rv.simulate_bundles(tmp_path / "absent")
    assert (missing.verdict, missing.promotion_decision) == ("failed", "block_and_investigate")
    assert missing.missing_bundles == [str(tmp_path / "absent")]
    assert missing.error and "does not exist" in missing.error
    assert missing.to_dict()["error"] == missing.error
    empty = rv.simulate_bundles(tmp_path)
    assert empty.verdict == "failed" and empty.error and "*.json" in empty.error


# ------------------------------------------------------------------------------------------------
# Console script


def test_cli_golden_pass(workflows_dir: Path) -> None:
    done = run_cli(str(GOLDEN_DIR), "--workflows", "golden_workflows_h11:golden_workflows", cwd=workflows_dir)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "ok" and report["summary"]["replayed"] == 5
    assert done.stdout.startswith("{\n  ")  # pretty, readable


def test_cli_golden_drift_exits_1_and_writes_output(workflows_dir: Path, tmp_path: Path) -> None:
    write_fixture(
        tmp_path / "fixtures",
        "tampered.json",
        lambda document: document["cases"][0]["history"].__setitem__(
            0, {"event_type": "TimerFired", "payload": {}}
        ),
    )
    out = tmp_path / "reports" / "diff.json"
    done = run_cli(
        str(tmp_path / "fixtures"),
        "--workflows",
        "golden_workflows_h11:golden_workflows",
        "--output",
        str(out),
        cwd=workflows_dir,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    report = json.loads(text)
    assert report["status"] == "drifted" and report["cases"][0]["reason"] == "shape_mismatch"


def test_cli_missing_families(workflows_dir: Path, tmp_path: Path) -> None:
    write_fixture(tmp_path, "one.json", lambda document: document.update(cases=document["cases"][:1]))
    done = run_cli(str(tmp_path), "--workflows", "golden_workflows_h11:golden_workflows", cwd=workflows_dir)
    assert done.returncode == 1
    assert json.loads(done.stdout)["missing_families"] == [
        "saga-compensation",
        "signal-update",
        "version-marker",
        "wait-condition",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--workflows"),
        (["--workflows", "no_colon"], "MODULE:CALLABLE"),
        (["--workflows", "golden_workflows_h11:NOT_CALLABLE"], "not callable"),
        (["--workflows", "golden_workflows_h11:not_workflows"], "not a @workflow.defn class"),
        (["--workflows", "no_such_module_h11:x"], "no_such_module_h11"),
    ],
)
def test_cli_usage_errors(workflows_dir: Path, args: list[str], message: str) -> None:
    done = run_cli(str(GOLDEN_DIR), *args, cwd=workflows_dir)
    assert done.returncode == 2
    assert "usage:" in done.stderr and message in done.stderr
    assert done.stdout == ""


def test_cli_simulate_bundles(tmp_path: Path) -> None:
    events = json.loads(GOLDEN_FILE.read_text("utf-8"))["cases"][0]["history"]
    numbered = [{**event, "sequence": index + 1} for index, event in enumerate(events)]
    bundle = bundle_of(numbered, workflow_id="wf-1", run_id="run-1", signing_key="k")
    (tmp_path / "b.json").write_text(json.dumps(bundle), encoding="utf-8")
    keyed = run_cli(str(tmp_path), "--simulate-bundles", "--signing-key", "k")
    assert keyed.returncode == 0, keyed.stderr
    assert json.loads(keyed.stdout)["promotion_decision"] == "review_before_promote"
    warning = run_cli(str(tmp_path), "--simulate-bundles")
    assert warning.returncode == 0 and json.loads(warning.stdout)["verdict"] == "warning"
    strict = run_cli(str(tmp_path), "--simulate-bundles", "--strict-warnings")
    assert strict.returncode == 1 and json.loads(strict.stdout)["verdict"] == "failed"
    missing = run_cli(str(tmp_path / "absent"), "--simulate-bundles", "--workflows", "ignored:x")
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]


def test_module_runs_with_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dw_testing.replay_verify", str(tmp_path), "--simulate-bundles"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and json.loads(done.stdout)["verdict"] == "failed"


# ------------------------------------------------------------------------------------------------
# Facade and parity with the published 0.4.84 tool


def test_facade_names() -> None:
    assert facade.ReplayCaseReport is rv.CaseReport
    for name in (
        "GoldenHistoryReport",
        "SimulationReport",
        "aggregate_verdicts",
        "promotion_decision_for",
        "promotion_decision_for_report",
        "simulate_bundles",
        "verify_golden_history",
        "verify_replay",
        "main",
    ):
        assert getattr(facade, name) is getattr(rv, name)
        assert name in facade.__all__
    assert facade.REPORT_SCHEMA == "durable-workflow.v2.replay-diff"
    assert facade.SIMULATION_REPORT_SCHEMA == "durable-workflow.v2.replay-simulation.report"


def reference_bin(name: str) -> Path:
    python = REPO_ROOT / ".venv-ref" / "bin" / "python"
    if not python.exists():
        built = subprocess.run(
            [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        if built.returncode != 0:
            pytest.fail(f"could not build the 0.4.84 reference venv:\n{built.stderr}")
        python = Path(built.stdout.strip().splitlines()[-1])
    return python.parent / name


@pytest.mark.reference_sdk
def test_golden_report_equals_the_published_tool(workflows_dir: Path, tmp_path: Path) -> None:
    write_fixture(tmp_path, "recorded.json")
    write_fixture(
        tmp_path,
        "tampered.json",
        lambda document: document["cases"][4]["history"].__setitem__(
            1, {"event_type": "TimerFired", "payload": {}}
        ),
    )
    args = [str(tmp_path), "--workflows", "golden_workflows_h11:golden_workflows"]
    theirs = subprocess.run(
        [str(reference_bin("durable-workflow-replay-verify")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workflows_dir,
        env={**os.environ, "PYTHONPATH": str(workflows_dir)},
    )
    ours = run_cli(*args, cwd=workflows_dir)
    assert (ours.returncode, theirs.returncode) == (1, 1), theirs.stderr
    mine, reference = json.loads(ours.stdout), json.loads(theirs.stdout)
    for mine_case, reference_case in zip(mine["cases"], reference["cases"], strict=True):
        # Messages are worded differently (ours names the fix); the facts must agree.
        for side in (mine_case, reference_case):
            for key in ("divergence", "error"):
                if side[key]:
                    side[key].pop("message")
            if side["divergence"]:
                side["divergence"].pop("expected_shape")
                side["error"].pop("expected_shape")
    assert mine == reference


@pytest.mark.reference_sdk
def test_simulation_report_matches_the_published_tool(tmp_path: Path) -> None:
    events = json.loads(GOLDEN_FILE.read_text("utf-8"))["cases"][1]["history"]
    numbered = [{**event, "sequence": index + 1} for index, event in enumerate(events)]
    (tmp_path / "a-clean.json").write_text(
        json.dumps(bundle_of(numbered, workflow_id="w", run_id="r")), "utf-8"
    )
    (tmp_path / "b-signed.json").write_text(
        json.dumps(bundle_of(numbered, workflow_id="w", run_id="r", signing_key="k")), "utf-8"
    )
    broken = bundle_of(numbered, workflow_id="w", run_id="r")
    del broken["timers"]
    (tmp_path / "c-broken.json").write_text(json.dumps(broken), "utf-8")
    (tmp_path / "d-garbage.json").write_text("{", "utf-8")
    for extra in ([], ["--strict-warnings"], ["--signing-key", "k"]):
        args = [str(tmp_path), "--simulate-bundles", *extra]
        theirs = subprocess.run(
            [str(reference_bin("durable-workflow-replay-verify")), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        ours = run_cli(*args)
        assert ours.returncode == theirs.returncode == 1
        mine, reference = json.loads(ours.stdout), json.loads(theirs.stdout)
        for document in (mine, reference):
            for entry in document["bundles"]:
                entry.pop("reason")  # ours names bundle_invalid for failed bundles; 0.4.84 leaves null
                for finding in entry["integrity"]["findings"]:
                    finding.pop("message")
                    finding.pop("path")  # ours points at the offending field; 0.4.84 leaves null
        for mine_entry, reference_entry in zip(mine.pop("bundles"), reference.pop("bundles"), strict=True):
            assert mine_entry == reference_entry
        assert mine == reference
