"""The plugin manager in-process: built-ins, by-name lookups, ordering, forward compatibility."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pluggy
import pytest
from dw_core import plugins
from dw_core.external_storage import ExternalPayloadStoragePolicy
from dw_core.metrics import NOOP_METRICS, InMemoryMetrics
from dw_core.plugins import (
    BUILTIN_PLUGINS,
    PluginLoadWarning,
    PluginNotFoundError,
    create_plugin_manager,
    get_plugin_manager,
    hookimpl,
    list_plugins,
    metrics_recorder,
    payload_codec,
    worker_interceptors,
)


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entry_points=False)


def test_builtins_register_through_the_same_hooks(pm: pluggy.PluginManager) -> None:
    infos = {info.name: info for info in list_plugins(pm)}
    assert set(infos) == set(BUILTIN_PLUGINS)
    assert all(info.builtin and info.distribution == "dw-core" for info in infos.values())
    assert infos["dw-core.storage"].provides == {"storage": ("local",)}
    assert infos["dw-core.metrics"].provides == {"metrics": ("noop", "memory")}
    assert infos["dw-core.codecs"].provides == {"codecs": ("avro", "json")}
    assert "dw_external_storage_driver" in infos["dw-core.storage"].hooks


def test_metrics_recorders_by_name(pm: pluggy.PluginManager) -> None:
    assert metrics_recorder("noop", plugin_manager=pm) is NOOP_METRICS
    first = metrics_recorder("memory", plugin_manager=pm)
    assert isinstance(first, InMemoryMetrics)
    assert metrics_recorder("memory", plugin_manager=pm) is not first  # a fresh recorder each time
    with pytest.raises(PluginNotFoundError, match=r"pip install 'durable-workflow\[prometheus\]'") as info:
        metrics_recorder("prometheus", plugin_manager=pm)
    assert info.value.available == ["memory", "noop"]


def test_codecs_by_name_round_trip_through_the_serializer(pm: pluggy.PluginManager) -> None:
    avro = payload_codec("avro", plugin_manager=pm)
    assert avro.name == "avro"
    blob = avro.encode({"order": 7, "items": ["a", "b"]})
    assert avro.decode(blob) == {"order": 7, "items": ["a", "b"]}
    json_codec = payload_codec("json", plugin_manager=pm)
    assert json_codec.encode({"a": 1}) == '{"a":1}'
    with pytest.raises(PluginNotFoundError, match="payload codec 'pickle'"):
        payload_codec("pickle", plugin_manager=pm)


class _Interceptors:
    def __init__(self, label: str) -> None:
        self.label = label

    @hookimpl
    def dw_worker_interceptors(self, task_queue: str, worker_id: str | None) -> list[str]:
        return [f"{self.label}:{task_queue}:{worker_id}"]


def test_worker_interceptors_in_registration_order(pm: pluggy.PluginManager) -> None:
    assert worker_interceptors(task_queue="q", plugin_manager=pm) == []
    pm.register(_Interceptors("first"), name="first")
    pm.register(_Interceptors("second"), name="second")
    assert worker_interceptors(task_queue="orders", worker_id="w1", plugin_manager=pm) == [
        "first:orders:w1",
        "second:orders:w1",
    ]


def test_a_plugin_can_override_a_builtin_by_registering_later(pm: pluggy.PluginManager) -> None:
    class Recorder:
        @hookimpl
        def dw_metrics_recorder(self, name: str) -> Any:
            return "custom-memory" if name == "memory" else None

    pm.register(Recorder(), name="custom")
    assert metrics_recorder("memory", plugin_manager=pm) == "custom-memory"
    assert metrics_recorder("noop", plugin_manager=pm) is NOOP_METRICS  # falls through to built-in


def test_hooks_are_called_with_keywords_so_implementations_may_take_fewer(
    pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    class Minimal:
        @hookimpl
        def dw_external_storage_driver(self, name: str) -> Any:
            seen.append({"name": name})
            return None

    pm.register(Minimal(), name="minimal")
    driver = plugins.external_storage_driver(
        "local",
        policy=ExternalPayloadStoragePolicy(enabled=True, driver="local", reference=str(tmp_path)),
        options={"local_root": None, "future_option": 1},
        plugin_manager=pm,
    )
    assert seen == [{"name": "local"}]
    assert type(driver).__name__ == "LocalFilesystemExternalStorage"


@pytest.fixture
def fake_module() -> Iterator[str]:
    module = types.ModuleType("dw_test_bad_signature_plugin")

    @hookimpl
    def dw_metrics_recorder(name: str, no_such_parameter: int) -> None:
        return None

    module.dw_metrics_recorder = dw_metrics_recorder  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module.__name__
    del sys.modules[module.__name__]


def test_plugin_with_invalid_hook_signature_is_reported_not_fatal(
    monkeypatch: pytest.MonkeyPatch, fake_module: str
) -> None:
    # Entry-point discovery itself is covered with a real installed distribution in
    # test_plugins_entry_points.py; here only the listing is replaced to reach the validation path.
    ep = EntryPoint(name="badsig", value=fake_module, group="durable_workflow")
    monkeypatch.setattr("dw_core.plugins.manager.entry_points", lambda group: [ep])
    with pytest.warns(PluginLoadWarning, match="badsig"):
        manager = create_plugin_manager(load_entry_points=True)
    infos = list_plugins(manager)
    failed = [info for info in infos if info.error]
    assert [info.name for info in failed] == ["badsig"]
    assert "no_such_parameter" in (failed[0].error or "")
    assert metrics_recorder("noop", plugin_manager=manager) is NOOP_METRICS


@pytest.mark.parametrize(("value", "disabled"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_autoload_env_var(monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool) -> None:
    monkeypatch.setenv("DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD", value)
    assert plugins.autoload_disabled() is disabled


def test_process_wide_manager_is_shared_and_resettable() -> None:
    first = get_plugin_manager()
    assert get_plugin_manager() is first
    plugins.reset_plugin_manager()
    try:
        assert get_plugin_manager() is not first
    finally:
        plugins.reset_plugin_manager()
