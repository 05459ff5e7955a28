"""Removes everything a namespace owns, across every table, when the namespace is deleted.

Tables are found by introspection (any table with a ``namespace`` column, plus per-run tables
keyed by ``run_id``/``execution_id``), so tables added later by other modules are cleaned too.
"""

from __future__ import annotations

from dw_devserver.store import Transaction

_KEEP = frozenset({"namespaces"})


def _columns(tx: Transaction, table: str) -> set[str]:
    return {row["name"] for row in tx.all(f"PRAGMA table_info('{table}')")}


def purge_namespace(tx: Transaction, namespace: str) -> dict[str, int]:
    """Delete the namespace's rows; returns the counts the delete response reports."""
    tables = [
        row["name"]
        for row in tx.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if row["name"] not in _KEEP
    ]
    columns = {table: _columns(tx, table) for table in tables}

    def count(table: str) -> int:
        if table not in columns:
            return 0
        row = tx.one(f"SELECT COUNT(*) AS n FROM {table} WHERE namespace = ?", (namespace,))
        return int(row["n"]) if row else 0

    counts = {
        "workflow_runs": count("runs"),
        "workflow_schedules": count("schedules"),
        "search_attribute_definitions": count("search_attribute_definitions"),
        "workflow_worker_registrations": count("workers"),
    }
    # Rows keyed only by run or execution go first, while the parent rows still say which are ours.
    for table, cols in columns.items():
        if "namespace" in cols:
            continue
        if "run_id" in cols and "runs" in columns:
            tx.execute(
                f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM runs WHERE namespace = ?)",
                (namespace,),
            )
        elif "execution_id" in cols and "activity_executions" in columns:
            tx.execute(
                f"DELETE FROM {table} WHERE execution_id IN "
                "(SELECT id FROM activity_executions WHERE namespace = ?)",
                (namespace,),
            )
    for table, cols in columns.items():
        if "namespace" in cols:
            tx.execute(f"DELETE FROM {table} WHERE namespace = ?", (namespace,))
    tx.execute("DELETE FROM namespaces WHERE name = ?", (namespace,))
    return counts
