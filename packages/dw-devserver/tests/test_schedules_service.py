"""The schedule service on a real SQLite store, with failure modes of the engine that HTTP cannot provoke.

The engine side is a small in-test :class:`WorkflowPort` because a crashing engine, or one that
rejects a start after writing part of it, cannot be produced through the real engine on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from dw_devserver.schedules.service import (
    SCHEMA,
    ScheduleDefinition,
    ScheduleService,
    StartedRun,
    StartRejected,
)
from dw_devserver.schedules.spec import parse_schedule_spec
from dw_devserver.store import Store

T0 = 1_776_000_000.0  # a 10-minute boundary (1_776_000_000 % 600 == 0)


class RecordingPort:
    """Starts runs in a ``fake_runs`` table so savepoint rollbacks are observable."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.crash_for: set[str] = set()
        self.reject_after_write = False
        self.open: set[str] = set()
        store.apply_schema("CREATE TABLE IF NOT EXISTS fake_runs (workflow_id TEXT PRIMARY KEY);")

    def start(
        self,
        namespace: str,
        workflow_id: str,
        action: Mapping[str, Any],
        memo: Mapping[str, Any] | None,
        search_attributes: Mapping[str, Any] | None,
    ) -> StartedRun:
        if any(workflow_id.startswith(prefix) for prefix in self.crash_for):
            raise RuntimeError("engine bug")
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO fake_runs (workflow_id) VALUES (?)", (workflow_id,))
        if self.reject_after_write:
            raise StartRejected("rejected_duplicate: already started")
        self.open.add(workflow_id)
        return StartedRun(workflow_id, f"run-{workflow_id}")

    def is_open(self, namespace: str, workflow_id: str, run_id: str | None) -> bool:
        return workflow_id in self.open

    def close(self, namespace: str, workflow_id: str, how: str, reason: str) -> None:
        self.open.discard(workflow_id)


@pytest.fixture
def service() -> tuple[ScheduleService, RecordingPort]:
    store = Store(None)
    store.apply_schema(SCHEMA)
    port = RecordingPort(store)
    return ScheduleService(store, port), port


def definition(policy: str = "allow_all") -> ScheduleDefinition:
    return ScheduleDefinition(
        spec=parse_schedule_spec({"intervals": [{"every": "PT10M"}]}),
        action={"workflow_type": "w"},
        overlap_policy=policy,
        jitter_seconds=0,
        max_runs=None,
        memo=None,
        search_attributes=None,
        note=None,
    )


def settle(service: ScheduleService, now: float) -> None:
    for _ in range(100):
        due = service.tick(now)
        if due is None or due > now:
            return
    raise AssertionError("scheduler never settled")


def test_a_crashing_schedule_does_not_starve_the_others(
    service: tuple[ScheduleService, RecordingPort],
) -> None:
    svc, port = service
    svc.create("default", "healthy", definition(), False, T0)
    svc.create("default", "broken", definition(), False, T0)
    port.crash_for.add("broken")
    settle(svc, T0 + 3600)

    assert svc.describe("default", "healthy")["fires_count"] == 6
    broken = svc.describe("default", "broken")
    # The failed fire is counted and audited once; missed fires are not replayed against a broken engine.
    assert (broken["fires_count"], broken["failures_count"]) == (0, 1)
    assert broken["next_fire_at"] == "2026-04-12T14:30:00.000000Z"  # the next grid point after "now"
    events = svc.history("default", "broken", 100, 0)["events"]
    assert [(e["event_type"], e["payload"].get("reason")) for e in events] == [
        ("ScheduleCreated", None),
        ("ScheduleTriggerSkipped", "trigger_failed"),
    ]
    port.crash_for.clear()
    settle(svc, T0 + 4200)
    assert svc.describe("default", "broken")["fires_count"] == 1


def test_a_rejected_start_leaves_nothing_half_written(service: tuple[ScheduleService, RecordingPort]) -> None:
    svc, port = service
    svc.create("default", "s", definition(), False, T0)
    port.reject_after_write = True
    status, body = svc.trigger("default", "s", None, T0 + 1)
    assert (status, body["outcome"]) == (500, "trigger_failed")
    assert body["reason"].startswith("rejected_duplicate")
    assert svc.store.all("SELECT * FROM fake_runs") == []
    described = svc.describe("default", "s")
    assert (described["fires_count"], described["failures_count"]) == (0, 1)


def test_catch_up_is_bounded_per_tick_and_resumes(service: tuple[ScheduleService, RecordingPort]) -> None:
    svc, _ = service
    spec = parse_schedule_spec({"intervals": [{"every": "PT1S"}]})
    svc.create(
        "default",
        "fast",
        ScheduleDefinition(spec, {"workflow_type": "w"}, "allow_all", 0, None, None, None, None),
        False,
        T0,
    )
    svc.tick(T0 + 2500)
    first = svc.describe("default", "fast")["fires_count"]
    assert first == 1000  # MAX_CATCH_UP_FIRES per schedule per tick
    settle(svc, T0 + 2500)
    assert svc.describe("default", "fast")["fires_count"] == 2500
