"""Metrics recorders and metric names (re-exported from :mod:`dw_core.metrics`).

``PrometheusMetrics`` lives in the ``dw-metrics-prometheus`` distribution
(``pip install 'durable-workflow[prometheus]'``).
"""

from dw_core.metrics import (
    CLIENT_REQUEST_DURATION_SECONDS,
    CLIENT_REQUESTS,
    NOOP_METRICS,
    WORKER_POLL_DURATION_SECONDS,
    WORKER_POLLS,
    WORKER_TASK_DURATION_SECONDS,
    WORKER_TASKS,
    InMemoryMetrics,
    MetricKey,
    MetricsRecorder,
    MetricTags,
    NoopMetrics,
)

__all__ = [
    "CLIENT_REQUESTS",
    "CLIENT_REQUEST_DURATION_SECONDS",
    "NOOP_METRICS",
    "WORKER_POLLS",
    "WORKER_POLL_DURATION_SECONDS",
    "WORKER_TASKS",
    "WORKER_TASK_DURATION_SECONDS",
    "InMemoryMetrics",
    "MetricKey",
    "MetricTags",
    "MetricsRecorder",
    "NoopMetrics",
]
