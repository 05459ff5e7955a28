"""Replay conformance shard (``dw_testing.replay_conformance`` / ``durable-workflow-replay-conformance``).

The scenarios drive the real replay engine against histories written by the in-memory server
simulator; these tests check the report contract, that each kind of scenario fails when its
evidence is wrong, the console script, and agreement with the published 0.4.84 shard on which
scenarios exist and how artifact provenance is judged.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_testing import replay_conformance as rc

import durable_workflow.replay_conformance as facade

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(sys.executable).parent / "durable-workflow-replay-conformance"

PUBLISHED_VERSIONS = {
    "server": "1.2.3",
    "cli": "0.5.0",
    "workflow-php": "2.0.0",
    "sdk-python": "0.5.0",
    "waterline": "1.0.0",
}
PUBLISHED_SOURCES = {
    "server": "docker_image",
    "cli": "GitHub release",  # normalised to github_release
    "workflow-php": "packagist",
    "sdk-python": "PyPI",
    "waterline": "composer",
}


@pytest.fixture(scope="module")
def published_report() -> dict[str, Any]:
    return rc.compose_report(artifact_versions=PUBLISHED_VERSIONS, artifact_sources=PUBLISHED_SOURCES)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["scenario_id"]: item for item in report["scenario_results"]}


def test_every_scenario_passes_for_a_published_install(published_report: dict[str, Any]) -> None:
    report = published_report
    assert report["schema"] == "durable-workflow.v2.replay-conformance.result"
    assert report["schema_version"] == 1
    assert report["coverage_scope"] == "sdk-python-runtime-shard"
    assert report["outcome"] == "pass", report["findings"]
    assert report["findings"] == [] and report["finding_links"] == {}
    assert report["runtime_matrix"] == {"runtimes": ["sdk-python"]}
    assert report["artifact_versions"] == PUBLISHED_VERSIONS
    for stamp in ("started_at", "finished_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", report[stamp])
    assert [item["scenario_id"] for item in report["scenario_results"]] == list(rc.SCENARIO_IDS)
    assert len(rc.SCENARIO_IDS) == 16
    assert {item["status"] for item in report["scenario_results"]} == {"pass"}
    assert report["completed_history_replay"]["total"] == report["completed_history_replay"]["passed"] == 5
    assert report["worker_restart_replay"]["total"] == report["worker_restart_replay"]["passed"] == 6
    assert report["adversarial_replay"]["total"] == report["adversarial_replay"]["passed"] == 3
    assert report["in_flight_timing"] == {
        "total": 1,
        "passed": 1,
        "scenario_statuses": {"python_in_flight_signal_restart_timing": "pass"},
    }
    for item in report["scenario_results"]:
        assert item["implementation_identity"]["runtime"] == "sdk-python"
        assert item["published_artifact_versions"] == PUBLISHED_VERSIONS
        assert item["replay_diagnostics"] == item["observed_outputs"]
    json.dumps(report)


def test_completed_histories_replay_to_the_expected_state(published_report: dict[str, Any]) -> None:
    results = by_id(published_report)
    saga = results["python_completed_history_saga_compensation_replay"]["observed_outputs"]
    assert saga["history_event_types"][-1] == "WorkflowCompleted"
    assert "ChildRunFailed" in saga["history_event_types"]
    assert saga["replayed_state"]["events"] == ["compensated:payment declined"]
    assert saga["replayed_command_sequence"] == [{"command_type": "CompleteWorkflow"}]
    waits = results["python_completed_history_wait_condition_replay"]["observed_outputs"]
    assert "UpdateApplied" in waits["history_event_types"]
    assert waits["replayed_state"]["approved"] is True


def test_restarts_compare_live_and_rebuilt_workers(published_report: dict[str, Any]) -> None:
    results = by_id(published_report)
    in_flight = results["python_in_flight_signal_restart_timing"]["observed_outputs"]
    assert in_flight["history_event_types"][-1] == "SignalReceived"
    assert in_flight["restarted_next_decision"] == in_flight["live_next_decision"]
    assert in_flight["restarted_next_decision"][0]["activity_type"] == "python-replay.greet"
    divergence = results["python_code_divergence_refusal"]["observed_outputs"]
    assert divergence["replay_diff"]["reason"] == "shape_mismatch"
    assert "python-replay.farewell" in divergence["replay_diff"]["divergence"]["message"]
    mutation = results["server_history_mutation_refusal"]["observed_outputs"]
    assert mutation["integrity"]["rules"] == ["integrity.checksum_mismatch"]


def test_scenarios_fail_on_wrong_evidence() -> None:
    # Each check is a real comparison: feed it a doctored recording and it fails.
    recording = rc._record("activity")
    truncated = rc._Recording(family="activity", run_id=recording.run_id, events=recording.events[:-2])
    assert rc._completed_history(truncated).passed is False

    other_family = rc._record("version-marker")
    other_family.family = "activity"  # replaying the version-marker history as the activity run
    crashed = rc._run(lambda: rc._completed_history(other_family))  # replay refuses: a failed scenario
    assert crashed.passed is False
    assert crashed.observed["error"]["class"] == "NonDeterministicReplayError"

    doctored = rc._record("signal-update")
    doctored.checkpoints["after_signal"].live_state["name"] = "Someone else"
    assert rc._in_flight_signal(doctored).passed is False

    doctored_query = rc._record("activity")
    doctored_query.final_state = {**doctored_query.final_state, "greeting": "Hi"}
    assert rc._restart_completed_query(doctored_query).passed is False


@pytest.mark.parametrize(
    ("versions", "sources", "field", "expected"),
    [
        ({"server": None}, {}, "missing_artifact_versions", ["server"]),
        ({}, {"cli": None}, "missing_artifact_sources", ["cli"]),
        ({"cli": "latest"}, {}, "placeholder_versions", {"cli": "latest"}),
        ({"sdk-python": "0.5.0.dev1"}, {}, "rejected_versions", {"sdk-python": "0.5.0.dev1"}),
        ({"sdk-python": "0.5.0+local"}, {}, "rejected_versions", {"sdk-python": "0.5.0+local"}),
        ({"server": "0.0.0"}, {}, "rejected_versions", {"server": "0.0.0"}),
        ({}, {"sdk-python": "editable"}, "forbidden_sources", {"sdk-python": "editable"}),
        ({}, {"sdk-python": "git checkout"}, "forbidden_sources", {"sdk-python": "git checkout"}),
        ({}, {"server": "docker"}, "untrusted_sources", {"server": "docker"}),
    ],
)
def test_unpublished_artifacts_fail_the_install_scenario(
    versions: dict[str, str | None], sources: dict[str, str | None], field: str, expected: Any
) -> None:
    given_versions = {k: v for k, v in {**PUBLISHED_VERSIONS, **versions}.items() if v is not None}
    given_sources = {k: v for k, v in {**PUBLISHED_SOURCES, **sources}.items() if v is not None}
    outcome = rc._install_only(given_versions, given_sources)
    assert outcome.passed is False
    assert outcome.observed[field] == expected
    assert outcome.observed["published_install_tuple_proven"] is False


def test_a_failed_scenario_has_a_linked_finding() -> None:
    report = rc.compose_report(artifact_versions={**PUBLISHED_VERSIONS, "cli": "main"})
    assert report["outcome"] == "fail"
    assert [finding["scenario_id"] for finding in report["findings"]] == ["published_artifact_install_only"]
    finding = report["findings"][0]
    assert "published_artifact_install_only" in finding["title"]
    assert finding["evidence"]["placeholder_versions"] == {"cli": "main"}
    assert report["finding_links"] == {"published_artifact_install_only": [finding]}
    # The replay scenarios do not depend on the artifact tuple.
    assert all(item["status"] == "pass" for item in report["scenario_results"][1:])


def test_facade() -> None:
    assert facade.compose_report is rc.compose_report
    assert facade.ReplayConformanceWorkflow is rc.ReplayConformanceWorkflow
    assert facade.RESULT_SCHEMA == "durable-workflow.v2.replay-conformance.result"
    assert set(facade.__all__) >= {
        "RESULT_SCHEMA",
        "RESULT_VERSION",
        "COVERAGE_SCOPE",
        "ReplayConformanceWorkflow",
        "ReplayConformanceDivergentWorkflow",
        "compose_report",
        "main",
    }


# ------------------------------------------------------------------------------------------------
# Console script


def cli_args(versions: dict[str, str], sources: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in versions.items():
        args += ["--artifact-version", f"{name}={value}"]
    for name, value in sources.items():
        args += ["--artifact-source", f"{name}={value}"]
    return args


def run(executable: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(executable), *args], capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_output(tmp_path: Path) -> None:
    passing = run(
        SCRIPT, *cli_args(PUBLISHED_VERSIONS, PUBLISHED_SOURCES), "--artifact-version", "oops", "--json"
    )
    assert passing.returncode == 0, passing.stderr
    report = json.loads(passing.stdout)
    assert report["outcome"] == "pass" and "oops" not in report["artifact_versions"]
    assert passing.stdout.startswith("{\n  ")

    out = tmp_path / "deep" / "shard.json"
    failing = run(SCRIPT, "--output", str(out))
    assert failing.returncode == 1 and failing.stdout == ""
    written = json.loads(out.read_text("utf-8"))
    assert written["outcome"] == "fail"
    assert written["findings"][0]["evidence"]["missing_artifact_versions"] == list(rc.REQUIRED_ARTIFACTS)

    usage = run(SCRIPT, "--nope")
    assert usage.returncode == 2 and "usage:" in usage.stderr


# ------------------------------------------------------------------------------------------------
# Parity with the published 0.4.84 shard


def reference_script() -> Path:
    python = REPO_ROOT / ".venv-ref" / "bin" / "python"
    if not python.exists():
        built = subprocess.run(
            [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        if built.returncode != 0:
            pytest.fail(f"could not build the 0.4.84 reference venv:\n{built.stderr}")
        python = Path(built.stdout.strip().splitlines()[-1])
    return python.parent / "durable-workflow-replay-conformance"


@pytest.mark.reference_sdk
@pytest.mark.parametrize(
    ("versions", "sources"),
    [
        ({}, {}),
        ({"server": "latest"}, {}),
        ({"sdk-python": "1.0+local"}, {}),
        ({}, {"sdk-python": "editable"}),
        ({}, {"server": "docker"}),
    ],
)
def test_same_scenarios_and_verdicts_as_the_published_shard(
    versions: dict[str, str], sources: dict[str, str]
) -> None:
    args = cli_args({**PUBLISHED_VERSIONS, **versions}, {**PUBLISHED_SOURCES, **sources})
    theirs, ours = run(reference_script(), *args), run(SCRIPT, *args)
    assert ours.returncode == theirs.returncode, theirs.stderr
    mine, reference = json.loads(ours.stdout), json.loads(theirs.stdout)
    assert set(mine) == set(reference)
    assert mine["outcome"] == reference["outcome"]
    assert {i["scenario_id"]: i["status"] for i in mine["scenario_results"]} == {
        i["scenario_id"]: i["status"] for i in reference["scenario_results"]
    }
    for group in (
        "completed_history_replay",
        "worker_restart_replay",
        "adversarial_replay",
        "in_flight_timing",
    ):
        assert mine[group] == reference[group]
    assert [f["scenario_id"] for f in mine["findings"]] == [f["scenario_id"] for f in reference["findings"]]
    install_mine = mine["scenario_results"][0]["observed_outputs"]
    install_reference = reference["scenario_results"][0]["observed_outputs"]
    for key in ("placeholder_versions", "forbidden_sources", "untrusted_sources", "missing_artifacts"):
        assert install_mine[key] == install_reference[key], key
