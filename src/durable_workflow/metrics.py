"""Metrics recorders and metric names (re-exported from :mod:`dw_core.metrics`).

``PrometheusMetrics`` lives in the ``dw-metrics-prometheus`` distribution
(``pip install 'durable-workflow[prometheus]'``); it is importable from here once installed, and
importing it without the distribution raises ``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Final

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

if TYPE_CHECKING:
    from dw_metrics_prometheus import PrometheusMetrics as PrometheusMetrics

_PROMETHEUS_MODULE: Final = "dw_metrics_prometheus"


def __getattr__(name: str) -> Any:
    """Import ``PrometheusMetrics`` from its plugin distribution on first use."""
    if name != "PrometheusMetrics":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_PROMETHEUS_MODULE)
    except ImportError as exc:
        raise ImportError(
            "PrometheusMetrics is provided by the dw-metrics-prometheus distribution, which is not "
            "installed; install it with: pip install 'durable-workflow[prometheus]'",
            name=_PROMETHEUS_MODULE,
        ) from exc
    value = module.PrometheusMetrics
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"PrometheusMetrics"})


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
# Listed only when installed, so ``from durable_workflow.metrics import *`` works without the extra.
if find_spec(_PROMETHEUS_MODULE) is not None:
    __all__ += ["PrometheusMetrics"]
