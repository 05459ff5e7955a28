"""Built-in plugin: the ``noop`` and ``memory`` metrics recorders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dw_core.metrics import NOOP_METRICS, InMemoryMetrics, MetricsRecorder
from dw_core.plugins.hookspecs import hookimpl


@hookimpl
def dw_metrics_recorder_names() -> Iterable[str]:
    return ["noop", "memory"]


@hookimpl
def dw_metrics_recorder(name: str, options: Mapping[str, Any]) -> MetricsRecorder | None:
    if name == "noop":
        return NOOP_METRICS
    if name == "memory":
        return InMemoryMetrics()
    return None
