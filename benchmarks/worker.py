"""Worker benchmark: our worker versus the published 0.4.84 worker against the same dev server.

Two workloads, each run by one worker process per SDK (both processes run the same script text,
which uses only the public API both SDKs share):

1. one workflow of N sequential activities (default 1000): worker CPU time and wall time;
2. M single-activity workflows (default 300) started at once: workflows completed per second.

The dev server runs in its own process (``dw-devserver start``); the driver (this process) starts
workflows with our client and waits for their results. Run: ``.venv/bin/python benchmarks/worker.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]

WORKER_SCRIPT = r"""
import asyncio, json, signal, sys, time
from durable_workflow import activity, workflow
from durable_workflow.client import Client
from durable_workflow.worker import Worker


@activity.defn(name="bench.noop")
def noop(i):
    return i


@workflow.defn(name="bench.sequential")
class Sequential:
    def run(self, ctx, n):
        total = 0
        for i in range(n):
            total += yield ctx.schedule_activity("bench.noop", [i])
        return total


@workflow.defn(name="bench.single")
class Single:
    def run(self, ctx, x):
        result = yield ctx.schedule_activity("bench.noop", [x])
        return result


async def main(url, queue):
    client = Client(url)
    worker = Worker(client, task_queue=queue, workflows=[Sequential, Single], activities=[noop],
                    max_concurrent_workflow_tasks=10, max_concurrent_activity_tasks=10)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(0.5)  # registered and polling
    print("ready", flush=True)
    await stop.wait()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    # Report first: the driver does not wait for a long poll to return before killing us.
    print(json.dumps({"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0}), flush=True)
    await worker.stop()
    try:
        await asyncio.wait_for(running, 10)
    except Exception:
        pass


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def reference_python() -> str:
    python = REPO / ".venv-ref" / "bin" / "python"
    if python.exists():
        return str(python)
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def start_devserver(db: str | None) -> tuple[subprocess.Popen[str], str]:
    script = pathlib.Path(sys.executable).with_name("dw-devserver")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "dw_devserver"]
    proc = subprocess.Popen(
        [*command, "start", "--port", "0", *(["--db", db] if db else []), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc, line.strip().split("listening on", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("dev server did not start")


class WorkerProcess:
    def __init__(self, python: str, url: str, queue: str, script: pathlib.Path) -> None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [python, str(script), url, queue],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"worker did not start: {line!r} {err[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def finish(self) -> dict[str, float]:
        """Ask the worker to stop, read the usage it reports, then make sure it is gone."""
        assert self.proc.stdout is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            for line in self.proc.stdout:
                if line.startswith("{"):
                    return json.loads(line)  # type: ignore[no-any-return]
        finally:
            self.kill()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        raise RuntimeError(f"worker reported nothing: {err[-2000:]}")


async def sequential(client: Any, queue: str, n: int) -> tuple[float, Any]:
    started = time.perf_counter()
    handle = await client.start_workflow(
        workflow_type="bench.sequential",
        task_queue=queue,
        workflow_id=f"seq-{uuid.uuid4().hex}",
        input=[n],
        execution_timeout_seconds=3600,
        run_timeout_seconds=3600,
    )
    result = await handle.result(timeout=900, poll_interval=0.05)
    return time.perf_counter() - started, result


async def throughput(client: Any, queue: str, m: int) -> float:
    """Start ``m`` workflows at once; workflows completed per second, measured by the server.

    The rate is ``m`` over the time from the first ``WorkflowStarted`` to the last
    ``WorkflowCompleted`` as recorded in history, so how often this driver looks does not matter;
    it looks rarely (one filtered list call every 250 ms) to leave the shared CPU to the server
    and the worker. Results are checked afterwards.
    """
    from datetime import datetime

    prefix = f"one-{uuid.uuid4().hex[:8]}-"
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                workflow_type="bench.single",
                task_queue=queue,
                workflow_id=f"{prefix}{i}",
                input=[i],
            )
            for i in range(m)
        )
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        done, token = 0, None
        while True:
            page = await client.list_workflows(
                workflow_type="bench.single",
                status="completed",
                page_size=200,
                next_page_token=token,
            )
            done += sum(1 for e in page.executions if e.workflow_id.startswith(prefix))
            token = page.next_page_token
            if not token:
                break
        if done >= m:
            break
    results = await asyncio.gather(*(h.result(timeout=60, poll_interval=0.1) for h in handles))
    assert results == list(range(m)), "wrong results"
    first_start, last_end = None, None
    for handle in handles:
        events = (await client.get_history(handle.workflow_id, handle.run_id))["events"]
        times = {e["event_type"]: e["recorded_at"] for e in events}
        begin = datetime.fromisoformat(times["WorkflowStarted"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(times["WorkflowCompleted"].replace("Z", "+00:00"))
        first_start = begin if first_start is None or begin < first_start else first_start
        last_end = end if last_end is None or end > last_end else last_end
    assert first_start is not None and last_end is not None
    return m / (last_end - first_start).total_seconds()


async def run_sdk(
    label: str, python: str, url: str, script: pathlib.Path, sizes: list[int], m: int
) -> dict[str, Any]:
    from dw_client import Client

    figures: dict[str, Any] = {"seq": {}}
    async with Client(url) as client:
        for n in sizes:
            queue = f"bench-seq-{label}-{uuid.uuid4().hex[:6]}"
            worker = WorkerProcess(python, url, queue, script)
            try:
                worker.wait_ready()
                wall, result = await sequential(client, queue, n)
                usage = worker.finish()
            finally:
                worker.kill()
            assert result == n * (n - 1) // 2, f"{label}: wrong result {result!r}"
            figures["seq"][n] = (usage["cpu_s"], wall)

        queue = f"bench-one-{label}-{uuid.uuid4().hex[:6]}"
        worker = WorkerProcess(python, url, queue, script)
        try:
            worker.wait_ready()
            rate = await throughput(client, queue, m)
            usage = worker.finish()
        finally:
            worker.kill()
        figures.update(workflows_per_s=rate, throughput_cpu_s=usage["cpu_s"])
    return figures


def quadratic_fit(points: dict[int, tuple[float, float]], n: int) -> tuple[float, float]:
    """Extrapolate (cpu, wall) to ``n`` with ``a*x + b*x**2`` through two measured sizes.

    0.4.84 replays the whole history on every task, so its cost per workflow grows with the square
    of its length; two points fix both terms.
    """
    (x1, (c1, w1)), (x2, (c2, w2)) = sorted(points.items())[:2]

    def fit(y1: float, y2: float) -> float:
        b = (y2 / x2 - y1 / x1) / (x2 - x1)
        a = y1 / x1 - b * x1
        return a * n + b * n * n

    return fit(c1, c2), fit(w1, w2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=1000, help="sequential activities in workload 1")
    parser.add_argument("--workflows", type=int, default=300, help="single-activity workflows in workload 2")
    parser.add_argument("--skip-reference", action="store_true", help="measure only our worker")
    parser.add_argument(
        "--full-reference",
        action="store_true",
        help="run 0.4.84 on the full sequential workflow too (about 150 s more); by default it runs "
        "N/8 and N/4 activities and its N figure is extrapolated (quadratic fit, marked ~)",
    )
    parser.add_argument(
        "--db-file",
        action="store_true",
        help="dev server on a SQLite file (default: in-memory database)",
    )
    args = parser.parse_args()
    n, m = args.activities, args.workflows
    ref_sizes = [n] if args.full_reference else [max(2, n // 8), max(4, n // 4)]

    with tempfile.TemporaryDirectory() as tmp:
        script = pathlib.Path(tmp) / "bench_worker.py"
        script.write_text(WORKER_SCRIPT)
        server, url = start_devserver(str(pathlib.Path(tmp) / "bench.sqlite") if args.db_file else None)
        try:
            ours = asyncio.run(run_sdk("ours", sys.executable, url, script, [n], m))
            ref = None
            if not args.skip_reference:
                ref = asyncio.run(run_sdk("ref", reference_python(), url, script, ref_sizes, m))
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"worker benchmark ({n} sequential activities; {m} single-activity workflows), same dev server")
    print(f"{'':36}{'ours':>10}{'0.4.84':>12}{'ratio':>9}")
    nan = float("nan")
    our_cpu, our_wall = ours["seq"][n]
    mark = ""
    ref_cpu = ref_wall = nan
    if ref is not None:
        if n in ref["seq"]:
            ref_cpu, ref_wall = ref["seq"][n]
        else:
            ref_cpu, ref_wall = quadratic_fit(ref["seq"], n)
            mark = "~"

    def row(name: str, mine: float, theirs: float, fmt: str, better_low: bool, prefix: str = "") -> None:
        ratio = (theirs / mine if better_low else mine / theirs) if theirs == theirs else nan
        shown = prefix + format(theirs, fmt)
        print(f"{name:36}{format(mine, fmt):>10}{shown:>12}{ratio:>8.1f}x")

    row(f"seq-{n} worker CPU (s)", our_cpu, ref_cpu, ".2f", True, mark)
    row(f"seq-{n} wall (s)", our_wall, ref_wall, ".2f", True, mark)
    row(
        "single-activity workflows/s",
        ours["workflows_per_s"],
        ref["workflows_per_s"] if ref else nan,
        ".1f",
        False,
    )
    row(
        f"throughput worker CPU for {m} (s)",
        ours["throughput_cpu_s"],
        ref["throughput_cpu_s"] if ref else nan,
        ".2f",
        True,
    )
    if mark and ref is not None:
        measured = ", ".join(
            f"seq-{size}: {cpu:.2f} s CPU / {wall:.2f} s wall" for size, (cpu, wall) in ref["seq"].items()
        )
        print(f"~ 0.4.84 extrapolated from measured {measured} (use --full-reference to measure)")
    print("ratio = how many times better ours is (CPU/wall: 0.4.84 / ours; rate: ours / 0.4.84)")


if __name__ == "__main__":
    main()
