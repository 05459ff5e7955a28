"""The LRU run-state cache on its own: capacity, recency, eviction reasons and metrics."""

from __future__ import annotations

import pytest
from dw_core.metrics import InMemoryMetrics
from dw_worker.sticky_cache import (
    WORKER_STICKY_CACHE_EVICTIONS,
    WORKER_STICKY_CACHE_HITS,
    WORKER_STICKY_CACHE_MISSES,
    StickyWorkflowCache,
)

EVICTED = WORKER_STICKY_CACHE_EVICTIONS


def test_least_recently_used_state_is_evicted_first() -> None:
    metrics = InMemoryMetrics()
    cache: StickyWorkflowCache[str] = StickyWorkflowCache(2, metrics=metrics, task_queue="q")
    cache.put("a", "state-a")
    cache.put("b", "state-b")
    assert cache.take("a") == "state-a"  # a task for run a takes its state...
    cache.put("a", "state-a2")  # ...and puts it back: now b is the oldest
    cache.put("c", "state-c")
    assert "b" not in cache
    assert cache.take("a") == "state-a2"
    assert cache.take("c") == "state-c"
    assert metrics.counter_value(EVICTED, {"task_queue": "q", "reason": "capacity"}) == 1


def test_take_is_exclusive_until_put_back() -> None:
    cache: StickyWorkflowCache[str] = StickyWorkflowCache(4)
    cache.put("run", "s")
    assert cache.take("run") == "s"
    assert cache.take("run") is None


def test_size_zero_disables_caching() -> None:
    cache: StickyWorkflowCache[str] = StickyWorkflowCache(0)
    assert not cache.enabled
    cache.put("run", "s")
    assert len(cache) == 0


def test_explicit_evictions_and_shutdown_are_counted_by_reason() -> None:
    metrics = InMemoryMetrics()
    cache: StickyWorkflowCache[str] = StickyWorkflowCache(10, metrics=metrics, task_queue="q")
    for run in ("a", "b", "c"):
        cache.put(run, run)
    assert cache.evict("a", "completed") is True
    assert cache.evict("a", "completed") is False
    cache.clear("shutdown")
    assert len(cache) == 0
    assert metrics.counter_value(EVICTED, {"task_queue": "q", "reason": "completed"}) == 1
    assert metrics.counter_value(EVICTED, {"task_queue": "q", "reason": "shutdown"}) == 2
    assert cache.evictions == 3


def test_hits_and_misses_are_metrics() -> None:
    metrics = InMemoryMetrics()
    cache: StickyWorkflowCache[str] = StickyWorkflowCache(1, metrics=metrics, task_queue="q")
    cache.record_hit()
    cache.record_miss("absent")
    cache.record_miss("mismatch")
    assert metrics.counter_value(WORKER_STICKY_CACHE_HITS, {"task_queue": "q"}) == 1
    assert metrics.counter_value(WORKER_STICKY_CACHE_MISSES, {"task_queue": "q", "reason": "absent"}) == 1
    assert (cache.hits, cache.misses) == (1, 2)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_invalid_size_is_refused_with_a_clear_message(bad: object) -> None:
    with pytest.raises(ValueError, match="max_cached_workflows"):
        StickyWorkflowCache(bad)  # type: ignore[arg-type]
