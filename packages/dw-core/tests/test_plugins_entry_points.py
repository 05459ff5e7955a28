"""Third-party plugins are discovered through their ``durable_workflow`` entry point alone.

A throwaway plugin project (pyproject with ``[project.entry-points.durable_workflow]``) is packed
into a wheel and installed by pip into a private target directory; every check then runs in a
subprocess with that directory on ``PYTHONPATH``, so the shared test environment is never changed.
(The wheel is assembled here because no build backend is installed offline; pip does the install.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PLUGIN_MODULE = textwrap.dedent(
    '''
    """A storage driver kept in memory, offered as the driver "memory-test"."""
    from dw_core.plugins import hookimpl

    class MemoryTestStorage:
        def __init__(self):
            self.objects = {}

        def put(self, data, *, sha256, codec):
            uri = f"memory-test://{codec}/{sha256}"
            self.objects[uri] = bytes(data)
            return uri

        def get(self, uri):
            return self.objects[uri]

        def delete(self, uri):
            self.objects.pop(uri, None)

    @hookimpl
    def dw_external_storage_driver_names():
        return ["memory-test"]

    # Declares only the parameter it needs: hooks may grow parameters without breaking plugins.
    @hookimpl
    def dw_external_storage_driver(name):
        return MemoryTestStorage() if name == "memory-test" else None

    @hookimpl
    def dw_worker_interceptors(task_queue):
        return [f"interceptor-for-{task_queue}"]
    '''
)

BROKEN_MODULE = "raise RuntimeError('this plugin is broken on purpose')\n"


def _write_project(root: Path, dist: str, version: str, entry: str, module: str, source: str) -> Path:
    project = root / dist
    project.mkdir()
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "{dist}"
            version = "{version}"

            [project.entry-points.durable_workflow]
            {entry} = "{module}"
            """
        )
    )
    (project / f"{module}.py").write_text(source)
    return project


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _build_wheel(project: Path, out_dir: Path) -> Path:
    """Pack a single-module project into a py3 wheel (what a build backend would produce)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    name, version = meta["name"], meta["version"]
    norm = name.replace("-", "_")
    dist_info = f"{norm}-{version}.dist-info"
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
        for group, eps in meta["entry-points"].items()
    )
    files: dict[str, bytes] = {p.name: p.read_bytes() for p in project.glob("*.py")}
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: dw-core-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out_dir / f"{norm}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file_name, data in files.items():
            archive.writestr(file_name, data)
    return wheel


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("plugin-build")
    site = tmp_path_factory.mktemp("plugin-site")
    good = _write_project(
        work, "dw-memory-test-plugin", "0.3.1", "myplugin", "dw_memory_test_plugin", PLUGIN_MODULE
    )
    bad = _write_project(
        work, "dw-broken-test-plugin", "9.9.9", "brokenplugin", "dw_broken_test_plugin", BROKEN_MODULE
    )
    for project in (good, bad):
        wheel = _build_wheel(project, work)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
             "--disable-pip-version-check", "--target", str(site), str(wheel)],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return site


def _run(site: Path, args: list[str], *, disable: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if disable:
        env["DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


RESOLVE_SCRIPT = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    from dw_core.external_storage import (
        external_storage_driver_from_policy, fetch_external_payload, store_external_payload,
    )
    from dw_core.plugins import PluginNotFoundError, worker_interceptors
    try:
        driver = external_storage_driver_from_policy({"driver": "memory-test", "enabled": True})
    except PluginNotFoundError as exc:
        print(json.dumps({"error": str(exc)}))
    else:
        ref = store_external_payload(driver, b"payload via plugin", codec="avro")
        print(json.dumps({
            "driver": type(driver).__module__ + "." + type(driver).__name__,
            "uri": ref.uri,
            "data": fetch_external_payload(driver, ref).decode(),
            "interceptors": worker_interceptors(task_queue="orders"),
        }))
    """
)


def _plugins_json(site: Path, *, disable: bool = False) -> tuple[int, dict[str, Any]]:
    result = _run(site, ["-m", "dw_core.cli", "plugins", "--json"], disable=disable)
    return result.returncode, json.loads(result.stdout)


def test_driver_resolves_by_name_through_the_entry_point(plugin_site: Path) -> None:
    result = _run(plugin_site, ["-c", RESOLVE_SCRIPT])
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["driver"] == "dw_memory_test_plugin.MemoryTestStorage"
    assert outcome["uri"].startswith("memory-test://avro/")
    assert outcome["data"] == "payload via plugin"
    assert outcome["interceptors"] == ["interceptor-for-orders"]


def test_broken_plugin_is_reported_without_breaking_the_sdk(plugin_site: Path) -> None:
    result = _run(plugin_site, ["-c", RESOLVE_SCRIPT.replace('warnings.simplefilter("ignore")', "")])
    assert result.returncode == 0
    assert "memory-test://" in result.stdout
    assert "PluginLoadWarning" in result.stderr and "broken on purpose" in result.stderr


def test_plugins_command_lists_distribution_and_version(plugin_site: Path) -> None:
    code, document = _plugins_json(plugin_site)
    assert code == 1  # a plugin failed to load
    assert document["autoload"] is True
    by_name = {p["name"]: p for p in document["plugins"]}
    good = by_name["myplugin"]
    assert good["distribution"] == "dw-memory-test-plugin" and good["version"] == "0.3.1"
    assert good["builtin"] is False and good["module"] == "dw_memory_test_plugin"
    assert good["provides"] == {"storage": ["memory-test"]}
    assert "dw_external_storage_driver" in good["hooks"]
    broken = [p for p in document["plugins"] if p["error"]]
    assert [(p["name"], p["distribution"], p["version"]) for p in broken] == [
        ("brokenplugin", "dw-broken-test-plugin", "9.9.9")
    ]
    assert "broken on purpose" in broken[0]["error"]
    assert {"dw-core.storage", "dw-core.metrics", "dw-core.codecs"} <= set(by_name)

    text = _run(plugin_site, ["-m", "dw_core.cli", "plugins"])
    assert "dw-memory-test-plugin 0.3.1" in text.stdout
    assert "storage: memory-test" in text.stdout
    assert "FAILED TO LOAD" in text.stdout


def test_disable_env_var_turns_autoloading_off(plugin_site: Path) -> None:
    result = _run(plugin_site, ["-c", RESOLVE_SCRIPT], disable=True)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert "memory-test" in outcome["error"] and "available: local" in outcome["error"]
    assert "PluginLoadWarning" not in result.stderr  # the broken plugin is not even imported

    code, document = _plugins_json(plugin_site, disable=True)
    assert code == 0 and document["autoload"] is False
    assert all(p["builtin"] for p in document["plugins"])
