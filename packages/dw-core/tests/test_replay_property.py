"""Property: full replay and incremental application, split at every point, agree.

Hypothesis generates workflow programs (sequences of activities, timers, children, parallel groups,
side effects, version markers, search-attribute upserts and waits on signals/updates) and a schedule of
outside events (completions in random order, signals arriving during tasks, including while a
task is being processed). The run is executed task by task with a cached state against the
simulated server; then the finished history is replayed in a fresh state and, for every split
point k, as apply(h[:k]) -> commands() -> apply(h[k:]). All must give the same commands, the same
result and the same workflow state (the log includes ctx.now() and ctx.uuid4() at every step).
Splits start after WorkflowStarted (no workflow task carries less history than that); commands()
is run at a split whenever a workflow task could have been handed exactly that history.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from dw_core import workflow
from dw_core.replay import HistorySimulator, WorkflowRunState
from dw_core.workflow import CompleteWorkflow, FailWorkflow, WorkflowContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@workflow.defn(name="property.program")
class Program:
    """Interprets a JSON program so one class covers every generated workflow."""

    def __init__(self) -> None:
        self.signals = 0
        self.log: list[Any] = []
        self.ctx: WorkflowContext | None = None

    @workflow.signal("poke")
    def poke(self, label: str) -> None:
        self.signals += 1
        self.log.append(["signal", label, self.ctx.now().isoformat() if self.ctx else None])

    @workflow.update("bump")
    def bump(self, amount: int) -> int:
        self.signals += amount
        self.log.append(["update", amount])
        return self.signals

    @bump.validator  # type: ignore[attr-defined,untyped-decorator]
    def check_bump(self, amount: int) -> bool:
        return amount > 0

    @workflow.query("log")
    def get_log(self) -> list[Any]:
        return self.log

    def run(self, ctx: WorkflowContext, program: list[list[Any]]) -> Any:
        self.ctx = ctx
        for index, op in enumerate(program):
            self.log.append(["now", index, ctx.now().isoformat(), str(ctx.uuid4())])
            kind = op[0]
            if kind == "act":
                value = yield ctx.schedule_activity(f"act-{op[1]}", [index])
                self.log.append(["act", index, value])
            elif kind == "timer":
                yield ctx.start_timer(op[1])
                self.log.append(["timer", index])
            elif kind == "group":
                members = [self._leaf(ctx, m, [index, pos]) for pos, m in enumerate(op[1])]
                values = yield members
                self.log.append(["group", index, values])
            elif kind == "side":
                value = yield ctx.side_effect(functools.partial(self._draw, ctx, index))
                self.log.append(["side", index, value])
            elif kind == "marker":
                self.log.append(["marker", index, (yield ctx.patched(f"patch-{index}"))])
            elif kind == "upsert":
                yield ctx.upsert_search_attributes({"Step": index})
            elif kind == "child":
                try:
                    value = yield ctx.start_child_workflow("property.child", [index])
                except Exception as failure:  # a failed child is thrown in; the workflow carries on
                    value = f"child failed: {failure}"
                self.log.append(["child", index, value])
            elif kind == "wait":
                target, timeout = op[1], op[2]
                ok = yield ctx.wait_condition(self._enough(target), key=f"wait-{index}", timeout=timeout)
                self.log.append(["wait", index, ok, self.signals])
        return self.log

    def _enough(self, target: int) -> Callable[[], bool]:
        return lambda: self.signals >= target

    @staticmethod
    def _draw(ctx: WorkflowContext, index: int) -> str:
        # Draws from ctx.random() on purpose: a side effect must not shift the workflow's generator.
        return f"se-{index}-{ctx.random().randint(0, 9)}"

    @staticmethod
    def _leaf(ctx: WorkflowContext, leaf: list[Any], args: list[Any]) -> Any:
        if leaf[0] == "act":
            return ctx.schedule_activity(f"act-{leaf[1]}", args)
        if leaf[0] == "child":
            return ctx.start_child_workflow("property.child", args)
        return ctx.start_timer(leaf[1])


leaf = st.one_of(
    st.tuples(st.just("act"), st.integers(0, 2)),
    st.tuples(st.just("timer"), st.integers(0, 5)),
    st.tuples(st.just("child"), st.just(0)),
)
op = st.one_of(
    leaf,
    st.tuples(st.just("group"), st.lists(leaf, min_size=1, max_size=3)),
    st.tuples(st.just("side"), st.just(0)),
    st.tuples(st.just("marker"), st.just(0)),
    st.tuples(st.just("upsert"), st.just(0)),
    st.tuples(st.just("wait"), st.integers(0, 3), st.one_of(st.none(), st.integers(1, 30))),
)
programs = st.lists(op, min_size=2, max_size=10).map(lambda ops: [list(o) for o in ops])


def new_state() -> WorkflowRunState:
    return WorkflowRunState(Program, workflow_id="wf-p", run_id="run-p", payload_codec="avro")


def run_live(
    program: list[list[Any]], data: st.DataObject
) -> tuple[HistorySimulator, WorkflowRunState, dict[int, str | None]]:
    """Run the program to completion, task by task, with one cached state (the worker's path)."""
    sim = HistorySimulator(
        workflow_type="property.program", workflow_id="wf-p", run_id="run-p", start_input=[program]
    )
    state = WorkflowRunState(
        Program, workflow_id="wf-p", run_id="run-p", start_input=[program], payload_codec="avro"
    )
    signals_sent = 0
    updates_sent = 0
    boundaries: dict[int, str | None] = {}  # history length at each task -> its update id, if any
    for _ in range(200):
        boundaries[len(sim.events)] = None
        state.extend(sim.events)
        wire = state.wire_commands("default")
        if data.draw(st.integers(0, 4), label="signal during task") == 0:
            signals_sent += 1
            sim.signal("poke", [f"s{signals_sent}"])  # arrives while the task is being processed
        sim.complete_workflow_task(wire)
        if sim.closed:
            return sim, state, boundaries
        # The outside world: resolve something, or send a signal.
        open_steps = [
            s
            for s in sim.steps()
            if s.kind in ("activity", "timer", "child") or s.command.get("timeout_seconds")
        ]
        waiting = any(s.kind == "condition_wait" for s in sim.steps())
        choices = len(open_steps) + (1 if waiting or data.draw(st.booleans(), label="spare signal") else 0)
        if choices == 0:
            signals_sent += 1
            sim.signal("poke", [f"s{signals_sent}"])
            continue
        pick = data.draw(st.integers(0, choices - 1), label="next outside event")
        if pick < len(open_steps):
            step = open_steps[pick]
            if step.kind == "activity":
                sim.start_activity(step.number)
                if data.draw(st.integers(0, 9), label="activity fails") == 0:
                    sim.fail_activity(step.number, "boom", exception_type="RuntimeError")
                else:
                    sim.complete_activity(
                        step.number, ["result-of", step.command["activity_type"], step.number]
                    )
            elif step.kind == "child":
                if data.draw(st.booleans(), label="child fails"):
                    sim.fail_child(step.number, "child broke")
                else:
                    sim.complete_child(step.number, ["child-result", step.number])
            elif step.kind == "timer":
                sim.fire_timer(step.number)
            else:
                sim.time_out_wait(step.number)
        elif data.draw(st.integers(0, 3), label="update instead of signal") == 0:
            # An update task: catch up, run validator + handler live, send the one command.
            updates_sent += 1
            update_id = f"u{updates_sent}"
            sim.accept_update(update_id, "bump", [data.draw(st.integers(0, 2), label="bump amount")])
            boundaries[len(sim.events)] = update_id
            state.extend(sim.events)
            outcome = state.handle_update(update_id)
            sim.complete_workflow_task([outcome.to_server_command("default")])
        else:
            signals_sent += 1
            sim.signal("poke", [f"s{signals_sent}"])
    raise AssertionError("the generated workflow did not finish within 200 tasks")


@settings(
    max_examples=int(os.environ.get("DW_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(program=programs, data=st.data())
def test_full_and_incremental_replay_agree_at_every_split(
    program: list[list[Any]], data: st.DataObject
) -> None:
    sim, live, boundaries = run_live(program, data)
    history = sim.events[:-1]  # everything before WorkflowCompleted: the last task's input
    terminal = live.terminal
    assert isinstance(terminal, (CompleteWorkflow, FailWorkflow))
    live.extend(history)  # signals recorded during the last task still reach their handlers

    full = WorkflowRunState(
        Program, workflow_id="wf-p", run_id="run-p", start_input=[program], payload_codec="avro"
    )
    full.apply(history)
    assert full.commands() == [terminal]
    assert full.instance.log == live.instance.log

    # Every split from WorkflowStarted on (no task carries less history). commands() is called at each
    # split where it runs no workflow code (the workflow is parked at a blocking step), and at the
    # real task boundaries: elsewhere a task would have run a side effect live whose record history
    # shows after events (an update's) that such a task could not have seen.
    for split in range(2, len(history) + 1):
        state = WorkflowRunState(
            Program, workflow_id="wf-p", run_id="run-p", start_input=[program], payload_codec="avro"
        )
        state.apply(history[:split])
        if boundaries.get(split) is not None:
            state.handle_update(str(boundaries[split]))  # an update task: the update runs, nothing else
        elif split in boundaries or state._pending is None:  # test-only peek at the engine
            state.commands()
        state.apply(history[split:])
        assert state.commands() == [terminal], f"split at {split}"
        assert state.instance.log == live.instance.log, f"split at {split}"

    # Activity results reached the yield that scheduled them (groups bind by position).
    scheduled_types = {
        e["payload"]["sequence"]: e["payload"]["activity_type"]
        for e in history
        if e["event_type"] == "ActivityScheduled"
    }
    for entry in live.instance.log:
        values = [entry[2]] if entry[0] == "act" else entry[2] if entry[0] == "group" else []
        for value in values:
            if isinstance(value, list) and value and value[0] == "result-of":
                assert scheduled_types[value[2]] == value[1]
