"""History export (control-plane.md §W7): real runs on the in-process dev server, driven by the real
``dw_worker.Worker``, exported over HTTP and checked by our offline bundle verifier, by the bundle
simulation, and by the published 0.4.84 client (its own venv, as a subprocess).

One scenario covers activities, a timer, a signal, an update, a child workflow and continue-as-new;
it runs once per module and every test reads what it produced.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from dw_client import Client
from dw_core import activity, serializer, workflow
from dw_devserver import DevServer
from dw_devserver.history_export import SIGNING_KEY_ENV, SIGNING_KEY_ID_ENV, canonical_json, seal
from dw_testing.history_bundle_verify import canonical_bundle_json, seal_bundle, verify_bundle
from dw_testing.replay_verify import simulate_bundles, verify_replay
from dw_worker import Worker
from hypothesis import given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIXTURE = (
    Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "control-plane" / "workflow-history-export-parity.json"
)
CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
QUEUE = "export-q"


@activity.defn(name="export.greet")
def greet(name: str) -> str:
    return f"hello {name}"


@activity.defn(name="export.explode")
def explode(reason: str) -> str:
    raise ValueError(f"exploded: {reason}")


@workflow.defn(name="export.failing")
class FailingWorkflow:
    def run(self, ctx: Any) -> Any:
        value = yield ctx.schedule_activity("export.explode", ["on purpose"])
        return value


@workflow.defn(name="export.child")
class ChildWorkflow:
    def run(self, ctx: Any, n: int) -> Any:
        greeting = yield ctx.schedule_activity("export.greet", [f"child-{n}"])
        return greeting


@workflow.defn(name="export.parent")
class ParentWorkflow:
    def __init__(self) -> None:
        self.approved_by: str | None = None
        self.quota = 0

    @workflow.signal("approve")
    def approve(self, who: str) -> None:
        self.approved_by = who

    @workflow.update("set_quota")
    def set_quota(self, quota: int) -> int:
        self.quota = quota
        return quota

    @workflow.query("state")
    def state(self) -> dict[str, Any]:
        return {"approved_by": self.approved_by, "quota": self.quota}

    def run(self, ctx: Any, round_number: int) -> Any:
        if round_number > 0:
            last = yield ctx.schedule_activity("export.greet", [f"round-{round_number}"])
            return {"round": round_number, "last": last}
        first = yield ctx.schedule_activity("export.greet", ["a"])
        yield ctx.start_timer(5)
        yield ctx.wait_condition(lambda: self.approved_by is not None and self.quota > 0, key="approval")
        child = yield ctx.start_child_workflow("export.child", [7])
        assert first == "hello a" and child == "hello child-7"
        return ctx.continue_as_new(round_number + 1)


def reference_python() -> str:
    """The reference venv's python, creating the venv when missing (CI starts from a fresh clone)."""
    candidate = REPO / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    done = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


_REFERENCE_EXPORT = """
import asyncio, json, sys
from durable_workflow import Client
from durable_workflow.history_bundle_verify import verify_bundle

async def main(url, workflow_id, run_id):
    async with Client(url) as client:
        bundle = await client.export_history(workflow_id, run_id)
    report = verify_bundle(bundle)
    print(json.dumps({"type": type(bundle).__name__, "keys": sorted(bundle),
                      "checksum": bundle["integrity"]["checksum"], "verify_status": report["status"],
                      "findings": [f["rule"] for f in report["findings"]]}))

asyncio.run(main(*sys.argv[1:]))
"""


