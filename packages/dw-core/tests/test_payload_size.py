"""Payload-size warnings: one structured WARNING on durable_workflow.serializer at the threshold."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dw_core import serializer
from dw_core.payload_size import (
    DEFAULT_PAYLOAD_SIZE_WARNING,
    PayloadSizeWarningConfig,
    PayloadSizeWarningContext,
)

LOGGER = "durable_workflow.serializer"


def payload_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        r.durable_workflow_payload  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING
    ]


def test_defaults() -> None:
    assert serializer.DEFAULT_PAYLOAD_SIZE_BYTES == 2_097_152
    assert serializer.DEFAULT_WARNING_THRESHOLD_PERCENT == 80
    assert DEFAULT_PAYLOAD_SIZE_WARNING.threshold_bytes == 1_677_721
    assert PayloadSizeWarningConfig() == serializer.DEFAULT_PAYLOAD_SIZE_WARNING
    assert (
        repr(PayloadSizeWarningConfig())
        == "PayloadSizeWarningConfig(limit_bytes=2097152, threshold_percent=80)"
    )
    assert PayloadSizeWarningConfig(limit_bytes=1, threshold_percent=1).threshold_bytes == 1  # floor, min 1
    assert PayloadSizeWarningConfig(limit_bytes=1000, threshold_percent=100).threshold_bytes == 1000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit_bytes": 0},
        {"limit_bytes": -5},
        {"threshold_percent": 0},
        {"threshold_percent": 101},
        {"threshold_percent": True},
        {"limit_bytes": 1.5},
        {"limit_bytes": "100"},
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"limit_bytes|threshold_percent"):
        PayloadSizeWarningConfig(**kwargs)


def test_default_config_warns_on_a_near_limit_payload(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    serializer.encode("x" * 1_300_000)  # base64 of ~1.3 MB -> ~1.73 MB, above 1 677 721
    (record,) = payload_records(caplog)
    assert record["kind"] == "payload"
    assert record["payload_size"] >= 1_677_721
    serializer.encode("x" * 1_000_000)  # ~1.33 MB: below
    assert len(payload_records(caplog)) == 1


def test_threshold_is_inclusive_and_measured_in_utf8_bytes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    blob = serializer.encode("üü", "json")  # 4 chars, 6 UTF-8 bytes
    assert len(blob.encode("utf-8")) == 6
    serializer.encode(
        "üü", "json", size_warning=PayloadSizeWarningConfig(limit_bytes=7, threshold_percent=100)
    )
    assert payload_records(caplog) == []
    serializer.encode(
        "üü", "json", size_warning=PayloadSizeWarningConfig(limit_bytes=6, threshold_percent=100)
    )
    (record,) = payload_records(caplog)
    assert record == {
        "kind": "payload",
        "codec": "json",
        "payload_size": 6,
        "threshold_bytes": 6,
        "limit_bytes": 6,
    }


def test_context_fields_and_none_keys_dropped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    context = PayloadSizeWarningContext(
        kind="activity_input", workflow_id="wf-1", activity_name="charge", task_queue="q", namespace="default"
    )
    assert context.to_log_context() == {
        "kind": "activity_input",
        "workflow_id": "wf-1",
        "activity_name": "charge",
        "task_queue": "q",
        "namespace": "default",
    }
    small = PayloadSizeWarningConfig(limit_bytes=10)
    blob = serializer.encode({"amount": 12345}, size_warning=small, warning_context=context)
    (record,) = payload_records(caplog)
    assert record == {
        "kind": "activity_input",
        "workflow_id": "wf-1",
        "activity_name": "charge",
        "task_queue": "q",
        "namespace": "default",
        "codec": "avro",
        "payload_size": len(blob),
        "threshold_bytes": 8,
        "limit_bytes": 10,
    }
    message = caplog.records[-1].getMessage()
    assert "activity_input" in message and "external payload storage" in message


def test_mapping_context(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    small = PayloadSizeWarningConfig(limit_bytes=1)
    serializer.encode(
        1, size_warning=small, warning_context={"kind": "signal", "signal_name": "go", "run_id": None}
    )
    serializer.encode(1, size_warning=small, warning_context={"workflow_id": "w"})
    first, second = payload_records(caplog)
    assert first["kind"] == "signal" and first["signal_name"] == "go" and "run_id" not in first
    assert second["kind"] == "payload" and second["workflow_id"] == "w"


def test_disabled_and_below_threshold_are_silent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    serializer.encode("x" * 100, size_warning=None)
    serializer.encode("x" * 100, size_warning=PayloadSizeWarningConfig(limit_bytes=10_000))
    serializer.warn_if_payload_near_limit("x" * 100, codec="avro", size_warning=None)
    assert payload_records(caplog) == []


def test_batch_helpers_use_one_context_per_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    small = PayloadSizeWarningConfig(limit_bytes=20)
    contexts = [PayloadSizeWarningContext(kind="a"), None, {"kind": "c"}]
    serializer.envelope_many(["x", "y" * 50, "z" * 50], size_warning=small, warning_context=contexts)
    assert [r["kind"] for r in payload_records(caplog)] == ["payload", "c"]
    caplog.clear()
    serializer.encode_many(["y" * 50, "z" * 50], size_warning=small, warning_context={"kind": "shared"})
    assert [r["kind"] for r in payload_records(caplog)] == ["shared", "shared"]
    with pytest.raises(ValueError, match="count must match"):
        serializer.envelope_many(["x"], warning_context=contexts)
    with pytest.raises(TypeError, match="warning_context"):
        serializer.encode("x", warning_context=42)  # type: ignore[arg-type]


def test_json_value_check_for_search_attributes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    attributes = {"customer": "ü" * 10}
    serializer.warn_if_json_payload_near_limit(
        attributes,
        size_warning=PayloadSizeWarningConfig(limit_bytes=20),
        warning_context=PayloadSizeWarningContext(kind="search_attributes", workflow_id="w"),
    )
    (record,) = payload_records(caplog)
    assert record["kind"] == "search_attributes" and record["codec"] == "json"
    assert record["payload_size"] == len('{"customer":""}') + 20


def test_warnings_never_block_encoding(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    blob = serializer.encode([1, 2, 3], size_warning=PayloadSizeWarningConfig(limit_bytes=1))
    assert serializer.decode(blob, "avro") == [1, 2, 3]
