"""WorkflowEnvironment: a workflow of N sequential activities, ours vs the published 0.4.84 harness.

Both harnesses run the same workflow (N activities, each adding to a running total, mocked by a
callable) in the same run; 0.4.84 runs in ``.venv-ref`` as a subprocess (created with
``tools/dev.py ref-venv`` when missing) and both get ``iteration_limit = N + 10`` since the default
1000 is too small for N = 1000. Prints seconds and the ratio. Our figure is the best of
``--repeat`` runs; 0.4.84's is a single run (it is quadratic: every iteration replays the whole
history).

    .venv/bin/python benchmarks/testing_env.py [--activities 1000] [--repeat 3] [--skip-reference]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The same workflow source for both SDKs; only the import differs.
WORKFLOW_SOURCE = """
@workflow.defn(name="bench.sequential")
class Sequential:
    def run(self, ctx, n):
        total = 0
        for i in range(n):
            total = yield ctx.schedule_activity("bench.add", [total, i])
        return total
"""

REFERENCE_SCRIPT = (
    "import sys, time\n"
    "from durable_workflow import workflow\n"
    "from durable_workflow.testing import WorkflowEnvironment\n" + WORKFLOW_SOURCE + "n = int(sys.argv[1])\n"
    "env = WorkflowEnvironment(iteration_limit=n + 10)\n"
    "env.register_activity('bench.add', lambda a, b: a + b)\n"
    "started = time.perf_counter()\n"
    "result = env.execute_workflow(Sequential, n)\n"
    "elapsed = time.perf_counter() - started\n"
    "assert result == sum(range(n)), result\n"
    "print(elapsed)\n"
)


def reference_python() -> Path:
    """The 0.4.84 venv's python, building the venv when it is missing."""
    candidate = ROOT / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return candidate
    built = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return Path(built.stdout.strip().splitlines()[-1])


def measure_ours(n: int, repeat: int) -> float:
    from dw_core import workflow
    from dw_testing import WorkflowEnvironment

    namespace: dict[str, Any] = {"workflow": workflow}
    exec(WORKFLOW_SOURCE, namespace)
    sequential = namespace["Sequential"]
    best = float("inf")
    for _ in range(repeat):
        env = WorkflowEnvironment(iteration_limit=n + 10)
        env.register_activity("bench.add", lambda a, b: a + b)
        started = time.perf_counter()
        result = env.execute_workflow(sequential, n)
        best = min(best, time.perf_counter() - started)
        assert result == sum(range(n)), result
    return best


def measure_reference(n: int) -> float:
    python = reference_python()
    done = subprocess.run(
        [str(python), "-c", REFERENCE_SCRIPT, str(n)], capture_output=True, text=True, timeout=170
    )
    if done.returncode != 0:
        raise RuntimeError(f"0.4.84 harness failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1000, help="sequential activities (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best counts (default 3)")
    parser.add_argument("--skip-reference", action="store_true", help="do not run the 0.4.84 baseline")
    args = parser.parse_args(argv)
    n = args.activities
    ours = measure_ours(n, args.repeat)
    print(f"WorkflowEnvironment, {n} sequential activities")
    print(f"  ours (incremental replay, replay check on): {ours:8.3f} s")
    if args.skip_reference:
        return 0
    reference = measure_reference(n)
    print(f"  published 0.4.84 (full replay per iteration): {reference:8.3f} s")
    print(f"  speed-up: {reference / ours:,.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
