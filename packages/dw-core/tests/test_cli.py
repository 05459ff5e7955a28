from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from dw_core.cli import main


def test_console_script_is_declared() -> None:
    scripts = [ep for ep in entry_points(group="console_scripts") if ep.name == "durable-workflow"]
    assert [ep.value for ep in scripts] == ["dw_core.cli:main"]


def test_plugins_text_lists_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr("dw_core.plugins.manager._manager", None)
    out = io.StringIO()
    assert main(["plugins"], out=out) == 0
    text = out.getvalue()
    assert "autoloading is disabled" in text
    assert "dw-core.storage  [built-in]  dw-core" in text
    assert "storage: local" in text and "metrics: noop, memory" in text and "codecs: avro, json" in text


def test_plugins_json_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr("dw_core.plugins.manager._manager", None)
    out = io.StringIO()
    assert main(["plugins", "--json"], out=out) == 0
    document = json.loads(out.getvalue())
    assert document["autoload"] is False
    names = [p["name"] for p in document["plugins"]]
    assert names == ["dw-core.codecs", "dw-core.metrics", "dw-core.storage"]
    storage = document["plugins"][2]
    assert storage["distribution"] == "dw-core" and storage["version"]
    assert storage["provides"] == {"storage": ["local"]}


def test_missing_subcommand_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "dw_core.cli"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "plugins" in result.stderr
