"""The ``prometheus`` metrics-recorder plugin (entry point ``dw-metrics-prometheus``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from dw_core.metrics import MetricsRecorder
from dw_core.plugins import hookimpl

__all__ = ["RECORDER_NAME", "dw_metrics_recorder", "dw_metrics_recorder_names"]

RECORDER_NAME: Final = "prometheus"
_OPTIONS: Final = frozenset({"registry", "buckets"})


@hookimpl
def dw_metrics_recorder_names() -> Iterable[str]:
    return [RECORDER_NAME]


@hookimpl
def dw_metrics_recorder(name: str, options: Mapping[str, Any]) -> MetricsRecorder | None:
    if name != RECORDER_NAME:
        return None
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for the prometheus metrics recorder; it accepts registry= "
            "(a prometheus_client CollectorRegistry) and buckets= (histogram buckets in seconds)"
        )
    # Imported here so loading the plugin does not import prometheus_client.
    from dw_metrics_prometheus.recorder import PrometheusMetrics

    return PrometheusMetrics(**dict(options))
