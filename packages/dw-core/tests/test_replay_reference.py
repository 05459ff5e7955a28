"""Side by side with the published 0.4.84 SDK: the same workflow code and histories, run by both.

Each scenario's history is recorded with our engine against the simulated server; then one
script (identical workflow source for both SDKs) replays it under our package and under 0.4.84
(in .venv-ref). The assertions pin where we deliberately differ: each one fails on 0.4.84.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from dw_core.replay import HistorySimulator, WorkflowRunState

pytestmark = pytest.mark.reference_sdk

REPO_ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    try:
        from dw_core import workflow
        SDK = "ours"
    except ImportError:
        from durable_workflow import workflow
        SDK = "0.4.84"

    SIDE_EFFECT_CALLS = []
    LOGGED = []

    class Capture(logging.Handler):
        def emit(self, record):
            LOGGED.append(record.getMessage())

    logging.getLogger("durable_workflow.workflow.replay").addHandler(Capture())
    logging.getLogger("durable_workflow.workflow.replay").setLevel(logging.INFO)

    @workflow.defn(name="ref.signal-during-activity")
    class SignalDuringActivity:
        def __init__(self):
            self.notes = []

        @workflow.signal("note")
        def note(self, text):
            self.notes.append(text)

        def run(self, ctx):
            result = yield ctx.schedule_activity("slow", ["a"])
            return [result, self.notes]

    @workflow.defn(name="ref.group")
    class Group:
        def run(self, ctx):
            left = ctx.schedule_activity("fetch", ["left"])
            right = ctx.schedule_activity("fetch", ["right"])
            return (yield [left, right])

    @workflow.defn(name="ref.side-effect")
    class SideEffect:
        def run(self, ctx):
            value = yield ctx.side_effect(lambda: SIDE_EFFECT_CALLS.append(1) or 7)
            yield ctx.start_timer(1)
            return value

    @workflow.defn(name="ref.waits")
    class Waits:
        def __init__(self):
            self.ready = True
            self.approved = False

        @workflow.signal("approve")
        def approve(self):
            self.approved = True

        def run(self, ctx):
            first = yield ctx.wait_condition(lambda: self.ready, key="ready")
            second = yield ctx.wait_condition(lambda: self.approved, key="approved")
            return [first, second]

    @workflow.defn(name="ref.patched")
    class Patched:
        def run(self, ctx):
            if (yield ctx.patched("new-path")):
                return (yield ctx.schedule_activity("new", []))
            return (yield ctx.schedule_activity("old", []))

    @workflow.defn(name="ref.logging")
    class Logging:
        def run(self, ctx):
            ctx.logger.info("about to schedule")
            return (yield ctx.schedule_activity("work", []))

    classes = {cls.__workflow_name__: cls for cls in
               (SignalDuringActivity, Group, SideEffect, Waits, Patched, Logging)}
    out = {}
    for case in json.load(open(sys.argv[1])):
        SIDE_EFFECT_CALLS.clear()
        LOGGED.clear()
        try:
            outcome = workflow.replay(classes[case["workflow"]], case["history"], case["input"],
                                      run_id="run-ref", payload_codec="avro")
            commands = [[type(c).__name__, getattr(c, "result", getattr(c, "activity_type", None))]
                        for c in outcome.commands]
            out[case["name"]] = {"commands": commands, "side_effect_calls": len(SIDE_EFFECT_CALLS),
                                 "logged": list(LOGGED)}
        except Exception as exc:
            out[case["name"]] = {"error": type(exc).__name__, "message": str(exc)}
    print(json.dumps(out))
    """
)


def _record(workflow_type: str, cls: type, script: Any) -> list[dict[str, Any]]:
    """Run ``script(sim, task)`` where task() runs one workflow task of ``cls`` with our engine."""
    sim = HistorySimulator(workflow_type=workflow_type, run_id="run-ref")
    state = WorkflowRunState(cls, run_id="run-ref", payload_codec="avro")

    def task() -> None:
        state.extend(sim.events)
        sim.complete_workflow_task(state.wire_commands())

    script(sim, task)
    return sim.events


