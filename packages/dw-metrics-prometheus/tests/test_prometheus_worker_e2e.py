"""A real worker and client running a workflow on the embedded dev server, exported through Prometheus."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dw_client import Client
from dw_core import activity, workflow
from dw_devserver import DevServer
from dw_metrics_prometheus import PrometheusMetrics
from dw_worker import Worker
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 60.0


@activity.defn(name="prom.double")
def double(value: int) -> int:
    return value * 2


@workflow.defn(name="prom.one")
class DoubleOnce:
    def run(self, ctx: Any, value: int) -> Any:
        result = yield ctx.schedule_activity("prom.double", [value])
        return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def exposition(registry: CollectorRegistry) -> Iterator[str]:
    server, thread = start_http_server(_free_port(), addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    # Async, because the dev server shares this event loop with the test.
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.get(url)
    response.raise_for_status()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    matches = [value for found, value in samples.get(name, []) if found == labels]
    assert len(matches) == 1, f"{name}{labels} not exported once; have {samples.get(name)}"
    return matches[0]


async def test_worker_and_client_metrics_are_scraped(registry: CollectorRegistry, exposition: str) -> None:
    metrics = PrometheusMetrics(registry=registry)
    queue = f"q-{uuid.uuid4().hex[:10]}"
    async with DevServer.start(long_poll_timeout=2) as server, Client(server.url, metrics=metrics) as client:
        worker = Worker(
            client, task_queue=queue, workflows=[DoubleOnce], activities=[double], metrics=metrics
        )
        async with worker:
            handle = await client.start_workflow(
                workflow_type="prom.one",
                task_queue=queue,
                workflow_id=f"wf-{uuid.uuid4().hex[:8]}",
                input=[21],
            )
            assert await handle.result(timeout=TIMEOUT) == 42
        samples = await _scrape(exposition)

    tags = {"task_queue": queue}
    workflow_tasks = {**tags, "task_kind": "workflow", "outcome": "completed"}
    activity_tasks = {**tags, "task_kind": "activity", "outcome": "completed"}
    assert _value(samples, "durable_workflow_worker_tasks_total", **workflow_tasks) == 2.0
    assert _value(samples, "durable_workflow_worker_tasks_total", **activity_tasks) == 1.0
    assert _value(samples, "durable_workflow_worker_task_duration_seconds_count", **activity_tasks) == 1.0
    assert (
        _value(samples, "durable_workflow_worker_polls_total", **tags, task_kind="activity", outcome="task")
        == 1
    )
    poll_counts = samples["durable_workflow_worker_poll_duration_seconds_count"]
    assert sum(value for found, value in poll_counts if found["task_kind"] == "workflow") >= 2

    # The worker's own HTTP calls are labelled as worker-plane requests with templated routes.
    worker_routes = {
        found["route"]
        for found, _ in samples["durable_workflow_client_requests_total"]
        if found["plane"] == "worker" and found["outcome"] == "ok"
    }
    assert "/worker/workflow-tasks/poll" in worker_routes
    assert "/worker/activity-tasks/{task_id}/complete" in worker_routes
