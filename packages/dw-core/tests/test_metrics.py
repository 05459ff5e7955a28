from __future__ import annotations

import threading

import pytest
from dw_core import metrics
from dw_core.metrics import (
    CLIENT_REQUESTS,
    NOOP_METRICS,
    WORKER_TASK_DURATION_SECONDS,
    InMemoryMetrics,
    MetricsRecorder,
    NoopMetrics,
    route_template,
)


def test_metric_names_are_the_published_ones() -> None:
    assert metrics.CLIENT_REQUESTS == "durable_workflow_client_requests"
    assert metrics.CLIENT_REQUEST_DURATION_SECONDS == "durable_workflow_client_request_duration_seconds"
    assert metrics.WORKER_POLLS == "durable_workflow_worker_polls"
    assert metrics.WORKER_POLL_DURATION_SECONDS == "durable_workflow_worker_poll_duration_seconds"
    assert metrics.WORKER_TASKS == "durable_workflow_worker_tasks"
    assert metrics.WORKER_TASK_DURATION_SECONDS == "durable_workflow_worker_task_duration_seconds"


def test_recorders_satisfy_the_protocol() -> None:
    assert isinstance(NOOP_METRICS, NoopMetrics)
    assert isinstance(NOOP_METRICS, MetricsRecorder)
    assert isinstance(InMemoryMetrics(), MetricsRecorder)
    NOOP_METRICS.increment(CLIENT_REQUESTS, tags={"a": "b"})
    NOOP_METRICS.record(WORKER_TASK_DURATION_SECONDS, 0.5)


def test_in_memory_keys_are_name_plus_sorted_tags() -> None:
    recorder = InMemoryMetrics()
    tags = {"route": "/workflows", "method": "GET", "status_code": "200"}
    recorder.increment(CLIENT_REQUESTS, tags=tags)
    recorder.increment(CLIENT_REQUESTS, 2.0, {"status_code": "200", "method": "GET", "route": "/workflows"})
    key = (CLIENT_REQUESTS, (("method", "GET"), ("route", "/workflows"), ("status_code", "200")))
    assert recorder.counters == {key: 3.0}
    assert recorder.counter_value(CLIENT_REQUESTS, tags) == 3.0
    assert recorder.counter_value(CLIENT_REQUESTS, {"method": "POST"}) == 0.0
    assert recorder.counter_value("never") == 0.0


def test_in_memory_histograms_and_copy_semantics() -> None:
    recorder = InMemoryMetrics()
    recorder.record(WORKER_TASK_DURATION_SECONDS, 0.25, {"task_kind": "activity"})
    recorder.record(WORKER_TASK_DURATION_SECONDS, 0.75, {"task_kind": "activity"})
    recorder.record(WORKER_TASK_DURATION_SECONDS, 9.0)
    seen = recorder.observations(WORKER_TASK_DURATION_SECONDS, {"task_kind": "activity"})
    assert seen == [0.25, 0.75]
    seen.append(100.0)
    assert recorder.observations(WORKER_TASK_DURATION_SECONDS, {"task_kind": "activity"}) == [0.25, 0.75]
    assert recorder.observations(WORKER_TASK_DURATION_SECONDS) == [9.0]
    assert recorder.histograms[(WORKER_TASK_DURATION_SECONDS, ())] == [9.0]


def test_in_memory_counts_every_increment_from_many_threads() -> None:
    recorder = InMemoryMetrics()

    def hammer() -> None:
        for _ in range(2000):
            recorder.increment("n")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert recorder.counter_value("n") == 8000.0


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/schedules/nightly", "/schedules/{schedule_id}"),
        ("/workflows/order-1/signal/approve", "/workflows/{workflow_id}/signal/{name}"),
        ("/api/workflows/order-1/query/status?x=1", "/workflows/{workflow_id}/query/{name}"),
        ("/workflows/order-1/update/bump", "/workflows/{workflow_id}/update/{name}"),
        ("/workflows", "/workflows"),
        ("/workflows?status=running", "/workflows"),
        ("/workflows/wf/runs/r1/history/export", "/workflows/{workflow_id}/runs/{run_id}/history/export"),
        ("/workflows/wf/cancel", "/workflows/{workflow_id}/cancel"),
        ("/schedules/s1/pause", "/schedules/{schedule_id}/pause"),
        ("/namespaces/billing/external-storage", "/namespaces/{name}/external-storage"),
        ("/search-attributes/Customer", "/search-attributes/{name}"),
        ("/workers/py-worker-1", "/workers/{worker_id}"),
        ("/bridge-adapters/webhook/stripe", "/bridge-adapters/webhook/{adapter}"),
        ("/worker/workflow-tasks/t-1/complete", "/worker/workflow-tasks/{task_id}/complete"),
        ("/worker/activity-tasks/t-2/heartbeat", "/worker/activity-tasks/{task_id}/heartbeat"),
        ("/worker/query-tasks/q-1/fail", "/worker/query-tasks/{task_id}/fail"),
        ("/worker/register", "/worker/register"),
        ("/cluster/info", "/cluster/info"),
        ("http://127.0.0.1:8080/api/schedules/s9", "/schedules/{schedule_id}"),
    ],
)
def test_route_templating_examples(path: str, route: str) -> None:
    assert route_template(path) == route


def test_route_templating_fixes_published_cardinality_bugs() -> None:
    # 0.4.84 templates the poll route as /worker/workflow-tasks/{task_id} and leaves task-queue and
    # activity ids in the tag (one time series per id).
    assert route_template("/worker/workflow-tasks/poll") == "/worker/workflow-tasks/poll"
    assert route_template("/worker/query-tasks/poll") == "/worker/query-tasks/poll"
    assert route_template("/task-queues/orders/build-ids") == "/task-queues/{task_queue}/build-ids"
    assert route_template("/activities/act-77") == "/activities/{activity_id}"