def _workflow_classes() -> dict[str, type]:
    namespace: dict[str, Any] = {"__name__": "__main__"}  # as in the script, so fingerprints match
    exec(compile(SCRIPT.split("classes = {")[0], "reference_workflows", "exec"), namespace)
    return {
        name: obj
        for name, obj in namespace.items()
        if isinstance(obj, type) and hasattr(obj, "__workflow_name__")
    }


def _cases() -> list[dict[str, Any]]:
    classes = _workflow_classes()

    def signal_during_activity(sim: HistorySimulator, task: Any) -> None:
        task()
        (step,) = sim.steps("activity")
        sim.start_activity(step.number)
        sim.signal("note", ["hi"])

    def group_out_of_order(sim: HistorySimulator, task: Any) -> None:
        task()
        left, right = sim.steps("activity")
        sim.complete_activity(right.number, "R")  # completes first
        sim.complete_activity(left.number, "L")

    def side_effect(sim: HistorySimulator, task: Any) -> None:
        task()
        (timer,) = sim.steps("timer")
        sim.fire_timer(timer.number)

    def waits(sim: HistorySimulator, task: Any) -> None:
        task()
        sim.signal("approve")

    def old_run(sim: HistorySimulator, task: Any) -> None:
        # Recorded by the code before the patch existed: just the "old" activity.
        sim.complete_workflow_task(
            [{"type": "schedule_activity", "activity_type": "old", "queue": "default", "arguments": None}]
        )
        (step,) = sim.steps("activity")
        sim.complete_activity(step.number, "old result")

    def fresh(sim: HistorySimulator, task: Any) -> None:
        return None

    plan = [
        (
            "signal_during_activity",
            "ref.signal-during-activity",
            "SignalDuringActivity",
            signal_during_activity,
        ),
        ("group_out_of_order", "ref.group", "Group", group_out_of_order),
        ("side_effect", "ref.side-effect", "SideEffect", side_effect),
        ("waits", "ref.waits", "Waits", waits),
        ("patched_old_run", "ref.patched", "Patched", old_run),
        ("logging", "ref.logging", "Logging", fresh),
    ]
    return [
        {
            "name": name,
            "workflow": wf_type,
            "input": [],
            "history": _record(wf_type, classes[cls_name], script),
        }
        for name, wf_type, cls_name, script in plan
    ]


def _reference_python() -> str:
    candidate = REPO_ROOT / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def _run(python: str, tmp_path: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    script = tmp_path / "replay_both.py"
    script.write_text(SCRIPT)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [python, str(script), str(data)], capture_output=True, text=True, env=env, check=True, timeout=300
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("reference")
    cases = _cases()
    return {"ours": _run(sys.executable, tmp, cases), "ref": _run(_reference_python(), tmp, cases)}


def test_signal_during_activity_is_not_a_second_schedule(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["ref"]["signal_during_activity"]["commands"] == [["ScheduleActivity", "slow"]]
    assert outcomes["ours"]["signal_during_activity"]["commands"] == []


def test_group_results_bind_to_their_own_members(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["ref"]["group_out_of_order"]["commands"] == [["CompleteWorkflow", ["R", "L"]]]
    assert outcomes["ours"]["group_out_of_order"]["commands"] == [["CompleteWorkflow", ["L", "R"]]]


def test_side_effect_is_not_re_run_on_replay(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["ref"]["side_effect"]["side_effect_calls"] == 1
    assert outcomes["ours"]["side_effect"]["side_effect_calls"] == 0
    assert outcomes["ours"]["side_effect"]["commands"] == [["CompleteWorkflow", 7]]


def test_a_wait_already_true_does_not_shift_the_next_one(outcomes: dict[str, dict[str, Any]]) -> None:
    ref = outcomes["ref"]["waits"]
    assert ref["commands"][0][0] == "FailWorkflow"  # NonDeterministicWaitCondition on 0.4.84
    assert outcomes["ours"]["waits"]["commands"] == [["CompleteWorkflow", [True, True]]]


def test_patched_replays_runs_that_predate_the_marker(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["ref"]["patched_old_run"]["error"] == "NonDeterministicReplayError"
    assert outcomes["ours"]["patched_old_run"]["commands"] == [["CompleteWorkflow", "old result"]]


def test_log_line_before_the_first_command_is_kept(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["ref"]["logging"]["logged"] == []
    assert outcomes["ours"]["logging"]["logged"] == ["about to schedule"]
