"""Prometheus metrics recorder for Durable Workflow.

Pass ``PrometheusMetrics()`` (or ``PrometheusMetrics(registry=my_registry)``) as ``metrics=`` to the
client or worker, then expose the registry as usual (``prometheus_client.start_http_server``). The
recorder is also registered as ``prometheus`` with the plugin manager:
``dw_core.plugins.metrics_recorder("prometheus", registry=...)``.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_metrics_prometheus.plugin import RECORDER_NAME
from dw_metrics_prometheus.recorder import DEFAULT_BUCKETS, PrometheusMetrics

try:
    __version__ = version("dw-metrics-prometheus")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["DEFAULT_BUCKETS", "RECORDER_NAME", "PrometheusMetrics", "__version__"]
