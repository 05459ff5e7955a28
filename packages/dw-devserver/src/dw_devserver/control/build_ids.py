"""Build-id cohorts of a task queue: worker status, rollout status and the drain/resume/promote rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DRAIN_INTENTS = ("active", "draining")
_ROLLOUT_RANK = {"active": 0, "active_with_draining": 1, "draining": 2, "stale_only": 3}


def effective_worker_status(
    stored_status: str, last_heartbeat: datetime | None, now: datetime, stale_after: float
) -> str:
    """The status a worker is reported with: ``stale`` once its heartbeat is older than the window."""
    if last_heartbeat is None or now - last_heartbeat > timedelta(seconds=stale_after):
        return "stale"
    return stored_status if stored_status in DRAIN_INTENTS else "active"


def rollout_status(active: int, draining: int, stale: int) -> str:
    """Classify a cohort by the live status of its workers."""
    if active and draining:
        return "active_with_draining"
    if active:
        return "active"
    if draining:
        return "draining"
    if stale:
        return "stale_only"
    return "no_workers"


@dataclass
class RolloutRecord:
    """Operator intent stored for one (namespace, task queue, build id) cohort."""

    build_id: str | None
    drain_intent: str = "active"
    drained_at: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    created_at: str | None = None

    def drain(self, now_iso: str) -> RolloutRecord:
        """Draining is idempotent: the first drain time is kept on repeats."""
        return RolloutRecord(
            self.build_id,
            "draining",
            self.drained_at if self.drain_intent == "draining" else now_iso,
            self.promoted_at,
            self.rolled_back_at,
            self.created_at,
        )

    def resume(self) -> RolloutRecord:
        """Back to accepting work; the drain timestamp is cleared."""
        return RolloutRecord(
            self.build_id, "active", None, self.promoted_at, self.rolled_back_at, self.created_at
        )

    def promote(self, now_iso: str) -> RolloutRecord:
        """Selected for new starts; promotion also ends any drain."""
        return RolloutRecord(self.build_id, "active", None, now_iso, self.rolled_back_at, self.created_at)


@dataclass
class CohortSummary:
    """Counts and facts of one build-id cohort, in the shape ``GET .../build-ids`` returns."""

    build_id: str | None
    active_worker_count: int = 0
    draining_worker_count: int = 0
    stale_worker_count: int = 0
    runtimes: set[str] = field(default_factory=set)
    sdk_versions: set[str] = field(default_factory=set)
    last_heartbeat_at: str | None = None
    first_seen_at: str | None = None
    fingerprints: dict[str, set[str]] = field(default_factory=dict)
    record: RolloutRecord | None = None

    def to_json(self, promoted_build_id: str | None, has_promotion: bool) -> dict[str, Any]:
        """Wire form; ``new_start_selected`` marks the promoted cohort of the queue."""
        record = self.record or RolloutRecord(self.build_id)
        conflicts = [
            {"workflow_type": workflow_type, "fingerprints": sorted(values)}
            for workflow_type, values in sorted(self.fingerprints.items())
            if len(values) > 1
        ]
        total = self.active_worker_count + self.draining_worker_count + self.stale_worker_count
        return {
            "build_id": self.build_id,
            "rollout_status": rollout_status(
                self.active_worker_count, self.draining_worker_count, self.stale_worker_count
            ),
            "drain_intent": record.drain_intent,
            "drained_at": record.drained_at,
            "promoted_at": record.promoted_at,
            "rolled_back_at": record.rolled_back_at,
            "new_start_selected": has_promotion and promoted_build_id == self.build_id,
            "active_worker_count": self.active_worker_count,
            "draining_worker_count": self.draining_worker_count,
            "stale_worker_count": self.stale_worker_count,
            "total_worker_count": total,
            "runtimes": sorted(self.runtimes),
            "sdk_versions": sorted(self.sdk_versions),
            "last_heartbeat_at": self.last_heartbeat_at,
            "first_seen_at": self.first_seen_at or record.created_at,
            "workflow_definition_fingerprint_count": sum(len(v) for v in self.fingerprints.values()),
            "workflow_definition_fingerprint_conflicts": conflicts,
        }


def summarize_cohorts(
    workers: Iterable[Mapping[str, Any]], records: Iterable[RolloutRecord]
) -> list[dict[str, Any]]:
    """Group workers (already carrying their *effective* ``status``) into cohorts, sorted for display.

    Each worker mapping needs ``build_id``, ``status``, ``runtime``, ``sdk_version``,
    ``last_heartbeat_at``, ``registered_at`` and optionally ``workflow_definition_fingerprints``.
    Cohorts with a rollout record but no workers are listed too.
    """
    cohorts: dict[str | None, CohortSummary] = {}
    for worker in workers:
        build_id = worker.get("build_id") or None
        cohort = cohorts.setdefault(build_id, CohortSummary(build_id))
        status = worker.get("status")
        if status == "stale":
            cohort.stale_worker_count += 1
        elif status == "draining":
            cohort.draining_worker_count += 1
        else:
            cohort.active_worker_count += 1
        if worker.get("runtime"):
            cohort.runtimes.add(str(worker["runtime"]))
        if worker.get("sdk_version"):
            cohort.sdk_versions.add(str(worker["sdk_version"]))
        heartbeat = worker.get("last_heartbeat_at")
        if heartbeat and (cohort.last_heartbeat_at is None or heartbeat > cohort.last_heartbeat_at):
            cohort.last_heartbeat_at = heartbeat
        seen = worker.get("registered_at")
        if seen and (cohort.first_seen_at is None or seen < cohort.first_seen_at):
            cohort.first_seen_at = seen
        prints = worker.get("workflow_definition_fingerprints")
        if isinstance(prints, Mapping):
            for workflow_type, fingerprint in prints.items():
                cohort.fingerprints.setdefault(str(workflow_type), set()).add(str(fingerprint))

    promoted: RolloutRecord | None = None
    for record in records:
        cohorts.setdefault(record.build_id, CohortSummary(record.build_id)).record = record
        if record.promoted_at and (promoted is None or record.promoted_at > (promoted.promoted_at or "")):
            promoted = record

    def sort_key(cohort: CohortSummary) -> tuple[int, int]:
        status = rollout_status(
            cohort.active_worker_count, cohort.draining_worker_count, cohort.stale_worker_count
        )
        return (_ROLLOUT_RANK.get(status, 4), 1 if cohort.build_id is None else 0)

    # Two stable sorts: latest heartbeat first, then rank and named-before-unversioned on top of it.
    ordered = sorted(cohorts.values(), key=lambda c: c.last_heartbeat_at or "", reverse=True)
    ordered.sort(key=sort_key)
    return [
        cohort.to_json(promoted.build_id if promoted else None, promoted is not None) for cohort in ordered
    ]
