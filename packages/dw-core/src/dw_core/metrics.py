"""Metrics recorder contract, the no-op and in-memory recorders, metric names and route templating.

A recorder has two methods: ``increment`` for counters and ``record`` for histogram observations.
The client and worker call them with the metric names and tags below; exporters (Prometheus, …)
implement the same two methods and register through the plugin manager.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeAlias, runtime_checkable
from urllib.parse import urlsplit

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
    "metric_key",
    "route_template",
]

CLIENT_REQUESTS: Final = "durable_workflow_client_requests"
"""Counter; tags ``method``, ``route``, ``plane``, ``status_code``, ``outcome``."""
CLIENT_REQUEST_DURATION_SECONDS: Final = "durable_workflow_client_request_duration_seconds"
"""Histogram; same tags as :data:`CLIENT_REQUESTS`."""
WORKER_POLLS: Final = "durable_workflow_worker_polls"
"""Counter; tags ``task_kind``, ``task_queue``, ``outcome`` (``task``/``empty``/``error``)."""
WORKER_POLL_DURATION_SECONDS: Final = "durable_workflow_worker_poll_duration_seconds"
"""Histogram; same tags as :data:`WORKER_POLLS`."""
WORKER_TASKS: Final = "durable_workflow_worker_tasks"
"""Counter; tags ``task_kind``, ``task_queue``, ``outcome``."""
WORKER_TASK_DURATION_SECONDS: Final = "durable_workflow_worker_task_duration_seconds"
"""Histogram; same tags as :data:`WORKER_TASKS`."""

MetricTags: TypeAlias = Mapping[str, str]
MetricKey: TypeAlias = tuple[str, tuple[tuple[str, str], ...]]


def metric_key(name: str, tags: MetricTags | None = None) -> MetricKey:
    """The identity of one time series: the name plus its tags sorted by key."""
    return name, tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items()))


@runtime_checkable
class MetricsRecorder(Protocol):
    """What the SDK needs from a metrics backend."""

    def increment(self, name: str, value: float = 1.0, tags: MetricTags | None = None) -> None:
        """Add ``value`` to the counter ``name`` with ``tags``."""

    def record(self, name: str, value: float, tags: MetricTags | None = None) -> None:
        """Record one observation of the histogram ``name`` with ``tags``."""


class NoopMetrics:
    """Drops everything; the default recorder."""

    def increment(self, name: str, value: float = 1.0, tags: MetricTags | None = None) -> None:
        """Do nothing."""

    def record(self, name: str, value: float, tags: MetricTags | None = None) -> None:
        """Do nothing."""


NOOP_METRICS: Final = NoopMetrics()
"""Shared no-op recorder."""


@dataclass
class InMemoryMetrics:
    """Keeps counters and observations in dictionaries keyed by :func:`metric_key` (for tests).

    Safe to share between the worker's threads.
    """

    counters: dict[MetricKey, float] = field(default_factory=dict)
    histograms: dict[MetricKey, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def increment(self, name: str, value: float = 1.0, tags: MetricTags | None = None) -> None:
        """Add ``value`` to the counter ``name`` with ``tags``."""
        key = metric_key(name, tags)
        with self._lock:
            self.counters[key] = self.counters.get(key, 0.0) + value

    def record(self, name: str, value: float, tags: MetricTags | None = None) -> None:
        """Append one observation to the histogram ``name`` with ``tags``."""
        key = metric_key(name, tags)
        with self._lock:
            self.histograms.setdefault(key, []).append(value)

    def counter_value(self, name: str, tags: MetricTags | None = None) -> float:
        """Current value of a counter series (0.0 if never incremented)."""
        with self._lock:
            return self.counters.get(metric_key(name, tags), 0.0)

    def observations(self, name: str, tags: MetricTags | None = None) -> list[float]:
        """A copy of the observations of a histogram series."""
        with self._lock:
            return list(self.histograms.get(metric_key(name, tags), []))


# Route templating: the segment after each of these is an identifier and becomes the placeholder,
# unless it is one of the literal sub-routes listed in _LITERAL_AFTER. Keeping identifiers out of the
# ``route`` tag bounds the number of time series.
_PLACEHOLDER_AFTER: Final[Mapping[str, str]] = {
    "workflows": "{workflow_id}",
    "signal": "{name}",
    "query": "{name}",
    "update": "{name}",
    "runs": "{run_id}",
    "schedules": "{schedule_id}",
    "namespaces": "{name}",
    "search-attributes": "{name}",
    "workers": "{worker_id}",
    "webhook": "{adapter}",
    "workflow-tasks": "{task_id}",
    "activity-tasks": "{task_id}",
    "query-tasks": "{task_id}",
    "task-queues": "{task_queue}",
    "activities": "{activity_id}",
}
_LITERAL_AFTER: Final[Mapping[str, frozenset[str]]] = {
    "workflow-tasks": frozenset({"poll"}),
    "activity-tasks": frozenset({"poll"}),
    "query-tasks": frozenset({"poll"}),
}


def route_template(path: str) -> str:
    """The ``route`` tag for a request path: ``/api`` prefix and query dropped, ids replaced.

    ``/api/workflows/order-1/signal/approve?x=1`` → ``/workflows/{workflow_id}/signal/{name}``.
    """
    if "://" in path:
        path = urlsplit(path).path
    path = path.split("?", 1)[0].split("#", 1)[0]
    segments = [segment for segment in path.split("/") if segment]
    if segments and segments[0] == "api":
        segments = segments[1:]
    out: list[str] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        out.append(segment)
        placeholder = _PLACEHOLDER_AFTER.get(segment)
        if placeholder is not None and index + 1 < len(segments):
            following = segments[index + 1]
            if following not in _LITERAL_AFTER.get(segment, frozenset()):
                out.append(placeholder)
                index += 1
        index += 1
    return "/" + "/".join(out)
