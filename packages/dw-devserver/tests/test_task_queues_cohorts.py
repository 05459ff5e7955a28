"""Pure build-id cohort rules: worker staleness, rollout status, ordering and drain/resume/promote."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dw_devserver.control.build_ids import (
    RolloutRecord,
    effective_worker_status,
    rollout_status,
    summarize_cohorts,
)

NOW = datetime(2026, 4, 22, 9, 30, tzinfo=timezone.utc)


def worker(build_id: str | None, status: str, heartbeat: str, wdf: object = None) -> dict[str, object]:
    extra = {"workflow_definition_fingerprints": wdf} if wdf else {}
    return {
        "build_id": build_id,
        "status": status,
        "runtime": "python",
        "sdk_version": "sdk/1",
        "last_heartbeat_at": heartbeat,
        "registered_at": "2026-04-22T08:00:00.000000Z",
        **extra,
    }


def test_worker_goes_stale_after_the_window() -> None:
    assert effective_worker_status("active", NOW - timedelta(seconds=59), NOW, 60) == "active"
    assert effective_worker_status("draining", NOW - timedelta(seconds=10), NOW, 60) == "draining"
    assert effective_worker_status("active", NOW - timedelta(seconds=61), NOW, 60) == "stale"
    assert effective_worker_status("active", None, NOW, 60) == "stale"


def test_rollout_status_table() -> None:
    assert rollout_status(2, 0, 5) == "active"
    assert rollout_status(1, 1, 0) == "active_with_draining"
    assert rollout_status(0, 1, 3) == "draining"
    assert rollout_status(0, 0, 1) == "stale_only"
    assert rollout_status(0, 0, 0) == "no_workers"


def test_drain_is_idempotent_and_resume_or_promote_clear_it() -> None:
    record = RolloutRecord("b1").drain("T1")
    assert (record.drain_intent, record.drained_at) == ("draining", "T1")
    again = record.drain("T2")
    assert again.drained_at == "T1"
    resumed = again.resume()
    assert (resumed.drain_intent, resumed.drained_at) == ("active", None)
    promoted = again.promote("T3")
    assert (promoted.drain_intent, promoted.drained_at, promoted.promoted_at) == ("active", None, "T3")


def test_cohorts_are_grouped_counted_and_sorted() -> None:
    workers = [
        worker(None, "stale", "2026-04-20T12:00:00.000000Z"),
        worker("old", "draining", "2026-04-22T09:29:00.000000Z"),
        worker("new", "active", "2026-04-22T09:30:00.000000Z", wdf={"A": "sha256:1"}),
        worker("new", "active", "2026-04-22T09:29:30.000000Z", wdf={"A": "sha256:2"}),
    ]
    cohorts = summarize_cohorts(workers, [RolloutRecord("old", "draining", "T0"), RolloutRecord("ghost")])
    assert [c["build_id"] for c in cohorts] == ["new", "old", None, "ghost"]
    new = cohorts[0]
    assert (new["rollout_status"], new["active_worker_count"], new["total_worker_count"]) == ("active", 2, 2)
    assert new["last_heartbeat_at"] == "2026-04-22T09:30:00.000000Z"
    assert new["workflow_definition_fingerprint_conflicts"] == [
        {"workflow_type": "A", "fingerprints": ["sha256:1", "sha256:2"]}
    ]
    assert cohorts[1]["drain_intent"] == "draining" and cohorts[1]["rollout_status"] == "draining"
    assert cohorts[2]["rollout_status"] == "stale_only"
    assert cohorts[3]["rollout_status"] == "no_workers"
    assert not any(c["new_start_selected"] for c in cohorts)


def test_latest_promotion_selects_new_starts() -> None:
    records = [
        RolloutRecord("a", promoted_at="2026-04-22T01:00:00Z"),
        RolloutRecord("b", promoted_at="2026-04-22T02:00:00Z"),
    ]
    selected = {c["build_id"]: c["new_start_selected"] for c in summarize_cohorts([], records)}
    assert selected == {"a": False, "b": True}
