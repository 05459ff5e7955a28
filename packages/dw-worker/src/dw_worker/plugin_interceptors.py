"""Worker interceptors contributed by plugins through core's plugin manager."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("durable_workflow.worker")

_HOOK_NAMES = ("durable_workflow_worker_interceptors", "worker_interceptors")


def plugin_interceptors() -> tuple[Any, ...]:
    """Interceptors every installed plugin provides (flattened, in plugin order); ``()`` without plugins."""
    try:
        from dw_core.plugins import get_plugin_manager
    except ImportError:
        return ()
    manager = get_plugin_manager()
    hook = None
    for name in _HOOK_NAMES:
        hook = getattr(manager.hook, name, None)
        if hook is not None:
            break
    if hook is None:
        return ()
    collected: list[Any] = []
    for provided in hook():
        if provided is None:
            continue
        items = provided if isinstance(provided, (list, tuple)) else [provided]
        for item in items:
            collected.append(item() if isinstance(item, type) else item)
    return tuple(collected)
