"""Every golden history recorded from the real system replays to its expected command."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from dw_core import workflow
from dw_core.errors import ChildWorkflowFailed
from dw_core.workflow import Replayer, replay, replay_history_file

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
GOLDEN_DIR = Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "golden_history"


@workflow.defn(name="golden.single-activity")
class SingleActivity:
    def run(self, ctx: workflow.WorkflowContext, name: str) -> Any:
        return (yield ctx.schedule_activity("golden.greet", [name]))


@workflow.defn(name="golden.signal-wait")
class SignalWait:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal("approve")
    def approve(self, who: str) -> None:
        self.approved_by = who

    def run(self, ctx: workflow.WorkflowContext) -> Any:
        yield ctx.wait_condition(lambda: self.approved_by is not None, key="approval", timeout=30)
        notified = yield ctx.schedule_activity("golden.notify", [self.approved_by])
        return {"approved_by": self.approved_by, "activity_result": notified}


@workflow.defn(name="golden.timeout-wait")
class TimeoutWait:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal("approve")
    def approve(self) -> None:
        self.approved = True

    def run(self, ctx: workflow.WorkflowContext) -> Any:
        ok = yield ctx.wait_condition(lambda: self.approved, key="approval", timeout=5)
        return "approved" if ok else "timed-out"


@workflow.defn(name="golden.version-marker")
class VersionMarker:
    def run(self, ctx: workflow.WorkflowContext) -> Any:
        version = yield ctx.get_version("golden-version", 1, 2)
        if version == 2:
            yield ctx.schedule_activity("golden.version-new-path", [])
        else:
            yield ctx.schedule_activity("golden.version-old-path", [])
        return version


@workflow.defn(name="golden.saga-compensation")
class SagaCompensation:
    def run(self, ctx: workflow.WorkflowContext, order_id: str) -> Any:
        reservation = yield ctx.schedule_activity("golden.reserve-inventory", [order_id])
        try:
            yield ctx.start_child_workflow("golden.payment", [order_id, reservation])
        except ChildWorkflowFailed as failure:
            yield ctx.schedule_activity("golden.release-inventory", [order_id, reservation, str(failure)])
            return "compensated"
        return "paid"


WORKFLOWS = [SingleActivity, SignalWait, TimeoutWait, VersionMarker, SagaCompensation]


def _cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        for case in data["cases"]:
            cases.append((f"{path.stem}:{case['name']}", case))
    return cases


CASES = _cases()


def test_golden_fixtures_are_present() -> None:
    assert len(CASES) >= 5, f"no golden histories found under {GOLDEN_DIR}"


def _assert_expected(outcome: workflow.ReplayOutcome, expected: dict[str, Any]) -> None:
    command = outcome.commands[-1]
    assert type(command).__name__ == expected["command_type"]
    if "result" in expected:
        assert command.result == expected["result"]  # type: ignore[union-attr]
    if "activity_type" in expected:
        assert isinstance(command, workflow.ScheduleActivity)
        assert command.activity_type == expected["activity_type"]
        assert command.arguments == expected["arguments"]


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[case_id for case_id, _ in CASES])
def test_golden_history_replays_to_expected_command(case_id: str, case: dict[str, Any]) -> None:
    replayer = Replayer(workflows=WORKFLOWS)
    outcome = replayer.replay(case["history"], case["start_input"], workflow_type=case["workflow_type"])
    _assert_expected(outcome, case["expected"])


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[case_id for case_id, _ in CASES])
def test_golden_history_replays_identically_event_by_event(case_id: str, case: dict[str, Any]) -> None:
    cls = {c.__workflow_name__: c for c in WORKFLOWS}[case["workflow_type"]]  # type: ignore[attr-defined]
    full = replay(cls, case["history"], case["start_input"])
    state = workflow_state(cls, case["start_input"])
    for event in case["history"]:
        state.apply([event])
    assert state.commands() == full.commands


def workflow_state(cls: type, start_input: list[Any]) -> Any:
    from dw_core.replay import WorkflowRunState

    return WorkflowRunState(cls, start_input=start_input)


def test_replay_history_file_reads_an_event_list(tmp_path: Path) -> None:
    case = dict(CASES)["python-sdk-0.3.1:single_activity_completion"]
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"events": case["history"]}))
    outcome = replay_history_file(SingleActivity, path, ["Ada"])
    assert outcome.commands == [workflow.CompleteWorkflow("hello Ada")]
