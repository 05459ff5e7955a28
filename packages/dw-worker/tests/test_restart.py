"""Crash recovery: a worker process killed with SIGKILL mid-activity and mid-workflow.

A fresh worker process must finish every workflow with the right result, and nothing that history
records as completed may run again. The dev server runs in this process with short leases so the
killed worker's leases come back quickly.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

TIMEOUT = 60.0

WORKER_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, pathlib, sys, time
    from dw_client import Client
    from dw_core import activity, workflow
    from dw_worker import Worker

    JOURNAL = pathlib.Path(sys.argv[3])
    BLOCK = pathlib.Path(sys.argv[4])


    def note(line):
        with JOURNAL.open("a") as journal:
            journal.write(line + "\\n")
            journal.flush()
            os.fsync(journal.fileno())


    @activity.defn(name="restart.step")
    def step(i):
        note(f"start {i} pid={os.getpid()}")
        while i == 1 and BLOCK.exists():
            time.sleep(0.05)
        note(f"done {i}")
        return i * 10


    @workflow.defn(name="restart.flow")
    class Flow:
        def run(self, ctx, pause):
            first = yield ctx.schedule_activity("restart.step", [0])
            if pause:
                yield ctx.start_timer(pause)
            second = yield ctx.schedule_activity("restart.step", [1], start_to_close_timeout=60)
            third = yield ctx.schedule_activity("restart.step", [2])
            return [first, second, third]


    async def main():
        async with Client(sys.argv[1]) as client:
            worker = Worker(client, task_queue=sys.argv[2], workflows=[Flow], activities=[step],
                            shutdown_timeout=1)
            print("ready", flush=True)
            await worker.run(handle_signals=True)
            print("stopped cleanly", flush=True)


    asyncio.run(main())
    """
)


@pytest.fixture
async def short_lease_server() -> AsyncIterator[Any]:
    from dw_devserver import DevServer

    async with DevServer.start(
        long_poll_timeout=2, workflow_task_lease_seconds=2, activity_lease_seconds=2
    ) as running:
        yield running


class WorkerProcess:
    def __init__(self, tmp: pathlib.Path, url: str, queue: str) -> None:
        script = tmp / "restart_worker.py"
        script.write_text(WORKER_SCRIPT)
        self.journal = tmp / "journal.txt"
        self.block = tmp / "block"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), url, queue, str(self.journal), str(self.block)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def lines(self) -> list[str]:
        return self.journal.read_text().splitlines() if self.journal.exists() else []


async def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _count(lines: list[str], prefix: str) -> int:
    return sum(1 for line in lines if line.startswith(prefix))


async def test_killed_mid_activity_a_new_worker_finishes_without_rerunning_completed_steps(
    short_lease_server: Any, tmp_path: pathlib.Path
) -> None:
    from dw_client import Client

    queue = f"restart-{uuid.uuid4().hex[:8]}"
    async with Client(short_lease_server.url) as client:
        first = WorkerProcess(tmp_path, short_lease_server.url, queue)
        first.block.touch()
        handle = await client.start_workflow(
            workflow_type="restart.flow", task_queue=queue, workflow_id=f"r-{uuid.uuid4().hex[:8]}", input=[0]
        )
        await _wait(lambda: _count(first.lines(), "start 1") == 1, "activity 1 to start")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        first.block.unlink()

        second = WorkerProcess(tmp_path, short_lease_server.url, queue)
        try:
            assert await handle.result(timeout=TIMEOUT) == [0, 10, 20]
        finally:
            second.proc.send_signal(signal.SIGTERM)
            out, err = second.proc.communicate(timeout=30)
    lines = second.lines()
    assert _count(lines, "start 0") == 1 and _count(lines, "done 0") == 1  # completed: never re-run
    assert _count(lines, "start 1") == 2 and _count(lines, "done 1") == 1  # in flight when killed: re-run
    assert _count(lines, "start 2") == 1
    assert second.proc.returncode == 0 and "stopped cleanly" in out, err[-2000:]


async def test_killed_between_workflow_tasks_a_new_worker_replays_and_finishes(
    short_lease_server: Any, tmp_path: pathlib.Path
) -> None:
    from dw_client import Client

    queue = f"restart-{uuid.uuid4().hex[:8]}"
    async with Client(short_lease_server.url) as client:
        first = WorkerProcess(tmp_path, short_lease_server.url, queue)
        handle = await client.start_workflow(
            workflow_type="restart.flow", task_queue=queue, workflow_id=f"r-{uuid.uuid4().hex[:8]}", input=[2]
        )
        await _wait(lambda: _count(first.lines(), "done 0") == 1, "activity 0 to finish")
        first.proc.send_signal(
            signal.SIGKILL
        )  # the run now waits on its timer, cached only in the dead process
        first.proc.wait(timeout=10)

        second = WorkerProcess(tmp_path, short_lease_server.url, queue)
        try:
            assert await handle.result(timeout=TIMEOUT) == [0, 10, 20]
        finally:
            second.proc.send_signal(signal.SIGTERM)
            second.proc.communicate(timeout=30)
    lines = second.lines()
    assert [_count(lines, f"done {i}") for i in range(3)] == [1, 1, 1]
    assert [_count(lines, f"start {i}") for i in range(3)] == [1, 1, 1]
    assert os.environ.get("DW_KEEP") is None or lines  # keep the journal readable when debugging
