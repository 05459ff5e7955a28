"""PrometheusMetrics through a real CollectorRegistry and its HTTP exposition, fed by a real client."""

from __future__ import annotations

import json
import pathlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib.metadata import version

import dw_metrics_prometheus
import httpx
import pytest
from dw_client import Client
from dw_core.metrics import (
    CLIENT_REQUEST_DURATION_SECONDS,
    CLIENT_REQUESTS,
    WORKER_POLL_DURATION_SECONDS,
    WORKER_TASKS,
    MetricsRecorder,
)
from dw_core.plugins import PluginNotFoundError, create_plugin_manager, metrics_recorder
from dw_devserver.server import DevServer
from dw_metrics_prometheus import DEFAULT_BUCKETS, PrometheusMetrics
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

TASK_TAGS = {"task_kind": "workflow", "task_queue": "orders", "outcome": "completed"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def exposition(registry: CollectorRegistry) -> Iterator[str]:
    """``/metrics`` of ``registry`` served by prometheus_client's own HTTP server on 127.0.0.1."""
    server, thread = start_http_server(_free_port(), addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(url, timeout=10.0)
    response.raise_for_status()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_worker_metric_names_appear_with_labels_and_values(
    registry: CollectorRegistry, exposition: str
) -> None:
    metrics = PrometheusMetrics(registry=registry)
    assert isinstance(metrics, MetricsRecorder)

    metrics.increment(WORKER_TASKS, tags=TASK_TAGS)
    metrics.increment(WORKER_TASKS, 2.0, tags=TASK_TAGS)
    metrics.increment(WORKER_TASKS, tags={**TASK_TAGS, "outcome": "failed"})
    poll_tags = {"task_kind": "activity", "task_queue": "orders", "outcome": "empty"}
    for seconds in (0.003, 0.2, 34.9):
        metrics.record(WORKER_POLL_DURATION_SECONDS, seconds, tags=poll_tags)

    samples = _scrape(exposition)
    assert samples[("durable_workflow_worker_tasks_total", _labels(**TASK_TAGS))] == 3.0
    assert (
        samples[("durable_workflow_worker_tasks_total", _labels(**{**TASK_TAGS, "outcome": "failed"}))] == 1.0
    )
    poll = "durable_workflow_worker_poll_duration_seconds"
    assert samples[(f"{poll}_count", _labels(**poll_tags))] == 3.0
    assert samples[(f"{poll}_sum", _labels(**poll_tags))] == pytest.approx(35.103)
    # A 35 s long-poll lands in a finite bucket (the default buckets go up to a minute).
    assert samples[(f"{poll}_bucket", _labels(**poll_tags, le="0.005"))] == 1.0
    assert samples[(f"{poll}_bucket", _labels(**poll_tags, le="30.0"))] == 2.0
    assert samples[(f"{poll}_bucket", _labels(**poll_tags, le="60.0"))] == 3.0
    assert DEFAULT_BUCKETS[-1] == 60.0


async def test_real_client_requests_are_exported(registry: CollectorRegistry, exposition: str) -> None:
    metrics = PrometheusMetrics(registry=registry)
    async with DevServer.start() as server, Client(server.url, metrics=metrics) as client:
        await client.describe_namespace("default")
        await client.describe_namespace("default")

    samples = _scrape(exposition)
    requests = {
        labels: v for (name, labels), v in samples.items() if name == "durable_workflow_client_requests_total"
    }
    described = [dict(labels) for labels in requests if dict(labels)["route"] == "/namespaces/{name}"]
    assert described == [
        {
            "method": "GET",
            "route": "/namespaces/{name}",
            "plane": "control",
            "status_code": "200",
            "outcome": "ok",
        }
    ]
    assert requests[_labels(**described[0])] == 2.0
    duration = "durable_workflow_client_request_duration_seconds_count"
    assert samples[(duration, _labels(**described[0]))] == 2.0


def test_reusing_a_name_with_other_tag_keys_is_a_value_error(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry)
    metrics.increment(CLIENT_REQUESTS, tags={"method": "GET", "route": "/x"})
    with pytest.raises(
        ValueError, match=r"first recorded with tags \['method', 'route'\] and now with \['method'\]"
    ):
        metrics.increment(CLIENT_REQUESTS, tags={"method": "GET"})
    with pytest.raises(ValueError, match="is already a Prometheus counter"):
        metrics.record(CLIENT_REQUESTS, 0.1, tags={"method": "GET", "route": "/x"})
    # Tag order does not matter: keys are sorted.
    metrics.increment(CLIENT_REQUESTS, tags={"route": "/x", "method": "GET"})
    assert (
        registry.get_sample_value("durable_workflow_client_requests_total", {"method": "GET", "route": "/x"})
        == 2.0
    )


def test_recorders_sharing_a_registry_share_series(registry: CollectorRegistry) -> None:
    client_side, worker_side = PrometheusMetrics(registry=registry), PrometheusMetrics(registry=registry)
    client_side.record(CLIENT_REQUEST_DURATION_SECONDS, 0.5, tags={"plane": "worker"})
    worker_side.record(CLIENT_REQUEST_DURATION_SECONDS, 1.5, tags={"plane": "worker"})
    name = "durable_workflow_client_request_duration_seconds"
    assert registry.get_sample_value(f"{name}_count", {"plane": "worker"}) == 2.0
    assert registry.get_sample_value(f"{name}_sum", {"plane": "worker"}) == 2.0
    # A fresh registry starts empty.
    assert PrometheusMetrics(registry=CollectorRegistry()).registry is not registry


def test_untagged_metrics_and_concurrent_increments(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry)

    def work() -> None:
        for _ in range(500):
            metrics.increment("custom_events")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert registry.get_sample_value("custom_events_total") == 2000.0


def test_bad_input_is_a_clear_value_error(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.increment("custom_events", -1.0)
    with pytest.raises(ValueError, match="cannot create the Prometheus counter ''"):
        metrics.increment("")
    with pytest.raises(ValueError, match=r"cannot create the Prometheus histogram 'custom_seconds'.*le"):
        metrics.record("custom_seconds", 1.0, tags={"le": "x"})
    # The failed creation left nothing behind: the name is usable with valid tags.
    metrics.record("custom_seconds", 1.0, tags={"stage": "x"})
    assert registry.get_sample_value("custom_seconds_count", {"stage": "x"}) == 1.0
    with pytest.raises(ValueError, match="strictly increasing"):
        PrometheusMetrics(registry=registry, buckets=[1.0, 0.5])
    with pytest.raises(ValueError, match="sequence of numbers"):
        PrometheusMetrics(registry=registry, buckets="1,2")  # type: ignore[arg-type]


def test_custom_buckets(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry, buckets=[0.1, 1.0])
    metrics.record("custom_seconds", 0.5)
    assert registry.get_sample_value("custom_seconds_bucket", {"le": "1.0"}) == 1.0
    assert registry.get_sample_value("custom_seconds_bucket", {"le": "0.1"}) == 0.0


def test_recorder_resolved_by_name_through_the_entry_point(registry: CollectorRegistry) -> None:
    with_entry_points = create_plugin_manager(load_entry_points=True)
    assert with_entry_points.get_plugin("dw-metrics-prometheus") is dw_metrics_prometheus.plugin
    recorder = metrics_recorder("prometheus", registry=registry, plugin_manager=with_entry_points)
    assert isinstance(recorder, PrometheusMetrics)
    recorder.increment(WORKER_TASKS, tags=TASK_TAGS)
    assert registry.get_sample_value("durable_workflow_worker_tasks_total", TASK_TAGS) == 1.0

    with pytest.raises(ValueError, match=r"unknown option\(s\) \['port'\]"):
        metrics_recorder("prometheus", port=9000, plugin_manager=with_entry_points)
    with pytest.raises(PluginNotFoundError, match=r"pip install 'durable-workflow\[prometheus\]'"):
        metrics_recorder("prometheus", plugin_manager=create_plugin_manager(load_entry_points=False))


def _cli() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "durable-workflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dw_core.cli"]


def test_cli_lists_all_four_plugin_distributions() -> None:
    done = subprocess.run([*_cli(), "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    expected = {
        "dw-metrics-prometheus": ("metrics", ["prometheus"]),
        "dw-storage-s3": ("storage", ["s3"]),
        "dw-storage-gcs": ("storage", ["gcs"]),
        "dw-storage-azure": ("storage", ["azure", "azure-blob"]),
    }
    for name, (kind, provided) in expected.items():
        entry = plugins[name]
        assert entry["distribution"] == name
        assert entry["version"] == version(name)
        assert entry["builtin"] is False
        assert entry["error"] is None
        assert entry["provides"] == {kind: provided}


def test_facade_reexports_the_class() -> None:
    from durable_workflow import metrics

    assert metrics.PrometheusMetrics is PrometheusMetrics
    assert "PrometheusMetrics" in metrics.__all__


def test_facade_names_the_extra_when_the_package_is_missing() -> None:
    # Simulates an install without the prometheus extra: a None entry in sys.modules fails the import.
    code = (
        "import sys; sys.modules['dw_metrics_prometheus'] = None\n"
        "import durable_workflow.metrics as m\n"
        "assert 'PrometheusMetrics' not in m.__all__, m.__all__\n"
        "try:\n"
        "    from durable_workflow.metrics import PrometheusMetrics\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'durable-workflow[prometheus]'" in done.stdout


def test_missing_prometheus_client_is_a_runtime_error_with_the_install_hint() -> None:
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from dw_metrics_prometheus import PrometheusMetrics\n"
        "try:\n"
        "    PrometheusMetrics()\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'durable-workflow[prometheus]'" in done.stdout


def test_every_tag_key_mismatch_is_caught_after_the_series_exists(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry)
    metrics.increment("custom_calls", tags={"plane": "control", "outcome": "ok"})
    metrics.increment("custom_untagged")
    mismatches: list[dict[str, str] | None] = [
        {"plane": "control", "status": "ok"},  # same count, other key
        {"plane": "control"},
        {"plane": "control", "outcome": "ok", "extra": "x"},
        None,
    ]
    for tags in mismatches:
        with pytest.raises(ValueError, match="needs the same tag keys"):
            metrics.increment("custom_calls", tags=tags)
    with pytest.raises(ValueError, match="needs the same tag keys"):
        metrics.increment("custom_untagged", tags={"plane": "control"})
    assert registry.get_sample_value("custom_calls_total", {"plane": "control", "outcome": "ok"}) == 1.0
    assert registry.get_sample_value("custom_untagged_total") == 1.0


def test_tag_values_are_text_in_one_series(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry=registry)
    metrics.increment("custom_responses", tags={"status_code": 200})  # type: ignore[dict-item]
    metrics.increment("custom_responses", tags={"status_code": "200"})
    assert registry.get_sample_value("custom_responses_total", {"status_code": "200"}) == 2.0
