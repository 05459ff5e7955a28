"""The worker reaches the server only through public ``Client`` calls, whichever carrier they use.

Since the fast worker-plane path lives in ``dw_client``, the worker has no HTTP of its own: these
tests run the worker over both carriers, through a client subclass and through a client with the
0.4.84 call signatures, and check the deprecated ``Worker(fast_worker_plane=...)``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.errors import NonRetryableError, WorkflowFailed
from dw_core.metrics import CLIENT_REQUESTS, InMemoryMetrics
from dw_worker import Worker

TIMEOUT = 30.0


@activity.defn(name="tr.add")
def add(a: int, b: int) -> int:
    return a + b


@activity.defn(name="tr.refuse")
def refuse(size: int) -> None:
    error = NonRetryableError("refused")
    error.details = {"blob": "x" * size}  # type: ignore[attr-defined]
    raise error


@workflow.defn(name="tr.sum")
class Sum:
    def run(self, ctx: Any, n: int) -> Any:
        total = 0
        for i in range(n):
            total = yield ctx.schedule_activity("tr.add", [total, i])
        return total


@workflow.defn(name="tr.refused")
class Refused:
    def run(self, ctx: Any, size: int) -> Any:
        result = yield ctx.schedule_activity("tr.refuse", [size])
        return result


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


def _worker_plane_calls(metrics: InMemoryMetrics) -> float:
    counters = metrics.counters.items()
    return sum(
        value for (name, tags), value in counters if name == CLIENT_REQUESTS and ("plane", "worker") in tags
    )


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "httpx"])
async def test_a_workflow_runs_over_either_carrier(server: Any, queue: str, fast: bool) -> None:
    from dw_client import Client

    metrics = InMemoryMetrics()
    async with Client(server.url, fast_worker_plane=fast, metrics=metrics) as client:
        assert client.fast_worker_plane is fast
        async with Worker(
            client, task_queue=queue, workflows=[Sum], activities=[add], max_cached_workflows=0
        ):
            handle = await client.start_workflow(
                workflow_type="tr.sum", task_queue=queue, workflow_id=wf_id(), input=[5]
            )
            assert await handle.result(timeout=TIMEOUT) == 10
    # register, polls, history pages, completions: all counted, with the same tags on either carrier
    assert _worker_plane_calls(metrics) >= 12


async def test_a_client_subclass_sees_every_worker_plane_call(server: Any, queue: str) -> None:
    from dw_client import Client

    calls: list[str] = []

    class Recording(Client):
        async def complete_activity_task(self, **kwargs: Any) -> Any:
            calls.append("complete_activity_task")
            return await super().complete_activity_task(**kwargs)

        async def complete_workflow_task(self, **kwargs: Any) -> Any:
            calls.append("complete_workflow_task")
            return await super().complete_workflow_task(**kwargs)

    async with Recording(server.url) as client:
        assert client.fast_worker_plane  # the subclass keeps the fast carrier; the worker still calls it
        async with Worker(client, task_queue=queue, workflows=[Sum], activities=[add]):
            handle = await client.start_workflow(
                workflow_type="tr.sum", task_queue=queue, workflow_id=wf_id(), input=[2]
            )
            assert await handle.result(timeout=TIMEOUT) == 1
    assert calls.count("complete_activity_task") == 2
    assert calls.count("complete_workflow_task") == 3


class _Calls044:
    """A client with 0.4.84's call signatures (no ``history_page_size``), forwarding to a real one."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def poll_workflow_task(
        self, *, worker_id: str, task_queue: str, timeout: float = 35.0, build_id: str | None = None
    ) -> Any:
        return await self._client.poll_workflow_task(
            worker_id=worker_id, task_queue=task_queue, timeout=timeout, build_id=build_id
        )

    async def workflow_task_history(
        self, *, task_id: str, next_history_page_token: str, lease_owner: str, workflow_task_attempt: int
    ) -> Any:
        return await self._client.workflow_task_history(
            task_id=task_id,
            next_history_page_token=next_history_page_token,
            lease_owner=lease_owner,
            workflow_task_attempt=workflow_task_attempt,
        )


async def test_a_client_without_page_size_arguments_gets_the_plain_calls(server: Any, queue: str) -> None:
    from dw_client import Client

    async with Client(server.url) as real:
        client = _Calls044(real)
        async with Worker(client, task_queue=queue, workflows=[Sum], activities=[add]):
            handle = await real.start_workflow(
                workflow_type="tr.sum", task_queue=queue, workflow_id=wf_id(), input=[4]
            )
            assert await handle.result(timeout=TIMEOUT) == 6


async def test_failure_details_are_offloaded_with_the_workers_external_storage(
    server: Any, queue: str, tmp_path: Path
) -> None:
    from dw_client import Client
    from dw_core.external_storage import LocalFilesystemExternalStorage

    storage = LocalFilesystemExternalStorage(tmp_path / "payloads")
    async with Client(server.url) as client:  # the client itself has no external storage
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[Refused],
            activities=[refuse],
            external_storage=storage,
            external_storage_threshold_bytes=512,
        )
        async with worker:
            handle = await client.start_workflow(
                workflow_type="tr.refused", task_queue=queue, workflow_id=wf_id(), input=[4096]
            )
            with pytest.raises(WorkflowFailed) as info:
                await handle.result(timeout=TIMEOUT)
        history = await client.get_history(handle.workflow_id, handle.run_id)
    assert "refused" in str(info.value)
    failed = next(e for e in history["events"] if e["event_type"] == "ActivityFailed")
    assert "external_storage" in str(failed["payload"])  # a reference, not the 4 KB inline
    assert "x" * 600 not in str(failed["payload"])
    assert any((tmp_path / "payloads").rglob("*"))


async def test_worker_fast_worker_plane_is_deprecated_and_false_switches_the_client_off(server: Any) -> None:
    from dw_client import Client

    async with Client(server.url) as client:
        with pytest.warns(DeprecationWarning, match=r"Client\(\.\.\., fast_worker_plane=False\)"):
            Worker(client, task_queue="q", fast_worker_plane=True)
        assert client.fast_worker_plane
        with pytest.warns(DeprecationWarning, match="switched the fast path off"):
            Worker(client, task_queue="q", fast_worker_plane=False)
        assert not client.fast_worker_plane
