"""The Durable Workflow plugin system (pluggy, project and entry-point group ``durable_workflow``).

Write a plugin::

    from dw_core.plugins import hookimpl

    @hookimpl
    def dw_external_storage_driver_names():
        return ["memory"]

    @hookimpl
    def dw_external_storage_driver(name, options):
        return MyMemoryStorage() if name == "memory" else None

and declare it in ``pyproject.toml`` under ``[project.entry-points.durable_workflow]``. Set
``DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD=1`` to load only the built-in plugins.
"""

from dw_core.plugins.contracts import PayloadCodec
from dw_core.plugins.hookspecs import PROJECT_NAME, hookimpl, hookspec
from dw_core.plugins.lookup import (
    INSTALL_HINTS,
    PluginNotFoundError,
    external_storage_driver,
    metrics_recorder,
    payload_codec,
    worker_interceptors,
)
from dw_core.plugins.manager import (
    BUILTIN_PLUGINS,
    DISABLE_AUTOLOAD_ENV,
    ENTRY_POINT_GROUP,
    PluginInfo,
    PluginLoadWarning,
    autoload_disabled,
    create_plugin_manager,
    get_plugin_manager,
    list_plugins,
    reset_plugin_manager,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "INSTALL_HINTS",
    "PROJECT_NAME",
    "PayloadCodec",
    "PluginInfo",
    "PluginLoadWarning",
    "PluginNotFoundError",
    "autoload_disabled",
    "create_plugin_manager",
    "external_storage_driver",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "list_plugins",
    "metrics_recorder",
    "payload_codec",
    "reset_plugin_manager",
    "worker_interceptors",
]