async def _wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _scenario() -> dict[str, Any]:
    async with (
        DevServer.start(virtual_clock=True, long_poll_timeout=1) as dev,
        Client(dev.url) as client,
        Worker(
            client,
            task_queue=QUEUE,
            workflows=[ParentWorkflow, ChildWorkflow, FailingWorkflow],
            activities=[greet, explode],
        ),
    ):
        handle = await client.start_workflow(
            workflow_type="export.parent", task_queue=QUEUE, workflow_id="export-1", input=[0]
        )
        first_run = handle.run_id
        assert first_run

        async def timer_pending() -> bool:
            history = await handle.get_history()
            return any(e["event_type"] == "TimerScheduled" for e in history["events"])

        await _wait_for(timer_pending, "the timer to be scheduled")
        await dev.skip(10)

        async def waiting_on_condition() -> bool:
            history = await handle.get_history()
            return any(e["event_type"] == "ConditionWaitOpened" for e in history["events"])

        await _wait_for(waiting_on_condition, "the condition wait")
        await handle.signal("approve", ["ops"])
        assert await handle.update("set_quota", [3]) is not None
        final = await handle.result(timeout=60, poll_interval=0.05)
        assert final == {"round": 1, "last": "hello round-1"}

        failing = await client.start_workflow(
            workflow_type="export.failing", task_queue=QUEUE, workflow_id="export-failing", input=[]
        )
        with pytest.raises(Exception, match="exploded"):
            await failing.result(timeout=60, poll_interval=0.05)
        failed_bundle = await failing.export_history()

        runs = (await handle.list_runs()).runs
        run_ids = [r.run_id for r in runs]
        second_run = next(r for r in run_ids if r != first_run)
        async with httpx.AsyncClient(base_url=dev.url, timeout=30) as http:
            listed = (await http.get("/api/workflows", headers=CONTROL)).json()["workflows"]
            child_id = next(w["workflow_id"] for w in listed if w["workflow_type"] == "export.child")
            child = (await http.get(f"/api/workflows/{child_id}", headers=CONTROL)).json()
            raw = await http.get(f"/api/workflows/export-1/runs/{first_run}/history/export", headers=CONTROL)
            missing = await http.get(
                "/api/workflows/export-1/runs/no-such-run/history/export", headers=CONTROL
            )
            created = await http.post("/api/namespaces", json={"name": "elsewhere"}, headers=CONTROL)
            assert created.status_code in (200, 201), created.text
            foreign = await http.get(
                f"/api/workflows/export-1/runs/{first_run}/history/export",
                headers={**CONTROL, "X-Namespace": "elsewhere"},
            )
        first = await client.export_history("export-1", first_run)
        second = await client.export_history("export-1", second_run)
        child_bundle = await client.export_history(child_id, child["run_id"])

        proc = await asyncio.create_subprocess_exec(
            reference_python(),
            "-c",
            _REFERENCE_EXPORT,
            dev.url,
            "export-1",
            first_run,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        return {
            "first": first,
            "second": second,
            "child": child_bundle,
            "failed": failed_bundle,
            "first_run": first_run,
            "second_run": second_run,
            "child_run": child["run_id"],
            "raw_status": raw.status_code,
            "raw_content_type": raw.headers.get("content-type", ""),
            "missing": (missing.status_code, missing.json()),
            "foreign": (foreign.status_code, foreign.json()),
            "reference": json.loads(out.decode().strip().splitlines()[-1]),
        }


@pytest.fixture(scope="module")
def exported() -> dict[str, Any]:
    return asyncio.run(_scenario())


def test_export_has_the_recorded_fixture_shape(exported: dict[str, Any]) -> None:
    fixture = json.loads(FIXTURE.read_text())["response_body"]
    bundle = exported["first"]
    assert exported["raw_status"] == 200 and exported["raw_content_type"].startswith("application/json")
    assert set(fixture) <= set(bundle)
    assert bundle["schema"] == fixture["schema"]
    assert set(fixture["workflow"]) <= set(bundle["workflow"])
    assert bundle["workflow"]["instance_id"] == "export-1"
    assert bundle["workflow"]["run_id"] == exported["first_run"]
    assert bundle["workflow"]["workflow_type"] == "export.parent"
    for event in bundle["events"]:
        assert set(event) == set(fixture["events"][0])
    assert "WorkflowStarted" in [e["event_type"] for e in bundle["events"]]
    assert set(fixture["metadata"]) <= set(bundle["metadata"])
    assert bundle["metadata"]["format_version"] == fixture["metadata"]["format_version"]
    assert [e["sequence"] for e in bundle["events"]] == [e["sequence"] for e in bundle["history_events"]]


def test_export_has_every_w7_section_from_the_runs_data(exported: dict[str, Any]) -> None:
    bundle = exported["first"]
    for key in [
        "schema_version",
        "exported_at",
        "dedupe_key",
        "history_complete",
        "workflow",
        "payloads",
        "summary",
        "selected_run",
        "history_events",
        "waits",
        "timeline",
        "linked_intakes_scope",
        "linked_intakes",
        "commands",
        "signals",
        "updates",
        "tasks",
        "activities",
        "timers",
        "failures",
        "links",
        "redaction",
        "codec_schemas",
        "payload_manifest",
        "integrity",
    ]:
        assert key in bundle, key
    assert bundle["history_complete"] is True
    assert bundle["workflow"]["status"] == "completed"
    assert bundle["workflow"]["closed_reason"] == "continued"
    assert bundle["workflow"]["is_current_run"] is False
    assert bundle["workflow"]["current_run_id"] == exported["second_run"]
    types = [e["type"] for e in bundle["history_events"]]
    assert bundle["workflow"]["last_history_sequence"] == bundle["history_events"][-1]["sequence"]

    assert [a["activity_type"] for a in bundle["activities"]] == ["export.greet"]
    assert bundle["activities"][0]["status"] == "completed" and bundle["activities"][0]["result"]
    assert [t["status"] for t in bundle["timers"]] == ["fired"]
    assert [(s["name"], s["command_id"] is not None) for s in bundle["signals"]] == [("approve", True)]
    assert [(u["name"], u["status"]) for u in bundle["updates"]] == [("set_quota", "completed")]
    assert {t["task_type"] for t in bundle["tasks"]} == {"workflow", "activity"}
    assert bundle["waits"] and bundle["waits"][0]["condition_key"] == "approval"

    command_types = {c["type"] for c in bundle["commands"]}
    assert {"start", "signal", "update"} <= command_types, command_types
    referenced = {e["workflow_command_id"] for e in bundle["history_events"] if e["workflow_command_id"]}
    assert {c["id"] for c in bundle["commands"]} == referenced

    links = bundle["links"]
    assert links["parent"] is None and links["continued_from"] is None
    assert links["continued_as"]["run_id"] == exported["second_run"]
    assert [c["run_id"] for c in links["children"]] == [exported["child_run"]]
    assert links["children"][0]["workflow_type"] == "export.child"
    assert "ChildRunCompleted" in types or any("Child" in t for t in types)

    schema = bundle["codec_schemas"]["avro"]
    assert schema["writer_schema_fingerprint"].startswith("sha256:")
    paths = {e["path"] for e in bundle["payload_manifest"]["entries"]}
    assert "payloads.arguments.data" in paths
    assert all(
        e["codec"] == "avro" and e["avro_framing"] == "generic-wrapper-v1"
        for e in bundle["payload_manifest"]["entries"]
    )
    assert bundle["failures"] == []


def test_continued_run_and_child_link_back(exported: dict[str, Any]) -> None:
    second, child = exported["second"], exported["child"]
    assert second["links"]["continued_from"]["run_id"] == exported["first_run"]
    assert second["links"]["continued_as"] is None
    assert second["workflow"]["is_current_run"] is True and second["workflow"]["run_number"] == 2
    assert child["links"]["parent"]["run_id"] == exported["first_run"]
    assert child["links"]["parent"]["workflow_id"] == "export-1"


def test_our_verifier_accepts_every_export_and_rejects_a_tampered_event(exported: dict[str, Any]) -> None:
    for name in ("first", "second", "child", "failed"):
        report = verify_bundle(exported[name])
        assert report["status"] == "ok", (name, report["findings"])
        assert report["integrity"]["checksum_matches"] is True
        assert report["bundle"]["history_event_count"] == len(exported[name]["history_events"])

    tampered = copy.deepcopy(exported["first"])
    tampered["history_events"][1]["payload"]["injected"] = True
    report = verify_bundle(tampered)
    assert report["status"] == "failed"
    assert "integrity.checksum_mismatch" in report["summary"]["findings_by_rule"]

    reordered = copy.deepcopy(exported["first"])
    reordered["history_events"][0]["sequence"] = 99
    rules = verify_bundle(reordered)["summary"]["findings_by_rule"]
    assert "history_events.sequence_not_monotonic" in rules and "integrity.checksum_mismatch" in rules


def test_simulate_bundles_passes_on_a_folder_holding_the_exports(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    for name in ("first", "second", "child"):
        (tmp_path / f"{name}.json").write_text(json.dumps(exported[name]), encoding="utf-8")
    report = simulate_bundles(tmp_path, strict_warnings=True)
    assert report.verdict == "ok", report.to_dict()
    assert report.summary["total"] == 3 and report.summary["ok"] == 3

    tampered = copy.deepcopy(exported["first"])
    tampered["signals"][0]["name"] = "approve-everything"
    (tmp_path / "first.json").write_text(json.dumps(tampered), encoding="utf-8")
    assert simulate_bundles(tmp_path).verdict == "failed"


def test_failures_are_listed_with_their_events(exported: dict[str, Any]) -> None:
    bundle = exported["failed"]
    assert bundle["workflow"]["status"] == "failed" and bundle["history_complete"] is True
    kinds = [f.get("event_type") for f in bundle["failures"]]
    assert "ActivityFailed" in kinds and "WorkflowFailed" in kinds, bundle["failures"]
    activity_failure = next(f for f in bundle["failures"] if f.get("event_type") == "ActivityFailed")
    assert "exploded: on purpose" in json.dumps(activity_failure)
    assert bundle["activities"][0]["status"] == "failed"


@pytest.mark.parametrize(
    ("name", "workflow_cls", "final"),
    [
        ("first", ParentWorkflow, {"command_type": "ContinueAsNew", "arguments": [1]}),
        ("second", ParentWorkflow, {"command_type": "CompleteWorkflow"}),
        ("child", ChildWorkflow, {"command_type": "CompleteWorkflow", "result": "hello child-7"}),
    ],
)
def test_the_exported_history_replays_with_the_code_that_produced_it(
    exported: dict[str, Any], name: str, workflow_cls: type, final: dict[str, Any]
) -> None:
    bundle = exported[name]
    start_input = serializer.decode(
        bundle["payloads"]["arguments"]["data"], codec=bundle["payloads"]["codec"]
    )
    report = verify_replay(workflow_cls, bundle["history_events"], start_input=start_input)
    assert report.status == "replayed", report.to_dict()
    assert report.observed is not None
    assert {k: report.observed.get(k) for k in final} == final


def test_the_exported_history_catches_changed_workflow_code(exported: dict[str, Any]) -> None:
    @workflow.defn(name="export.child")
    class ChangedChild:
        def run(self, ctx: Any, n: int) -> Any:
            yield ctx.start_timer(1)  # the recorded run scheduled an activity here
            return n

    bundle = exported["child"]
    start_input = serializer.decode(bundle["payloads"]["arguments"]["data"], codec="avro")
    report = verify_replay(ChangedChild, bundle["history_events"], start_input=start_input)
    assert report.status == "drifted" and report.reason == "shape_mismatch"


def test_the_published_client_reads_the_export(exported: dict[str, Any]) -> None:
    ref = exported["reference"]
    assert ref["type"] == "dict"
    assert ref["checksum"] == exported["first"]["integrity"]["checksum"]
    assert ref["verify_status"] == "ok", ref["findings"]
    assert set(ref["keys"]) == set(exported["first"])


def test_unknown_run_and_other_namespace_are_run_not_found(exported: dict[str, Any]) -> None:
    for case in ("missing", "foreign"):
        status, body = exported[case]
        assert status == 404 and body["reason"] == "run_not_found", (case, body)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_the_servers_seal_is_what_the_verifier_recomputes(body: dict[str, Any]) -> None:
    sealed = seal({**body, "integrity": {"stale": True}})
    assert canonical_json(sealed).decode("utf-8") == canonical_bundle_json(sealed)
    assert sealed["integrity"] == seal_bundle(sealed)["integrity"]


async def test_signing_key_signs_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, "s3cret")
    monkeypatch.setenv(SIGNING_KEY_ID_ENV, "dev-key-1")
    async with DevServer.start(virtual_clock=True, long_poll_timeout=0.5) as dev, Client(dev.url) as client:
        handle = await client.start_workflow(
            workflow_type="export.parent", task_queue=QUEUE, workflow_id="signed-1", input=[0]
        )
        assert handle.run_id
        bundle = await handle.export_history()
    assert bundle["history_complete"] is False
    integrity = bundle["integrity"]
    assert integrity["signature_algorithm"] == "hmac-sha256" and integrity["key_id"] == "dev-key-1"
    assert verify_bundle(bundle, signing_key="s3cret")["status"] == "ok"
    assert verify_bundle(bundle, signing_key="wrong")["summary"]["findings_by_rule"] == {
        "integrity.signature_mismatch": 1
    }
    unkeyed = verify_bundle(bundle)
    assert unkeyed["status"] == "warning"
    assert list(unkeyed["summary"]["findings_by_rule"]) == ["integrity.signature_key_unavailable"]


async def test_a_blank_signing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, "   ")
    async with DevServer.start(virtual_clock=True, long_poll_timeout=0.5) as dev, Client(dev.url) as client:
        handle = await client.start_workflow(
            workflow_type="export.parent", task_queue=QUEUE, workflow_id="blank-key", input=[0]
        )
        async with httpx.AsyncClient(base_url=dev.url, timeout=30) as http:
            answer = await http.get(
                f"/api/workflows/blank-key/runs/{handle.run_id}/history/export", headers=CONTROL
            )
    assert answer.status_code == 500
    assert answer.json()["reason"] == "history_export_signing_key_invalid"
    assert SIGNING_KEY_ENV in answer.json()["message"]
