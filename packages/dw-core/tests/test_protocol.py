"""The protocol constants agree with what the recorded fixtures show the real system doing."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

from dw_core import protocol

# Set by the repository's root conftest to the shared/ folder beside the checkout.
FIXTURES = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"


def _fixture_root() -> pathlib.Path:
    return FIXTURES


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_golden_history_event_types_are_known() -> None:
    seen: set[str] = set()
    for path in (_fixture_root() / "golden_history").glob("*.json"):
        for node in _walk(json.loads(path.read_text())):
            if isinstance(node, dict) and isinstance(node.get("event_type"), str):
                seen.add(node["event_type"])
    assert seen, "golden histories carry events"
    assert seen <= protocol.RUN_HISTORY_EVENT_TYPES


def test_golden_history_source_versions_match_constants() -> None:
    for path in (_fixture_root() / "golden_history").glob("*.json"):
        source = json.loads(path.read_text())["source"]
        assert source["control_plane_version"] == protocol.CONTROL_PLANE_VERSION
        major, _minor = source["worker_protocol_version"].split(".")
        assert int(major) == protocol.WORKER_PROTOCOL_MAJOR


def test_command_types_in_recorded_completions_are_sdk_command_types() -> None:
    root = _fixture_root() / "control-plane"
    fixture = json.loads((root / "workflow-task-complete-parity.json").read_text())
    types = {command["type"] for command in fixture["request"]["body"]["commands"]}
    assert types <= protocol.SDK_COMMAND_TYPES


def test_command_sets_partition_the_sdk_commands() -> None:
    assert protocol.TERMINAL_COMMAND_TYPES.isdisjoint(protocol.NON_TERMINAL_COMMAND_TYPES)
    assert len(protocol.SDK_COMMAND_TYPES) == 12
    assert protocol.COMMAND_OPEN_SIGNAL_WAIT not in protocol.SDK_COMMAND_TYPES


def test_event_catalogue_size_matches_engine_enum() -> None:
    # 56 engine values at 0.4.84 time = 49 run-history types + 7 schedule audit types.
    assert len(protocol.RUN_HISTORY_EVENT_TYPES) == 49
    assert len(protocol.SCHEDULE_EVENT_TYPES) == 7
    assert protocol.RUN_HISTORY_EVENT_TYPES.isdisjoint(protocol.SCHEDULE_EVENT_TYPES)
    assert all(name[0].isupper() and "_" not in name for name in protocol.RUN_HISTORY_EVENT_TYPES)


def test_terminal_run_statuses() -> None:
    assert {"completed", "failed", "cancelled", "terminated"} == protocol.TERMINAL_RUN_STATUSES
    assert protocol.TERMINAL_RUN_STATUSES < protocol.RUN_STATUSES


def test_headers_and_versions() -> None:
    assert protocol.CONTROL_PLANE_VERSION_HEADER == "X-Durable-Workflow-Control-Plane-Version"
    assert protocol.WORKER_PROTOCOL_VERSION_HEADER == "X-Durable-Workflow-Protocol-Version"
    assert protocol.NAMESPACE_HEADER == "X-Namespace"
    assert protocol.WORKER_PROTOCOL_VERSION == "1.1"
    assert protocol.DEFAULT_NAMESPACE == "default"
