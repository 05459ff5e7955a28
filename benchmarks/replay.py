"""Replay engine cost: our incremental engine vs the published 0.4.84 SDK, same histories, same run.

A workflow of N sequential activities is run task by task against the in-memory server simulator;
its history (3N + 2 events before completion) is then replayed. Measured for each N:

  (a) full replay of the whole history (fresh state, all events, commands)
  (b) one incremental step at the end of the history (the last workflow task: apply the new
      events to the kept state and produce its wire commands). 0.4.84 has no kept state, so its
      step is a full replay of the history the task carries.
  (c) total engine time to run the workflow to completion, task by task. 0.4.84 replays the
      growing prefix for every task (quadratic; skipped above --ref-c-max, default 1000).

Run: .venv/bin/python benchmarks/replay.py [--sizes 10,100,1000,5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

from dw_core import workflow  # noqa: E402
from dw_core.replay import HistorySimulator, WorkflowRunState  # noqa: E402


@workflow.defn(name="bench.sequential")
class Sequential:
    def run(self, ctx: workflow.WorkflowContext, count: int) -> Any:
        total = 0
        for index in range(count):
            total += yield ctx.schedule_activity("bench.step", [index])
        return total


REFERENCE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from durable_workflow import workflow

    @workflow.defn(name="bench.sequential")
    class Sequential:
        def run(self, ctx, count):
            total = 0
            for index in range(count):
                total += yield ctx.schedule_activity("bench.step", [index])
            return total

    spec = json.load(open(sys.argv[1]))
    results = {}
    for case in spec["cases"]:
        n, history, boundaries = case["n"], case["history"], case["boundaries"]
        best = None
        for _ in range(spec["repeat"]):
            start = time.perf_counter()
            outcome = workflow.replay(Sequential, history, [n], run_id="run-bench", payload_codec="avro")
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        assert type(outcome.commands[-1]).__name__ == "CompleteWorkflow", outcome.commands
        total = None
        if n <= spec["ref_c_max"]:
            total = 0.0
            for end in boundaries:
                start = time.perf_counter()
                workflow.replay(Sequential, history[:end], [n], run_id="run-bench", payload_codec="avro")
                total += time.perf_counter() - start
        results[str(n)] = {"full": best, "step": best, "total": total, "result": outcome.commands[-1].result}
    print(json.dumps(results))
    """
)


def run_ours(n: int) -> dict[str, Any]:
    """Run the workflow task by task with one kept state; time only the engine calls."""
    sim = HistorySimulator(workflow_type="bench.sequential", run_id="run-bench", start_input=[n])
    state = WorkflowRunState(
        Sequential, run_id="run-bench", start_input=[n], payload_codec="avro", task_queue="q"
    )
    step_times: list[float] = []
    boundaries: list[int] = []
    while True:
        boundaries.append(len(sim.events))
        start = time.perf_counter()
        state.extend(sim.events)
        wire = state.wire_commands()
        step_times.append(time.perf_counter() - start)
        sim.complete_workflow_task(wire)
        if sim.closed:
            break
        (step,) = sim.steps("activity")
        sim.start_activity(step.number)
        sim.complete_activity(step.number, 1)
    history = sim.events[:-1]
    return {"history": history, "boundaries": boundaries, "steps": step_times, "result": wire[0]}


def full_replay(n: int, history: list[dict[str, Any]], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    commands: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        state = WorkflowRunState(Sequential, run_id="run-bench", start_input=[n], payload_codec="avro")
        state.apply(history)
        commands = state.commands()
        best = min(best, time.perf_counter() - start)
    return best, commands


def reference_python() -> str | None:
    candidate = ROOT / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = made.stdout.strip().splitlines()
    return lines[-1] if made.returncode == 0 and lines else None


def run_reference(cases: list[dict[str, Any]], repeat: int, ref_c_max: int) -> dict[str, Any] | None:
    python = reference_python()
    if python is None:
        print("0.4.84 reference venv unavailable: reporting our figures only", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        script_path = Path(tmp) / "reference_replay.py"
        spec_path.write_text(json.dumps({"cases": cases, "repeat": repeat, "ref_c_max": ref_c_max}))
        script_path.write_text(REFERENCE_SCRIPT)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [python, str(script_path), str(spec_path)], capture_output=True, text=True, check=False, env=env
        )
    if done.returncode != 0:
        print(f"0.4.84 reference run failed:\n{done.stderr}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "skipped"
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def ratio(ref: float | None, ours: float) -> str:
    if ref is None or ours <= 0:
        return "   n/a"
    return f"{ref / ours:7.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000,5000", help="comma-separated activity counts")
    parser.add_argument("--repeat", type=int, default=3, help="best-of repetitions for full replays")
    parser.add_argument("--ref-c-max", type=int, default=1000, help="largest N for 0.4.84's quadratic (c)")
    parser.add_argument("--no-reference", action="store_true", help="skip the 0.4.84 baseline")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]

    ours: dict[int, dict[str, Any]] = {}
    cases = []
    for n in sizes:
        run = run_ours(n)
        full, commands = full_replay(n, run["history"], args.repeat)
        assert commands == [workflow.CompleteWorkflow(n)], commands
        tail = run["steps"][-5:]
        ours[n] = {
            "full": full,
            "step": statistics.median(tail),
            "total": sum(run["steps"]),
            "events": len(run["history"]),
        }
        cases.append({"n": n, "history": run["history"], "boundaries": run["boundaries"]})
    reference = None if args.no_reference else run_reference(cases, args.repeat, args.ref_c_max)

    print("Replay engine: N sequential activities (history = 3N+2 events), best of", args.repeat)
    print(
        f"{'N':>6} {'events':>7} | {'(a) full replay':>33} | {'(b) step at end':>33} | "
        f"{'(c) task-by-task total':>33}"
    )
    print(
        f"{'':>6} {'':>7} | {'ours':>11} {'0.4.84':>11} {'speedup':>9} | {'ours':>11} {'0.4.84':>11} "
        f"{'speedup':>9} | {'ours':>11} {'0.4.84':>11} {'speedup':>9}"
    )
    for n in sizes:
        mine = ours[n]
        ref = (reference or {}).get(str(n), {})
        print(
            f"{n:>6} {mine['events']:>7} | {fmt(mine['full']):>11} {fmt(ref.get('full')):>11} "
            f"{ratio(ref.get('full'), mine['full']):>9} | {fmt(mine['step']):>11} {fmt(ref.get('step')):>11} "
            f"{ratio(ref.get('step'), mine['step']):>9} | {fmt(mine['total']):>11} "
            f"{fmt(ref.get('total')):>11} "
            f"{ratio(ref.get('total'), mine['total']):>9}"
        )
    smallest, largest = sizes[0], sizes[-1]
    print(
        f"(b) flatness: step at N={largest} / step at N={smallest} = "
        f"{ours[largest]['step'] / ours[smallest]['step']:.2f} (target <= 2)"
    )
    if 1000 in ours:
        print(f"(c) at N=1000: {ours[1000]['total']:.4f} s (target < 0.1 s)")
    if reference is not None:
        slower = [n for n in sizes if reference.get(str(n), {}).get("full", float("inf")) < ours[n]["full"]]
        print(
            "(a) ours at least as fast as 0.4.84 at every N:", "yes" if not slower else f"no, at N={slower}"
        )
        for n in sizes:
            if reference.get(str(n), {}).get("total") is None:
                print(
                    f"(c) 0.4.84 skipped at N={n}: it replays every prefix (quadratic); "
                    "raise --ref-c-max to run it"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
