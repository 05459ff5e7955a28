"""SQLite storage: one connection, one write transaction per state change.

Other modules declare their tables as a ``SCHEMA`` string (idempotent ``CREATE TABLE IF NOT
EXISTS`` statements) which :meth:`Store.apply_schema` runs at startup, and do all writes inside
``with store.transaction() as tx:``. The server runs every request on one event-loop thread and
never awaits inside a transaction, so a transaction is atomic with respect to other requests; a
file database uses WAL so a killed process loses nothing that was committed (acknowledged).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


class Transaction:
    """The handle passed to code running inside :meth:`Store.transaction`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._after_commit: list[Callable[[], None]] = []

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """First row of a query, or None."""
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a query."""
        return self.conn.execute(sql, params).fetchall()

    def insert(self, table: str, values: dict[str, Any]) -> None:
        """INSERT one row from a column -> value mapping (dicts/lists are stored as JSON)."""
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", [_adapt(v) for v in values.values()]
        )

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> int:
        """UPDATE rows matching ``key`` (column equality) with ``values``; returns rows changed."""
        sets = ", ".join(f"{c} = ?" for c in values)
        where = " AND ".join(f"{c} = ?" for c in key)
        cur = self.conn.execute(
            f"UPDATE {table} SET {sets} WHERE {where}",
            [_adapt(v) for v in values.values()] + list(key.values()),
        )
        return cur.rowcount

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (e.g. wake long-polls)."""
        self._after_commit.append(callback)


def _adapt(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


class Store:
    """The server's SQLite database."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.conn = sqlite3.connect(
            path or ":memory:", isolation_level=None, check_same_thread=False, cached_statements=512
        )
        self.conn.row_factory = sqlite3.Row
        if path:
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a killed process (not a power cut), which is
            # the dev server's durability promise, without an fsync per request.
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self._tx: Transaction | None = None

    def apply_schema(self, sql: str) -> None:
        """Create tables/indexes (statements must be idempotent)."""
        self.conn.executescript(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic write; nested use joins the outer transaction."""
        if self._tx is not None:
            yield self._tx
            return
        tx = Transaction(self.conn)
        self._tx = tx
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield tx
        except BaseException:
            self._tx = None
            self.conn.execute("ROLLBACK")
            raise
        self._tx = None
        self.conn.execute("COMMIT")
        for callback in tx._after_commit:
            callback()

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """Read one row outside (or inside) a transaction."""
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Read rows."""
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (checkpoints the WAL of a file database)."""
        self.conn.close()


def loads(text: str | None, default: Any = None) -> Any:
    """Decode a JSON column (None stays ``default``)."""
    if text is None:
        return default
    return json.loads(text)
