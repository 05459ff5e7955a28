"""The live state of one server instance, shared by every route module (``request.app.state.runtime``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dw_devserver import cluster_info
from dw_devserver.clock import Clock
from dw_devserver.config import ServerConfig
from dw_devserver.scheduler import Scheduler
from dw_devserver.schema import SCHEMA, upgrade_columns
from dw_devserver.store import Store
from dw_devserver.wakeups import Wakeups

if TYPE_CHECKING:
    from dw_devserver.engine import Engine
    from dw_devserver.queries import QueryBroker

log = logging.getLogger("dw_devserver")


class Runtime:
    """Config, clock, store, wake-ups, scheduler and engine of one server.

    Route modules reach everything through ``ctx.rt``: ``rt.store.transaction()`` for writes,
    ``rt.engine.start_workflow(...)`` to start runs, ``rt.scheduler.add_tick(cb)`` for periodic
    work, ``rt.clock.now()`` for the current time.
    """

    def __init__(self, config: ServerConfig) -> None:
        from dw_devserver.engine import Engine
        from dw_devserver.queries import QueryBroker

        self.config = config
        self.clock = Clock(virtual=config.virtual_clock)
        self.store = Store(config.db_path)
        self.store.apply_schema(SCHEMA)
        upgrade_columns(self.store)
        self.wakeups = Wakeups()
        self.scheduler = Scheduler(self.clock)
        self.engine: Engine = Engine(self)
        self.queries: QueryBroker = QueryBroker(self)
        self.server_capabilities: dict[str, Any] = cluster_info.server_capabilities(config)
        #: (namespace, worker_id, poll_request_id) -> (task body, expiry): a retried workflow-task
        #: poll gets back the task its first attempt already leased
        self.poll_cache: dict[tuple[str, str, str], tuple[dict[str, Any], float]] = {}
        self._seed_default_namespace()
        self.scheduler.add_tick(self.engine.tick, "engine")

    def _seed_default_namespace(self) -> None:
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO namespaces"
                " (name, description, retention_days, status, created_at, updated_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (
                    self.config.default_namespace,
                    "Default namespace",
                    self.config.default_retention_days,
                    now,
                    now,
                ),
            )

    def namespace_exists(self, name: str) -> bool:
        """True when ``name`` is an active namespace."""
        row = self.store.one("SELECT status FROM namespaces WHERE name = ?", (name,))
        return row is not None and row["status"] == "active"

    def close(self) -> None:
        """Release the database."""
        self.wakeups.notify_all()
        self.store.close()
