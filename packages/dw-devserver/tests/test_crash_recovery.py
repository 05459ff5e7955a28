"""Durability: SIGKILL the server mid-flight, restart on the same SQLite file, finish every workflow.

The server runs as a real subprocess (``dw-devserver start --db FILE``); workers are raw HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from dw_devserver.codec import decode_avro, encode_avro

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2"}
WORKER = {"X-Durable-Workflow-Protocol-Version": "1.1"}
LEASE = 2.0


def env(value: Any) -> dict[str, str]:
    return {"codec": "avro", "blob": encode_avro(value)}


def launch(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dw_devserver.cli",
            "start",
            "--port",
            "0",
            "--db",
            str(db),
            "--log-level",
            "warning",
            "--long-poll-timeout",
            "1",
            "--workflow-task-lease-seconds",
            str(LEASE),
            "--activity-lease-seconds",
            str(LEASE),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line
    return proc, line.strip().rsplit(" ", 1)[-1]


class Worker:
    def __init__(self, c: httpx.Client, worker_id: str) -> None:
        self.c = c
        self.id = worker_id
        r = c.post(
            "/api/worker/register",
            json={"worker_id": worker_id, "task_queue": "q", "runtime": "python"},
            headers=WORKER,
        )
        assert r.status_code == 201, r.text

    def poll(self, family: str) -> dict[str, Any] | None:
        r = self.c.post(
            f"/api/worker/{family}-tasks/poll", json={"worker_id": self.id, "task_queue": "q"}, headers=WORKER
        )
        assert r.status_code == 200, r.text
        task: dict[str, Any] | None = r.json()["task"]
        return task

    def decide(self, task: dict[str, Any]) -> httpx.Response:
        """double(n): schedule the activity, then return its result; sleepy: a 2 s timer."""
        events = {e["event_type"]: e for e in task["history_events"]}
        if "ActivityCompleted" in events:
            cmd: dict[str, Any] = {
                "type": "complete_workflow",
                "result": env(decode_avro(events["ActivityCompleted"]["payload"]["result"])),
            }
        elif "TimerFired" in events:
            cmd = {"type": "complete_workflow", "result": env("slept")}
        elif task["workflow_type"] == "sleepy":
            cmd = {"type": "start_timer", "delay_seconds": 2}
        else:
            cmd = {"type": "schedule_activity", "activity_type": "double", "arguments": task["arguments"]}
        return self.c.post(
            f"/api/worker/workflow-tasks/{task['task_id']}/complete",
            headers=WORKER,
            json={
                "lease_owner": self.id,
                "workflow_task_attempt": task["workflow_task_attempt"],
                "commands": [cmd],
            },
        )

    def run_activity(self, task: dict[str, Any]) -> httpx.Response:
        (n,) = decode_avro(task["arguments"]["blob"])
        return self.c.post(
            f"/api/worker/activity-tasks/{task['task_id']}/complete",
            headers=WORKER,
            json={
                "activity_attempt_id": task["activity_attempt_id"],
                "lease_owner": self.id,
                "result": env(n * 2),
            },
        )


def test_sigkill_and_restart_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "dev.sqlite"
    proc, url = launch(db)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            for i in range(6):
                r = c.post(
                    "/api/workflows",
                    headers=CONTROL,
                    json={
                        "workflow_id": f"double-{i}",
                        "workflow_type": "double",
                        "task_queue": "q",
                        "input": env([i]),
                    },
                )
                assert r.status_code == 201
            c.post(
                "/api/workflows",
                headers=CONTROL,
                json={
                    "workflow_id": "sleepy",
                    "workflow_type": "sleepy",
                    "task_queue": "q",
                    "input": env([]),
                },
            )
            w = Worker(c, "before-crash")
            for _ in range(7):
                task = w.poll("workflow")
                assert task is not None
                assert w.decide(task).status_code == 200
            leased = [w.poll("activity") for _ in range(3)]  # in flight when the server dies
            assert all(leased)
            assert w.run_activity(leased[0]).status_code == 200  # acknowledged: must survive
            done_id = leased[0]["workflow_id"]  # type: ignore[index]
            c.post(
                "/api/workflows",
                headers=CONTROL,
                json={
                    "workflow_id": "double-6",
                    "workflow_type": "double",
                    "task_queue": "q",
                    "input": env([6]),
                },
            )
            orphan = w.poll("workflow")  # a leased workflow task that will never be completed
            assert orphan is not None
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    time.sleep(LEASE + 0.5)  # leases expire and the 2 s timer comes due while the server is down

    proc, url = launch(db)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            w = Worker(c, "after-crash")
            expected = {f"double-{i}": 2 * i for i in range(7)} | {"sleepy": "slept"}
            deadline = time.monotonic() + 60
            remaining = set(expected)
            while remaining and time.monotonic() < deadline:
                task = w.poll("workflow")
                if task is not None:
                    w.decide(task)
                act = w.poll("activity")
                if act is not None:
                    w.run_activity(act)
                for wid in list(remaining):
                    if c.get(f"/api/workflows/{wid}", headers=CONTROL).json()["status"] == "completed":
                        remaining.discard(wid)
            assert not remaining, f"never completed: {sorted(remaining)}"
            for wid, value in expected.items():
                assert c.get(f"/api/workflows/{wid}", headers=CONTROL).json()["output"] == value
            run_id = c.get(f"/api/workflows/{done_id}", headers=CONTROL).json()["run_id"]
            events = c.get(f"/api/workflows/{done_id}/runs/{run_id}/history", headers=CONTROL).json()[
                "events"
            ]
            assert [e["event_type"] for e in events].count("ActivityStarted") == 1  # not run again
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
