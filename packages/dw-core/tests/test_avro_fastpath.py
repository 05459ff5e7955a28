"""The hand-written generic-wrapper layout is byte-identical with the avro library's own output."""

from __future__ import annotations

import base64
import binascii
import sys

import pytest
from dw_core import _avro, serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lengths around each varint width boundary (1, 2 and 3 bytes).
BOUNDARY_LENGTHS = [0, 1, 63, 64, 65, 127, 128, 8191, 8192, 8193, 70_000]


def test_schema_is_parsed_by_the_avro_library() -> None:
    schema = _avro.generic_wrapper_schema().schema
    assert schema.fullname == "durable_workflow.Payload"
    assert [(f.name, f.type.type) for f in schema.fields] == [("json", "string"), ("version", "int")]
    assert schema.fields[1].get_prop("default") == 1
    _avro.ensure_avro_ready()  # the one-time self-check passes


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
def test_varint_boundaries_match_the_library(length: int) -> None:
    text = "y" * length
    library = _avro.generic_wrapper_schema().write_record(text)
    assert _avro.encode_avro_bytes(text) == library
    assert _avro.decode_avro_bytes(library) == text


@SETTINGS
@given(st.text())
def test_fast_path_equals_datum_writer(text: str) -> None:
    schema = _avro.generic_wrapper_schema()
    ours = _avro.encode_avro_bytes(text)
    assert ours == schema.write_record(text)
    assert schema.read_record(ours) == {"json": text, "version": 1}


@SETTINGS
@given(st.text(), st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_fast_reader_reads_any_library_record(text: str, version: int) -> None:
    written = _avro.generic_wrapper_schema().write_record(text, version)
    assert _avro.decode_avro_bytes(written) == text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)


@SETTINGS
@given(JSON_VALUES)
def test_encoded_blob_is_the_library_record_in_base64(value: object) -> None:
    blob = serializer.encode(value)
    raw = base64.b64decode(blob, validate=True)
    record = _avro.generic_wrapper_schema().read_record(raw)
    assert record["version"] == 1
    assert serializer.decode(record["json"], "json") == value
    assert base64.b64encode(_avro.generic_wrapper_schema().write_record(record["json"])).decode() == blob


B64_CHARS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n", max_size=16
)


def _outcome(fn: object, text: str) -> bytes | None:
    try:
        return fn(text)  # type: ignore[operator, no-any-return]
    except (binascii.Error, ValueError):
        return None


@pytest.mark.skipif(sys.version_info < (3, 11), reason="compares with a2b_base64(strict_mode=True), 3.11+")
@SETTINGS
@given(st.one_of(B64_CHARS, st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())))
def test_python310_base64_check_agrees_with_strict_mode(text: str) -> None:
    native = _outcome(_avro._strict_b64decode_native, text)
    assert _outcome(_avro.strict_b64decode_portable, text) == native
    if native is not None:
        assert native == binascii.a2b_base64(text, strict_mode=True)  # type: ignore[call-arg, unused-ignore]


@pytest.mark.parametrize("text", ["0000=", "0000==", "0000===", "AA=", "AA==A==="])
def test_surplus_or_short_padding_is_refused_on_every_python(text: str) -> None:
    # CPython's strict_mode alone lets "0000=" through; the wire format does not.
    assert _outcome(_avro._strict_b64decode, text) is None
    assert _outcome(_avro.strict_b64decode_portable, text) is None
