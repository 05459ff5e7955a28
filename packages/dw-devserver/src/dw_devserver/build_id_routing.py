"""How build-id cohorts steer dispatch (worker-plane.md §3.1, §3.3, §3.11; control-plane.md §8.8).

- A run carries a compatibility marker (``runs.compatibility``): ``NULL`` matches any worker, a build
  id only workers registered with that build id. New runs take the build id of the queue's latest
  promoted, non-draining cohort; continue-as-new and children on the same queue keep a pinned marker.
- A worker of a draining cohort finishes work in flight but claims no NEW work: no first workflow
  task of a run and no standalone activity.
- Routing uses the build id stored at registration, never the one a poll sends.

The cohort intents live in ``build_id_rollouts`` (the task-queues routes write them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dw_devserver.store import Store, Transaction

#: the unversioned cohort (build id NULL) is stored as '' so it can take part in the primary key
UNVERSIONED = ""


def cohort_drain_intent(
    src: Store | Transaction, namespace: str, task_queue: str, build_id: str | None
) -> str:
    """``draining`` when an operator drained the cohort of ``build_id`` on the queue, else ``active``."""
    row = src.one(
        "SELECT drain_intent FROM build_id_rollouts WHERE namespace = ? AND task_queue = ? AND build_id = ?",
        (namespace, task_queue, build_id or UNVERSIONED),
    )
    return str(row["drain_intent"]) if row is not None else "active"


def promoted_build_id(src: Store | Transaction, namespace: str, task_queue: str) -> str | None:
    """The build id new starts on the queue are pinned to (None: any worker may take them)."""
    row = src.one(
        "SELECT build_id FROM build_id_rollouts WHERE namespace = ? AND task_queue = ?"
        " AND promoted_at IS NOT NULL AND drain_intent = 'active' ORDER BY promoted_at DESC LIMIT 1",
        (namespace, task_queue),
    )
    return str(row["build_id"]) or None if row is not None else None


def marker_for_new_run(
    tx: Transaction, namespace: str, task_queue: str, related_run_id: str | None
) -> str | None:
    """The compatibility marker of a new run; ``related_run_id`` is its parent or predecessor."""
    if related_run_id:
        related = tx.one("SELECT task_queue, compatibility FROM runs WHERE run_id = ?", (related_run_id,))
        if related is not None and related["compatibility"] and related["task_queue"] == task_queue:
            return str(related["compatibility"])
    return promoted_build_id(tx, namespace, task_queue)


def claim_filter(worker: Mapping[str, Any], *, run_alias: str, new_work_sql: str) -> tuple[str, list[Any]]:
    """SQL (``AND ...``) and parameters restricting a claim to runs this worker may serve.

    ``new_work_sql`` is a condition true for work that counts as new (a draining worker skips it).
    """
    build_id = worker.get("build_id") or None
    sql = f" AND ({run_alias}.compatibility IS NULL"
    params: list[Any] = []
    if build_id is not None:
        sql += f" OR {run_alias}.compatibility = ?"
        params.append(build_id)
    sql += ")"
    if worker.get("status") == "draining":
        sql += f" AND NOT ({new_work_sql})"
    return sql, params
