"""Client overhead: this client vs the published 0.4.84 client vs raw httpx, same dev server, same run.

The dev server runs as its own process. Each client performs the same calls against it:
``describe_workflow`` (GET, parse, decode the input envelope) and ``signal_workflow`` (POST with an
Avro-enveloped argument). We report wall time per call and the client process's CPU time per call
(``time.process_time``), the part a client library controls. 0.4.84 runs in its own venv
(``.venv-ref``) through a subprocess timing itself the same way. Its sync client is also tried for
consecutive calls (it fails on the second one against a keep-alive server).

Run: ``.venv/bin/python benchmarks/client_overhead.py [--calls N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import re
import subprocess
import sys
import textwrap
import time
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
WORKFLOW_ID = "bench-1"

REF_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from durable_workflow import Client
    from durable_workflow import sync as dw_sync

    url, calls, workflow_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    async def main():
        out = {}
        async with Client(url) as client:
            for _ in range(20):
                await client.describe_workflow(workflow_id)
            for name, call in (
                ("describe", lambda n: client.describe_workflow(workflow_id)),
                ("signal", lambda n: client.signal_workflow(workflow_id, "tick", args=[n])),
            ):
                wall, cpu = time.perf_counter(), time.process_time()
                for n in range(calls):
                    await call(n)
                out[name] = ((time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls)
        return out

    result = asyncio.run(main())
    sync_ok, sync_error = 0, None
    client = dw_sync.Client(url)
    try:
        for _ in range(5):
            client.describe_workflow(workflow_id)
            sync_ok += 1
    except Exception as exc:
        sync_error = f"{type(exc).__name__}: {exc}"
    result["sync_consecutive_ok"] = sync_ok
    result["sync_error"] = sync_error
    print(json.dumps(result))
    """
)


def _reference_python() -> pathlib.Path | None:
    ref = REPO / ".venv-ref" / "bin" / "python"
    if ref.exists():
        return ref
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, check=False
    )
    lines = made.stdout.strip().splitlines()
    return pathlib.Path(lines[-1]) if made.returncode == 0 and lines else None


def _start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from dw_devserver.cli import main; main()", "start", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"(http://[\d.]+:\d+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise RuntimeError("dev server did not start")


async def _ours(url: str, calls: int) -> dict[str, tuple[float, float]]:
    from dw_client import Client

    out: dict[str, tuple[float, float]] = {}
    async with Client(url) as client:
        for _ in range(20):
            await client.describe_workflow(WORKFLOW_ID)
        for name in ("describe", "signal"):
            wall, cpu = time.perf_counter(), time.process_time()
            for n in range(calls):
                if name == "describe":
                    await client.describe_workflow(WORKFLOW_ID)
                else:
                    await client.signal_workflow(WORKFLOW_ID, "tick", args=[n])
            out[name] = ((time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls)
    return out


def _ours_sync(url: str, calls: int) -> tuple[float, float]:
    from dw_client.sync import Client

    with Client(url) as client:
        client.describe_workflow(WORKFLOW_ID)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            client.describe_workflow(WORKFLOW_ID)
        return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


async def _raw_httpx(url: str, calls: int) -> dict[str, tuple[float, float]]:
    import httpx
    from dw_core import serializer

    headers = {
        "Content-Type": "application/json",
        "X-Namespace": "default",
        "X-Durable-Workflow-Control-Plane-Version": "2",
    }
    out: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(headers=headers) as http:
        for _ in range(20):
            await http.get(f"{url}/api/workflows/{WORKFLOW_ID}")
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            (await http.get(f"{url}/api/workflows/{WORKFLOW_ID}")).json()
        out["describe"] = ((time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls)
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(calls):
            body = {"input": serializer.envelope([n])}
            (await http.post(f"{url}/api/workflows/{WORKFLOW_ID}/signal/tick", json=body)).json()
        out["signal"] = ((time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per measured operation")
    args = parser.parse_args()

    process, url = _start_server()
    try:
        from dw_client.sync import Client as SyncClient

        with SyncClient(url) as setup:
            setup.start_workflow(
                workflow_type="bench", task_queue="bench", workflow_id=WORKFLOW_ID, input=[1, "x"]
            )

        raw = asyncio.run(_raw_httpx(url, args.calls))
        ours = asyncio.run(_ours(url, args.calls))
        ours_sync = _ours_sync(url, args.calls)
        ref_python = _reference_python()
        ref: dict[str, Any] | None = None
        if ref_python is not None:
            done = subprocess.run(
                [str(ref_python), "-c", REF_SCRIPT, url, str(args.calls), WORKFLOW_ID],
                capture_output=True,
                text=True,
                check=False,
                timeout=150,
            )
            if done.returncode == 0:
                ref = json.loads(done.stdout.strip().splitlines()[-1])
            else:
                print("0.4.84 run failed:", done.stderr[-500:])
    finally:
        process.terminate()
        process.wait(timeout=10)

    def row(label: str, wall: float, cpu: float) -> None:
        print(f"  {label:<34} {wall * 1e6:9.0f} µs/call wall   {cpu * 1e6:8.0f} µs/call client CPU")

    print(f"client overhead, {args.calls} calls each, dev server in its own process ({url})")
    for op in ("describe", "signal"):
        print(f"{op}_workflow:")
        row("raw httpx (baseline)", *raw[op])
        row("dw-client async", *ours[op])
        if ref is not None:
            row("durable-workflow 0.4.84 async", *ref[op])
            print(
                f"  ratios: ours/raw CPU {ours[op][1] / raw[op][1]:.2f}x, "
                f"0.4.84/ours CPU {ref[op][1] / ours[op][1]:.2f}x, "
                f"0.4.84/ours wall {ref[op][0] / ours[op][0]:.2f}x"
            )
    print("sync client, consecutive describe_workflow calls:")
    row(f"dw-client sync ({args.calls} calls OK)", *ours_sync)
    if ref is not None:
        outcome = f"{ref['sync_consecutive_ok']} of 5 calls OK"
        if ref["sync_error"]:
            outcome += f", then {ref['sync_error'][:80]}"
        print(f"  durable-workflow 0.4.84 sync:      {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
