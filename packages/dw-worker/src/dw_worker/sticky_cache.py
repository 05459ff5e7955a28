"""The sticky workflow cache: live run states kept between workflow tasks, least recently used first out.

A workflow task for a run is exclusive (the server leases one task per run at a time), so the worker
*takes* a state out of the cache for the length of a task and *puts* it back when the task succeeded;
a failed or abandoned task simply never puts it back, which is the eviction the design asks for.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Generic, TypeVar

from dw_core.metrics import NOOP_METRICS, MetricsRecorder

WORKER_STICKY_CACHE_HITS: Final = "durable_workflow_worker_sticky_cache_hits"
"""Counter: workflow tasks served by applying only the new events to a cached run state."""
WORKER_STICKY_CACHE_MISSES: Final = "durable_workflow_worker_sticky_cache_misses"
"""Counter: workflow tasks that needed a full replay (tag ``reason``: absent, mismatch, error)."""
WORKER_STICKY_CACHE_EVICTIONS: Final = "durable_workflow_worker_sticky_cache_evictions"
"""Counter: run states dropped (tag ``reason``: ``capacity``, ``completed``, ``failed``, ``shutdown``...)."""
WORKER_STICKY_CACHE_SIZE: Final = "durable_workflow_worker_sticky_cache_size"
"""Histogram: cache size observed after every change."""

S = TypeVar("S")


class StickyWorkflowCache(Generic[S]):
    """A bounded LRU map ``run_id -> run state``; ``max_size == 0`` turns caching off."""

    def __init__(
        self, max_size: int, *, metrics: MetricsRecorder = NOOP_METRICS, task_queue: str = ""
    ) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ValueError(
                f"max_cached_workflows must be an int >= 0 (0 disables the cache), got {max_size!r}"
            )
        self.max_size = max_size
        self._states: OrderedDict[str, S] = OrderedDict()
        self._metrics = metrics
        self._tags = {"task_queue": task_queue}
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.max_size > 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._states

    def take(self, run_id: str) -> S | None:
        """Remove and return the state of ``run_id`` (the caller owns it for the task), or ``None``."""
        return self._states.pop(run_id, None)

    def put(self, run_id: str, state: S) -> None:
        """Store ``state`` as the most recently used one, evicting the least recently used over capacity."""
        if not self.enabled:
            return
        self._states[run_id] = state
        self._states.move_to_end(run_id)
        while len(self._states) > self.max_size:
            self._states.popitem(last=False)
            self._count_eviction("capacity")
        self._observe_size()

    def evict(self, run_id: str, reason: str) -> bool:
        """Drop ``run_id``'s state if cached; ``reason`` tags the eviction metric."""
        if self._states.pop(run_id, None) is None:
            return False
        self._count_eviction(reason)
        self._observe_size()
        return True

    def clear(self, reason: str = "shutdown") -> None:
        """Drop every state (worker shutdown)."""
        for _ in range(len(self._states)):
            self._count_eviction(reason)
        self._states.clear()
        self._observe_size()

    def record_hit(self) -> None:
        self.hits += 1
        self._metrics.increment(WORKER_STICKY_CACHE_HITS, 1.0, self._tags)

    def record_miss(self, reason: str) -> None:
        self.misses += 1
        self._metrics.increment(WORKER_STICKY_CACHE_MISSES, 1.0, {**self._tags, "reason": reason})

    def _count_eviction(self, reason: str) -> None:
        self.evictions += 1
        self._metrics.increment(WORKER_STICKY_CACHE_EVICTIONS, 1.0, {**self._tags, "reason": reason})

    def _observe_size(self) -> None:
        self._metrics.record(WORKER_STICKY_CACHE_SIZE, float(len(self._states)), self._tags)
