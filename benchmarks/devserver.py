"""Dev-server throughput and latency benchmark.

Starts ``dw-devserver start`` (in-memory) as a subprocess, then from ONE benchmark process (one
asyncio loop) runs a minimal raw-HTTP worker -- workflow and activity pollers written here, not
the 0.4.84 SDK worker -- plus the load generator that starts workflows. Each workflow schedules
one activity and returns its result (7 HTTP calls end to end: start, 2 workflow polls, 2
completions, activity poll, activity completion).

Reports:
- workflows/s sustained, p50/p99 start-to-result latency (start request sent -> the
  ``complete_workflow`` completion acknowledged, i.e. the result is durable on the server);
- long-poll wake latency (a parked workflow poll -> returned, after a start was acknowledged);
- baseline measured in the same run: the same server answering ``GET /api/health`` (the bare
  HTTP + routing cost on this machine), and the ratio of workflow HTTP calls/s to it.

Run: ``.venv/bin/python benchmarks/devserver.py [--workflows 1500] [--concurrency 64]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
WORKER = {"X-Durable-Workflow-Protocol-Version": "1.1"}


class Conn:
    """A minimal keep-alive HTTP/1.1 JSON client on one connection (httpx costs more CPU than the
    server under test, and the load generator shares this machine with the server)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self.reader is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        data = await self.reader.readexactly(length)
        return status, json.loads(data) if data else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def launch() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dw_devserver.cli",
            "start",
            "--port",
            "0",
            "--log-level",
            "warning",
            "--long-poll-timeout",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.strip().rsplit(" ", 1)[-1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Bench:
    def __init__(self, host: str, port: int, total: int) -> None:
        self.host, self.port = host, port
        self.total = total
        self.started_at: dict[str, float] = {}
        self.latency: list[float] = []
        self.done = asyncio.Event()
        self.finished: dict[str, asyncio.Event] = {}
        self.stop = False

    def conn(self) -> Conn:
        return Conn(self.host, self.port)

    async def workflow_poller(self, worker_id: str) -> None:
        c = self.conn()
        while not self.stop:
            _, body = await c.request(
                "POST", "/api/worker/workflow-tasks/poll", {"worker_id": worker_id, "task_queue": "b"}, WORKER
            )
            task = body["task"]
            if task is None:
                continue
            completed = next(
                (e for e in task["history_events"] if e["event_type"] == "ActivityCompleted"), None
            )
            if completed is None:
                cmd: dict[str, Any] = {
                    "type": "schedule_activity",
                    "activity_type": "echo",
                    "queue": "b",
                    "arguments": task["arguments"],
                }
            else:
                cmd = {
                    "type": "complete_workflow",
                    "result": {"codec": "avro", "blob": completed["payload"]["result"]},
                }
            status, _ = await c.request(
                "POST",
                f"/api/worker/workflow-tasks/{task['task_id']}/complete",
                {
                    "lease_owner": worker_id,
                    "workflow_task_attempt": task["workflow_task_attempt"],
                    "commands": [cmd],
                },
                WORKER,
            )
            assert status == 200, status
            if completed is not None:
                self.latency.append(time.perf_counter() - self.started_at[task["workflow_id"]])
                self.finished[task["workflow_id"]].set()
                if len(self.latency) >= self.total:
                    self.done.set()
        c.close()

    async def activity_poller(self, worker_id: str) -> None:
        c = self.conn()
        while not self.stop:
            _, body = await c.request(
                "POST", "/api/worker/activity-tasks/poll", {"worker_id": worker_id, "task_queue": "b"}, WORKER
            )
            task = body["task"]
            if task is None:
                continue
            status, _ = await c.request(
                "POST",
                f"/api/worker/activity-tasks/{task['task_id']}/complete",
                {
                    "activity_attempt_id": task["activity_attempt_id"],
                    "lease_owner": worker_id,
                    "result": task["arguments"],
                },
                WORKER,
            )
            assert status == 200, status
        c.close()

    async def starter(self, ids: list[str]) -> None:
        c = self.conn()
        for wid in ids:
            self.finished[wid] = asyncio.Event()
            self.started_at[wid] = time.perf_counter()
            status, body = await c.request(
                "POST",
                "/api/workflows",
                {
                    "workflow_id": wid,
                    "workflow_type": "bench",
                    "task_queue": "b",
                    "input": {"codec": "avro", "blob": "AA5bIkFkYSJdAg=="},
                },
                CONTROL,
            )
            assert status == 201, body
            await self.finished[wid].wait()  # closed loop: `concurrency` workflows in flight
        c.close()


async def baseline(host: str, port: int, seconds: float, concurrency: int) -> float:
    count = 0
    end = time.perf_counter() + seconds

    async def hammer() -> None:
        nonlocal count
        c = Conn(host, port)
        while time.perf_counter() < end:
            await c.request("GET", "/api/health")
            count += 1
        c.close()

    began = time.perf_counter()
    await asyncio.gather(*(hammer() for _ in range(concurrency)))
    return count / (time.perf_counter() - began)


async def wake_latency(host: str, port: int, rounds: int) -> list[float]:
    c, p = Conn(host, port), Conn(host, port)
    await c.request(
        "POST",
        "/api/worker/register",
        {"worker_id": "waker", "task_queue": "wake", "runtime": "python"},
        WORKER,
    )
    samples = []
    for i in range(rounds):
        poll = asyncio.create_task(
            p.request(
                "POST",
                "/api/worker/workflow-tasks/poll",
                {"worker_id": "waker", "task_queue": "wake"},
                WORKER,
            )
        )
        await asyncio.sleep(0.02)  # let the poll park on the server
        await c.request(
            "POST",
            "/api/workflows",
            {"workflow_id": f"wake-{i}", "workflow_type": "w", "task_queue": "wake"},
            CONTROL,
        )
        acked = time.perf_counter()
        _, body = await poll
        samples.append(time.perf_counter() - acked)
        task = body["task"]
        assert task is not None
        await c.request(
            "POST",
            f"/api/worker/workflow-tasks/{task['task_id']}/complete",
            {
                "lease_owner": "waker",
                "workflow_task_attempt": task["workflow_task_attempt"],
                "commands": [{"type": "complete_workflow", "result": None}],
            },
            WORKER,
        )
    c.close()
    p.close()
    return samples


async def main(total: int, concurrency: int, pollers: int) -> None:
    proc, url = launch()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        base = await baseline(host, int(port), 3.0, concurrency)
        reg = Conn(host, int(port))
        await reg.request(
            "POST",
            "/api/worker/register",
            {"worker_id": "bench", "task_queue": "b", "runtime": "python"},
            WORKER,
        )
        reg.close()
        bench = Bench(host, int(port), total)
        workers = [asyncio.create_task(bench.workflow_poller("bench")) for _ in range(pollers)]
        workers += [asyncio.create_task(bench.activity_poller("bench")) for _ in range(pollers)]
        ids = [f"bench-{i}" for i in range(total)]
        began = time.perf_counter()
        await asyncio.gather(*(bench.starter(ids[k::concurrency]) for k in range(concurrency)))
        await asyncio.wait_for(bench.done.wait(), 170)
        elapsed = time.perf_counter() - began
        bench.stop = True
        wakes = await wake_latency(host, int(port), 50)
        for t in workers:
            t.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    finally:
        proc.terminate()
        proc.wait(10)
    wps = total / elapsed
    calls = 7 * wps
    print(
        f"workflows                : {total} (one activity each), {concurrency} in flight (closed loop), "
        f"{pollers}+{pollers} pollers, raw-HTTP worker in the benchmark process"
    )
    print(f"throughput               : {wps:.1f} workflows/s  ({calls:.0f} workflow HTTP calls/s)")
    print(
        f"start-to-result latency  : p50 {statistics.median(bench.latency) * 1000:.1f} ms, "
        f"p99 {pct(bench.latency, 99) * 1000:.1f} ms"
    )
    print(
        f"long-poll wake latency   : p50 {statistics.median(wakes) * 1000:.2f} ms, "
        f"p99 {pct(wakes, 99) * 1000:.2f} ms  ({len(wakes)} samples)"
    )
    print(f"baseline GET /api/health : {base:.0f} requests/s (same server, same run)")
    print(f"ratio                    : workflow calls/s / baseline requests/s = {calls / base:.2f}")
    print(
        f"targets                  : >=150 workflows/s {'MET' if wps >= 150 else 'MISSED'}; "
        f"p50 wake < 5 ms {'MET' if statistics.median(wakes) < 0.005 else 'MISSED'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pollers", type=int, default=16)
    ns = parser.parse_args()
    asyncio.run(main(ns.workflows, ns.concurrency, ns.pollers))
