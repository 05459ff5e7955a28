"""Overlap policies, jitter and the other per-fire decisions of a schedule."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

OVERLAP_POLICIES = ("skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all")
DEFAULT_OVERLAP_POLICY = "skip"
MAX_JITTER_SECONDS = 3600
# buffer_all is unbounded in the real server; a cap keeps a runaway backfill from growing one row forever.
MAX_BUFFERED_FIRES = 1000


class FireAction(enum.Enum):
    """What a due fire does, given the overlap policy and whether the last started run is still open."""

    START = "start"
    SKIP = "skip"
    BUFFER = "buffer"
    BUFFER_FULL = "buffer_full"
    CANCEL_OTHER_THEN_START = "cancel_other"
    TERMINATE_OTHER_THEN_START = "terminate_other"


@dataclass(frozen=True)
class FireDecision:
    """The chosen action plus the buffer depth it leads to (for ``buffered`` outcomes)."""

    action: FireAction
    buffer_depth: int = 0


def decide_fire(policy: str, previous_run_open: bool, buffer_depth: int) -> FireDecision:
    """Apply an overlap policy to one fire.

    With no open run every policy starts a workflow, except that a non-empty buffer keeps its
    order: the new fire queues behind the buffered ones under the buffering policies.
    """
    if policy not in OVERLAP_POLICIES:
        raise ValueError(f"unknown overlap policy {policy!r}")
    if policy == "allow_all":
        return FireDecision(FireAction.START)
    if not previous_run_open:
        if buffer_depth and policy in ("buffer_one", "buffer_all"):
            return _buffer(policy, buffer_depth)
        return FireDecision(FireAction.START)
    if policy == "skip":
        return FireDecision(FireAction.SKIP)
    if policy == "cancel_other":
        return FireDecision(FireAction.CANCEL_OTHER_THEN_START)
    if policy == "terminate_other":
        return FireDecision(FireAction.TERMINATE_OTHER_THEN_START)
    return _buffer(policy, buffer_depth)


def _buffer(policy: str, buffer_depth: int) -> FireDecision:
    limit = 1 if policy == "buffer_one" else MAX_BUFFERED_FIRES
    if buffer_depth >= limit:
        return FireDecision(FireAction.BUFFER_FULL, buffer_depth)
    return FireDecision(FireAction.BUFFER, buffer_depth + 1)


def jitter_offset(schedule_id: str, nominal_fire: datetime, jitter_seconds: int) -> timedelta:
    """A delay in ``[0, jitter_seconds]`` that is a pure function of the schedule and the fire time.

    Deriving it from a hash rather than a random draw keeps the due time stable across restarts and
    lets tests predict it.
    """
    if jitter_seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{schedule_id}|{nominal_fire.isoformat()}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % (jitter_seconds + 1))


def workflow_id_for_fire(schedule_id: str, fire_time: datetime, manual_sequence: int | None = None) -> str:
    """The workflow id a fire starts: stable per nominal fire time, so a replayed fire cannot double-start."""
    stamp = fire_time.strftime("%Y%m%dT%H%M%SZ")
    suffix = f"manual-{manual_sequence}" if manual_sequence is not None else stamp
    candidate = f"{schedule_id}-{suffix}"
    if len(candidate) <= 128:
        return candidate
    digest = hashlib.sha256(schedule_id.encode()).hexdigest()[:16]
    return f"{schedule_id[: 128 - len(suffix) - 18]}-{digest}-{suffix}"
