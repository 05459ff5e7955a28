"""The process-wide plugin manager: built-in plugins first, then ``durable_workflow`` entry points."""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Final

import pluggy

from dw_core.plugins import hookspecs
from dw_core.plugins.hookspecs import PROJECT_NAME

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginLoadWarning",
    "autoload_disabled",
    "create_plugin_manager",
    "get_plugin_manager",
    "list_plugins",
    "reset_plugin_manager",
]

ENTRY_POINT_GROUP: Final = PROJECT_NAME
DISABLE_AUTOLOAD_ENV: Final = "DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD"

BUILTIN_PLUGINS: Final[dict[str, str]] = {
    "dw-core.storage": "dw_core.plugins.builtin_storage",
    "dw-core.metrics": "dw_core.plugins.builtin_metrics",
    "dw-core.codecs": "dw_core.plugins.builtin_codecs",
}
"""Plugin name → module of the plugins that ship with dw-core."""

_TRUTHY = frozenset({"1", "true", "yes", "on"})


class PluginLoadWarning(RuntimeWarning):
    """A plugin entry point could not be loaded or registered; the SDK keeps working without it."""


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin: where it came from and which hooks it implements."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...] = ()
    error: str | None = None
    provides: dict[str, tuple[str, ...]] = field(default_factory=dict)


def autoload_disabled() -> bool:
    """Whether ``DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD`` turns entry-point loading off."""
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() in _TRUTHY


class _DurableWorkflowPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.dw_records: dict[str, PluginInfo] = {}
        self.dw_failures: list[PluginInfo] = []


def _module_name(plugin: object) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__module__


def _load_entry_point(pm: _DurableWorkflowPluginManager, ep: EntryPoint) -> None:
    dist = getattr(ep, "dist", None)
    dist_name = dist.metadata["Name"] if dist is not None else None
    dist_version = dist.version if dist is not None else None
    if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
        return
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except Exception as exc:
        # One broken third-party plugin must not take the whole SDK down; report it and go on.
        failure = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist_name,
            version=dist_version,
            builtin=False,
            error=f"{type(exc).__name__}: {exc}",
        )
        pm.dw_failures.append(failure)
        warnings.warn(
            f"durable_workflow plugin {ep.name!r} ({ep.value}) from {dist_name or 'unknown distribution'} "
            f"could not be loaded: {failure.error}",
            PluginLoadWarning,
            stacklevel=3,
        )
        return
    pm.dw_records[ep.name] = PluginInfo(
        name=ep.name,
        module=_module_name(plugin),
        distribution=dist_name,
        version=dist_version,
        builtin=False,
    )


def create_plugin_manager(*, load_entry_points: bool | None = None) -> pluggy.PluginManager:
    """A new manager with the built-in plugins and, unless disabled, the installed entry points.

    ``load_entry_points=None`` follows ``DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD``.
    """
    pm = _DurableWorkflowPluginManager()
    pm.add_hookspecs(hookspecs)
    from dw_core import __version__ as core_version

    for name, module_name in BUILTIN_PLUGINS.items():
        module = importlib.import_module(module_name)
        pm.register(module, name=name)
        pm.dw_records[name] = PluginInfo(
            name=name, module=module_name, distribution="dw-core", version=core_version, builtin=True
        )
    if load_entry_points is None:
        load_entry_points = not autoload_disabled()
    if load_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _load_entry_point(pm, ep)
    return pm


_manager: pluggy.PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, created on first use."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = create_plugin_manager()
    return _manager


def reset_plugin_manager() -> None:
    """Drop the process-wide manager so the next use re-discovers plugins (tests, hot installs)."""
    global _manager
    with _manager_lock:
        _manager = None


_NAME_HOOKS: Final = {
    "storage": "dw_external_storage_driver_names",
    "metrics": "dw_metrics_recorder_names",
    "codecs": "dw_payload_codec_names",
}


def _provides(pm: pluggy.PluginManager, plugin: object) -> dict[str, tuple[str, ...]]:
    provided: dict[str, tuple[str, ...]] = {}
    for kind, hook_name in _NAME_HOOKS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin:
                names = impl.function()
                provided[kind] = tuple(str(n) for n in names or ())
    return provided


def list_plugins(pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """Registered plugins (built-ins first) plus entry points that failed to load (with ``error``)."""
    manager = pm or get_plugin_manager()
    records: dict[str, PluginInfo] = getattr(manager, "dw_records", {})
    failures: list[PluginInfo] = getattr(manager, "dw_failures", [])
    result: list[PluginInfo] = []
    for name, plugin in manager.list_name_plugin():
        record = records.get(name) or PluginInfo(
            name=name, module=_module_name(plugin), distribution=None, version=None, builtin=False
        )
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ()))
        result.append(
            PluginInfo(
                name=record.name,
                module=record.module,
                distribution=record.distribution,
                version=record.version,
                builtin=record.builtin,
                hooks=hooks,
                provides=_provides(manager, plugin),
            )
        )
    result.sort(key=lambda info: (not info.builtin, info.name))
    return result + list(failures)
