"""Resolving storage drivers, metrics recorders, codecs and worker interceptors through the hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import pluggy

from dw_core.errors import DurableWorkflowError
from dw_core.plugins.manager import get_plugin_manager

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadStoragePolicy, ExternalStorageDriver
    from dw_core.metrics import MetricsRecorder
    from dw_core.plugins.contracts import PayloadCodec

__all__ = [
    "INSTALL_HINTS",
    "PluginNotFoundError",
    "external_storage_driver",
    "metrics_recorder",
    "payload_codec",
    "worker_interceptors",
]

INSTALL_HINTS: Final[Mapping[tuple[str, str], str]] = {
    ("storage", "s3"): "pip install 'durable-workflow[s3]'",
    ("storage", "gcs"): "pip install 'durable-workflow[gcs]'",
    ("storage", "azure"): "pip install 'durable-workflow[azure]'",
    ("storage", "azure-blob"): "pip install 'durable-workflow[azure]'",
    ("metrics", "prometheus"): "pip install 'durable-workflow[prometheus]'",
}
"""Which package provides the well-known plugin names that do not ship with dw-core."""

_KIND_LABELS: Final = {
    "storage": "external storage driver",
    "metrics": "metrics recorder",
    "codec": "payload codec",
}


class PluginNotFoundError(DurableWorkflowError, ValueError):
    """No installed plugin provides the requested driver / recorder / codec name."""

    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.available = available
        self.install_hint = INSTALL_HINTS.get((kind, name))
        label = _KIND_LABELS.get(kind, kind)
        text = f"no plugin provides the {label} {name!r}"
        if self.install_hint:
            text += f"; install it with: {self.install_hint}"
        else:
            text += "; install a plugin distribution that provides it"
        text += f" (available: {', '.join(available) or 'none'})"
        super().__init__(text)


def _available(hook: Any) -> list[str]:
    names: set[str] = set()
    for result in hook():
        names.update(str(n) for n in result or ())
    return sorted(names)


def external_storage_driver(
    name: str,
    *,
    policy: ExternalPayloadStoragePolicy,
    options: Mapping[str, Any] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> ExternalStorageDriver:
    """The storage driver called ``name`` built by the first plugin that provides it."""
    pm = plugin_manager or get_plugin_manager()
    driver = pm.hook.dw_external_storage_driver(name=name, policy=policy, options=dict(options or {}))
    if driver is None:
        raise PluginNotFoundError("storage", name, _available(pm.hook.dw_external_storage_driver_names))
    return driver  # type: ignore[no-any-return]


def metrics_recorder(
    name: str, *, plugin_manager: pluggy.PluginManager | None = None, **options: Any
) -> MetricsRecorder:
    """The metrics recorder called ``name`` (``noop``, ``memory``, or one from a plugin)."""
    pm = plugin_manager or get_plugin_manager()
    recorder = pm.hook.dw_metrics_recorder(name=name, options=options)
    if recorder is None:
        raise PluginNotFoundError("metrics", name, _available(pm.hook.dw_metrics_recorder_names))
    return recorder  # type: ignore[no-any-return]


def payload_codec(name: str, *, plugin_manager: pluggy.PluginManager | None = None) -> PayloadCodec:
    """The payload codec called ``name`` (``avro``, ``json``, or one from a plugin)."""
    pm = plugin_manager or get_plugin_manager()
    codec = pm.hook.dw_payload_codec(name=name)
    if codec is None:
        raise PluginNotFoundError("codec", name, _available(pm.hook.dw_payload_codec_names))
    return codec  # type: ignore[no-any-return]


def worker_interceptors(
    *,
    task_queue: str,
    worker_id: str | None = None,
    options: Mapping[str, Any] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> list[Any]:
    """Interceptors contributed by plugins for a new worker, in plugin registration order."""
    pm = plugin_manager or get_plugin_manager()
    results = pm.hook.dw_worker_interceptors(
        task_queue=task_queue, worker_id=worker_id, options=dict(options or {})
    )
    # pluggy calls the most recently registered implementation first; reverse for registration order.
    collected: list[Any] = []
    for contribution in reversed(results):
        if contribution:
            collected.extend(contribution)
    return collected
