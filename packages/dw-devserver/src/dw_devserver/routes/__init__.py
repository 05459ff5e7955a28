"""Route modules of the dev server, mounted in this fixed order.

Each module in :data:`ROUTE_MODULES` (``dw_devserver.routes.<name>``) exposes:

- ``routes``: a list of Starlette ``Route`` objects (build them with
  :class:`dw_devserver.http.RouteTable`, which adds auth, headers, namespaces and error envelopes);
- optionally ``SCHEMA``: SQL run at startup (idempotent ``CREATE TABLE IF NOT EXISTS ...``);
- optionally ``setup(rt)``: called once at startup with the :class:`~dw_devserver.runtime.Runtime`
  (e.g. ``rt.scheduler.add_tick(...)``).

A module that is not there yet is skipped, so features can land independently.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

log = logging.getLogger("dw_devserver.routes")

ROUTE_MODULES = [
    # the worker plane carries most requests; routes are matched in this order
    "worker_plane",
    "discovery",
    "workflows",
    "activities",
    "admin",
    "schedules",
    "namespaces",
    "task_queues",
    "workers",
    "search_attributes",
    "system",
    "bridge",
]


def load_route_modules() -> list[ModuleType]:
    """Import every present route module (missing ones are skipped, broken ones raise)."""
    modules = []
    for name in ROUTE_MODULES:
        full = f"{__name__}.{name}"
        try:
            modules.append(importlib.import_module(full))
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
            log.debug("route module %s not present; skipped", full)
    return modules
