"""Payloads recorded from the real system (shared fixtures, used as they are) decode as it did."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from dw_core import serializer
from dw_core.payload_errors import InvalidBase64PayloadError, UnsupportedPayloadCodecError

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures"


def load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def envelopes(node: Any) -> list[dict[str, Any]]:
    """Every ``{codec, blob}`` envelope anywhere in a fixture document."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "codec" in node and "blob" in node:
            found.append(node)
        for child in node.values():
            found.extend(envelopes(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(envelopes(child))
    return found


def test_query_result_envelope_matches_the_plain_result_beside_it() -> None:
    body = load("control-plane/query-task-complete-parity.json")["request"]["body"]
    assert serializer.decode_envelope(body["result_envelope"]) == body["result"]


def test_query_task_input_envelope() -> None:
    task = load("control-plane/query-task-poll-parity.json")["response_body"]["task"]
    assert serializer.decode_envelope(task["input"], "avro") == {"include_line_items": True}


def test_every_fixture_envelope_decodes_or_is_refused_with_a_typed_error() -> None:
    seen = {"decoded": 0, "unsupported": 0, "placeholder": 0}
    for path in sorted(FIXTURES.rglob("*.json")):
        for env in envelopes(json.loads(path.read_text(encoding="utf-8"))):
            try:
                serializer.decode_envelope(env)
            except UnsupportedPayloadCodecError:
                # External-task failures carry details in a carrier codec the SDK does not speak.
                assert env["codec"] == "json/plain", path
                seen["unsupported"] += 1
            except InvalidBase64PayloadError:
                # Documentation fixtures hold placeholders such as "BASE64_AVRO_RESULT".
                assert env["blob"].startswith("BASE64_"), path
                seen["placeholder"] += 1
            else:
                seen["decoded"] += 1
    assert seen["decoded"] >= 2 and seen["unsupported"] >= 3 and seen["placeholder"] >= 3, seen


def golden_history_payloads() -> list[tuple[str, dict[str, Any], str]]:
    found: list[tuple[str, dict[str, Any], str]] = []
    for case in load("golden_history/python-sdk-0.3.1.json")["cases"]:
        for event in case["history"]:
            payload = event.get("payload", {})
            found.extend(
                (case["name"], payload, key) for key in ("result", "output", "arguments") if key in payload
            )
    return found


@pytest.mark.parametrize(("case", "payload", "key"), golden_history_payloads())
def test_golden_history_payloads_decode_with_the_json_fallback(
    case: str, payload: dict[str, Any], key: str
) -> None:
    # JSON-era history: bare blobs with no payload_codec decode as JSON, and re-encode identically.
    value = serializer.decode_envelope(payload[key], payload.get("payload_codec"))
    assert serializer.encode(value, "json") == payload[key]


def test_golden_activity_result_is_what_the_workflow_returned() -> None:
    case = next(
        c
        for c in load("golden_history/python-sdk-0.3.1.json")["cases"]
        if c["name"] == "single_activity_completion"
    )
    (event,) = case["history"]
    assert serializer.decode(event["payload"]["result"]) == case["expected"]["result"]
