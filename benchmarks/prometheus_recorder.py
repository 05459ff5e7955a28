"""Recorder overhead per call: our PrometheusMetrics vs the published 0.4.84 one vs raw prometheus_client.

What the SDK pays on every HTTP request and task: one counter increment and one histogram
observation with the SDK's five request tags. Measured in the same run:

- ours: ``PrometheusMetrics.increment`` + ``record`` on a fresh ``CollectorRegistry``;
- raw: hand-written ``Counter.labels(**tags).inc()`` + ``Histogram.labels(**tags).observe()`` on
  collectors created up front (the floor any wrapper adds to);
- 0.4.84: the published SDK's ``PrometheusMetrics``, in its own venv (``.venv-ref``, created with
  ``tools/dev.py ref-venv`` when missing). That venv has no prometheus_client, so this script
  lends it ours through ``PYTHONPATH`` (a temporary directory holding a link to the package).

Figures are the best of alternating rounds, in µs per (increment + record) pair.

Run: ``.venv/bin/python benchmarks/prometheus_recorder.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable

import prometheus_client
from dw_metrics_prometheus import PrometheusMetrics
from prometheus_client import CollectorRegistry, Counter, Histogram

REPO = pathlib.Path(__file__).resolve().parents[1]
COUNTER = "durable_workflow_client_requests"
HISTOGRAM = "durable_workflow_client_request_duration_seconds"
TAGS = {
    "method": "GET",
    "route": "/workflows/{workflow_id}",
    "plane": "control",
    "status_code": "200",
    "outcome": "ok",
}

TIMING = """
import timeit
from collections.abc import Callable

def best_us(pair, loops, rounds):
    pair()  # the first call creates the collectors
    return min(timeit.repeat(pair, number=loops, repeat=rounds)) / loops * 1e6
"""

REFERENCE_SCRIPT = (
    TIMING
    + """
import json, sys
from prometheus_client import CollectorRegistry
from durable_workflow.metrics import PrometheusMetrics

args = json.load(sys.stdin)
metrics = PrometheusMetrics(registry=CollectorRegistry())
tags = args["tags"]

def pair():
    metrics.increment(args["counter"], 1.0, tags)
    metrics.record(args["histogram"], 0.012, tags)

print(json.dumps({"us": best_us(pair, args["loops"], args["rounds"])}))
"""
)


def _best_us(pair: Callable[[], None], loops: int, rounds: int) -> float:
    # Same procedure as TIMING, which the 0.4.84 subprocess runs.
    pair()  # the first call creates the collectors
    return min(timeit.repeat(pair, number=loops, repeat=rounds)) / loops * 1e6


def measure_ours(loops: int, rounds: int) -> float:
    metrics = PrometheusMetrics(registry=CollectorRegistry())

    def pair() -> None:
        metrics.increment(COUNTER, 1.0, TAGS)
        metrics.record(HISTOGRAM, 0.012, TAGS)

    return _best_us(pair, loops, rounds)


def measure_raw(loops: int, rounds: int) -> float:
    registry = CollectorRegistry()
    counter = Counter(COUNTER, "requests", labelnames=sorted(TAGS), registry=registry)
    histogram = Histogram(HISTOGRAM, "durations", labelnames=sorted(TAGS), registry=registry)

    def pair() -> None:
        counter.labels(**TAGS).inc(1.0)
        histogram.labels(**TAGS).observe(0.012)

    return _best_us(pair, loops, rounds)


def reference_python() -> str | None:
    done = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        print(f"0.4.84 baseline unavailable (tools/dev.py ref-venv failed): {done.stderr[-500:]}")
        return None
    return done.stdout.strip().splitlines()[-1]


def measure_reference(python: str, loops: int, rounds: int) -> float:
    with tempfile.TemporaryDirectory() as lend:
        os.symlink(pathlib.Path(prometheus_client.__file__).parent, pathlib.Path(lend) / "prometheus_client")
        job = {"counter": COUNTER, "histogram": HISTOGRAM, "tags": TAGS, "loops": loops, "rounds": rounds}
        done = subprocess.run(
            [python, "-c", REFERENCE_SCRIPT],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": lend},
        )
    if done.returncode != 0:
        raise RuntimeError(f"0.4.84 measurement failed: {done.stderr[-1000:]}")
    return float(json.loads(done.stdout)["us"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loops", type=int, default=20_000, help="calls per timing (default 20000)")
    parser.add_argument("--rounds", type=int, default=5, help="timings per measurement (default 5)")
    parser.add_argument("--alternations", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args(argv)

    ref_python = reference_python()
    figures: dict[str, list[float]] = {"ours": [], "raw prometheus_client": [], "0.4.84": []}
    for _ in range(args.alternations):
        figures["ours"].append(measure_ours(args.loops, args.rounds))
        figures["raw prometheus_client"].append(measure_raw(args.loops, args.rounds))
        if ref_python is not None:
            figures["0.4.84"].append(measure_reference(ref_python, args.loops, args.rounds))

    best = {name: min(values) for name, values in figures.items() if values}
    print(f"increment + record with {len(TAGS)} tags, µs per pair (best of {args.alternations} alternations)")
    for name, value in best.items():
        print(f"  {name:<22} {value:8.2f}")
    raw = best["raw prometheus_client"]
    print(f"  ours / raw prometheus_client = {best['ours'] / raw:.2f}x")
    if "0.4.84" in best:
        print(f"  ours / 0.4.84                = {best['ours'] / best['0.4.84']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
