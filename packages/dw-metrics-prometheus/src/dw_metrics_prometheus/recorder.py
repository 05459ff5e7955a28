"""``PrometheusMetrics``: the SDK's two-method recorder contract on top of ``prometheus_client``."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from dw_core.metrics import (
    CLIENT_REQUEST_DURATION_SECONDS,
    CLIENT_REQUESTS,
    WORKER_POLL_DURATION_SECONDS,
    WORKER_POLLS,
    WORKER_TASK_DURATION_SECONDS,
    WORKER_TASKS,
    MetricTags,
)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["DEFAULT_BUCKETS", "INSTALL_HINT", "PrometheusMetrics"]

INSTALL_HINT: Final = "pip install 'durable-workflow[prometheus]'"

DEFAULT_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""Histogram buckets in seconds; up to a minute, so 35 s worker long-polls land in a finite bucket."""

_DESCRIPTIONS: Final[Mapping[str, str]] = {
    CLIENT_REQUESTS: "HTTP requests made by the Durable Workflow client.",
    CLIENT_REQUEST_DURATION_SECONDS: "Duration of Durable Workflow client HTTP requests in seconds.",
    WORKER_POLLS: "Task polls made by Durable Workflow workers.",
    WORKER_POLL_DURATION_SECONDS: "Duration of Durable Workflow worker task polls in seconds.",
    WORKER_TASKS: "Tasks handled by Durable Workflow workers.",
    WORKER_TASK_DURATION_SECONDS: "Duration of Durable Workflow worker task handling in seconds.",
}

_COUNTER: Final = "counter"
_HISTOGRAM: Final = "histogram"


class _Family:
    """One collector plus a cache of its labelled children keyed by the tag values in label order."""

    __slots__ = ("children", "collector", "kind", "label_names")

    def __init__(self, kind: str, label_names: tuple[str, ...], collector: Any) -> None:
        self.kind = kind
        self.label_names = label_names
        self.collector = collector
        self.children: dict[tuple[Any, ...], Any] = {}

    def child(self, tags: MetricTags | None) -> Any | None:
        """The child for ``tags``, or ``None`` when the tag keys are not exactly the label names."""
        names = self.label_names
        if not names:
            return self.collector if not tags else None
        if tags is None or len(tags) != len(names):
            return None
        try:
            key = tuple([tags[name] for name in names])
            child = self.children.get(key)
        except (KeyError, TypeError):  # a missing tag, or an unhashable value (the slow path says why)
            return None
        if child is None:
            # labels() stringifies the values itself; concurrent first uses get the same child.
            child = self.children[key] = self.collector.labels(*key)
        return child


class _RegistryFamilies:
    """The collectors created for one registry, shared by every recorder that uses it.

    Sharing lets a client and a worker (or two clients) each own a ``PrometheusMetrics`` on the
    default registry without "Duplicated timeseries" errors.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.families: dict[str, _Family] = {}


_FAMILIES_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, _RegistryFamilies] = (
    weakref.WeakKeyDictionary()
)
_FAMILIES_LOCK = threading.Lock()


def _families_for(registry: CollectorRegistry) -> _RegistryFamilies:
    with _FAMILIES_LOCK:
        families = _FAMILIES_BY_REGISTRY.get(registry)
        if families is None:
            families = _FAMILIES_BY_REGISTRY[registry] = _RegistryFamilies()
        return families


def _import_prometheus_client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise RuntimeError(
            f"PrometheusMetrics needs the prometheus-client package; install it with: {INSTALL_HINT}"
        ) from exc
    return prometheus_client


class PrometheusMetrics:
    """Exports the SDK's counters and histograms through ``prometheus_client``.

    A ``Counter`` or ``Histogram`` is created on first use of each metric name, with the sorted tag
    keys of that first call as its label names (counters are exposed with the ``_total`` suffix).
    Every later call for that name must use the same tag keys, else ``ValueError``. ``registry``
    defaults to ``prometheus_client.REGISTRY``; recorders on the same registry share collectors.
    ``buckets`` (seconds) applies to histograms this recorder creates.
    """

    def __init__(
        self, *, registry: CollectorRegistry | None = None, buckets: Sequence[float] | None = None
    ) -> None:
        self._prometheus = _import_prometheus_client()
        self.registry: CollectorRegistry = registry if registry is not None else self._prometheus.REGISTRY
        if buckets is not None:
            if isinstance(buckets, (str, bytes)) or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) for b in buckets
            ):
                raise ValueError(f"buckets must be a sequence of numbers (seconds), got {buckets!r}")
            if not buckets or list(buckets) != sorted(set(buckets)):
                raise ValueError(f"buckets must be non-empty and strictly increasing, got {list(buckets)!r}")
        self.buckets: tuple[float, ...] = tuple(float(b) for b in buckets) if buckets else DEFAULT_BUCKETS
        self._families = _families_for(self.registry)

    def __repr__(self) -> str:
        return f"PrometheusMetrics(registry={self.registry!r})"

    def increment(self, name: str, value: float = 1.0, tags: MetricTags | None = None) -> None:
        """Add ``value`` (>= 0) to the counter ``name`` with ``tags`` as labels."""
        family = self._families.families.get(name)
        child = family.child(tags) if family is not None and family.kind == _COUNTER else None
        (child if child is not None else self._series(name, _COUNTER, tags)).inc(value)

    def record(self, name: str, value: float, tags: MetricTags | None = None) -> None:
        """Observe ``value`` in the histogram ``name`` with ``tags`` as labels."""
        family = self._families.families.get(name)
        child = family.child(tags) if family is not None and family.kind == _HISTOGRAM else None
        (child if child is not None else self._series(name, _HISTOGRAM, tags)).observe(value)

    def _series(self, name: str, kind: str, tags: MetricTags | None) -> Any:
        """The child for ``tags``, creating the collector on first use; ``ValueError`` on a mismatch."""
        items = sorted((str(k), str(v)) for k, v in (tags or {}).items())
        label_names = tuple(k for k, _ in items)
        family = self._families.families.get(name)
        if family is None:
            with self._families.lock:
                family = self._families.families.get(name)
                if family is None:
                    family = self._create(name, kind, label_names)
                    self._families.families[name] = family
        if family.kind != kind:
            raise ValueError(
                f"metric {name!r} is already a Prometheus {family.kind}; it cannot also be used as a {kind}"
            )
        if family.label_names != label_names:
            raise ValueError(
                f"metric {name!r} was first recorded with tags {list(family.label_names)} and now with "
                f"{list(label_names)}; a Prometheus metric needs the same tag keys on every call"
            )
        values = tuple(v for _, v in items)
        return family.collector.labels(*values) if values else family.collector

    def _create(self, name: str, kind: str, label_names: tuple[str, ...]) -> _Family:
        description = _DESCRIPTIONS.get(name, f"Durable Workflow metric {name}.")
        try:
            if kind == _COUNTER:
                collector = self._prometheus.Counter(
                    name, description, labelnames=label_names, registry=self.registry
                )
            else:
                collector = self._prometheus.Histogram(
                    name, description, labelnames=label_names, registry=self.registry, buckets=self.buckets
                )
        except ValueError as exc:
            raise ValueError(f"cannot create the Prometheus {kind} {name!r}: {exc}") from exc
        return _Family(kind, label_names, collector)
