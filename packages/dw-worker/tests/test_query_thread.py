"""Query tasks are answered on the worker's query thread even while its main loop is blocked."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import httpx
from dw_core import activity, workflow
from dw_worker import Worker

hog_started = threading.Event()
hog_finished = threading.Event()


@activity.defn(name="qt.hog")
async def hog() -> str:
    hog_started.set()
    time.sleep(1.5)  # blocks the worker's event loop on purpose (a badly written async activity)
    hog_finished.set()
    return "done"


@workflow.defn(name="qt.busy")
class Busy:
    def __init__(self) -> None:
        self.stage = "new"

    @workflow.query("stage")
    def current(self) -> str:
        return self.stage

    def run(self, ctx: Any) -> Any:
        self.stage = "hogging"
        result = yield ctx.schedule_activity("qt.hog", [])
        self.stage = "done"
        return result


def _query_when_hog_runs(url: str, workflow_id: str, answer: dict[str, Any]) -> None:
    assert hog_started.wait(30)
    started = time.monotonic()
    reply = httpx.post(
        f"{url}/api/workflows/{workflow_id}/query/stage",
        json={},
        headers={"X-Durable-Workflow-Control-Plane-Version": "2", "X-Namespace": "default"},
        timeout=30,
    )
    answer.update(
        status=reply.status_code,
        body=reply.json(),
        seconds=time.monotonic() - started,
        hog_still_running=not hog_finished.is_set(),
    )


async def test_queries_are_answered_while_the_worker_loop_is_blocked() -> None:
    from dw_client import Client
    from dw_devserver import SyncDevServer

    queue = f"qt-{uuid.uuid4().hex[:8]}"
    workflow_id = f"busy-{uuid.uuid4().hex[:8]}"
    answer: dict[str, Any] = {}
    with SyncDevServer.start(long_poll_timeout=2) as server:  # its own thread: not blocked by the hog
        async with (
            Client(server.url) as client,
            Worker(client, task_queue=queue, workflows=[Busy], activities=[hog]),
        ):
            asker = threading.Thread(target=_query_when_hog_runs, args=(server.url, workflow_id, answer))
            asker.start()
            handle = await client.start_workflow(
                workflow_type="qt.busy", task_queue=queue, workflow_id=workflow_id
            )
            assert await handle.result(timeout=30) == "done"
            await asyncio.to_thread(asker.join, 30)
    assert answer["status"] == 200, answer
    assert answer["body"]["result"] == "hogging"
    assert answer["hog_still_running"], f"answered only after the loop was free ({answer['seconds']:.2f} s)"
