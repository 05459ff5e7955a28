"""The codec is byte-identical with the published SDK on every test vector of codec.md §6."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from dw_core import _avro, serializer

# (value, avro blob) produced by durable-workflow==0.4.84 (codec.md §6).
VECTORS: list[tuple[Any, str]] = [
    (None, "AAhudWxsAg=="),
    (True, "AAh0cnVlAg=="),
    (42, "AAQ0MgI="),
    (1.5, "AAYxLjUC"),
    ("hello, Ada", "ABgiaGVsbG8sIEFkYSIC"),
    (["Ada"], "AA5bIkFkYSJdAg=="),
    ([], "AARbXQI="),
    ({"greeting": "Hello, world!", "length": 5}, "AE57ImdyZWV0aW5nIjoiSGVsbG8sIHdvcmxkISIsImxlbmd0aCI6NX0C"),
    (
        ["ünï/cødé", 1.0, -7, {"k": [None, False]}],
        "AFRbIsO8bsOvL2PDuGTDqSIsMS4wLC03LHsiayI6W251bGwsZmFsc2VdfV0C",
    ),
    (
        "x" * 70,
        "AJABInh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg"
        "iAg==",
    ),
    (["world"], "ABJbIndvcmxkIl0C"),
    (7, "AAI3Ag=="),
]

FULL_VECTOR_10 = (
    "AJABInh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHgiAg=="
)


def test_vector_10_text_is_the_published_one() -> None:
    assert VECTORS[9][1] == FULL_VECTOR_10


@pytest.mark.parametrize(("value", "blob"), VECTORS, ids=[f"v{i + 1}" for i in range(len(VECTORS))])
def test_avro_encode_matches_vector(value: Any, blob: str) -> None:
    assert serializer.encode(value) == blob
    assert serializer.encode(value, codec="avro") == blob


@pytest.mark.parametrize(("value", "blob"), VECTORS, ids=[f"v{i + 1}" for i in range(len(VECTORS))])
def test_avro_decode_matches_vector(value: Any, blob: str) -> None:
    decoded = serializer.decode(blob, "avro")
    assert decoded == value
    assert type(decoded) is type(value)


def test_vector_bytes_layout() -> None:
    raw = base64.b64decode(serializer.encode({"greeting": "Hello, world!", "length": 5}))
    assert raw[0] == 0x00 and raw[1] == 0x4E and raw[-1] == 0x02 and len(raw) == 1 + 1 + 39 + 1
    raw = base64.b64decode(serializer.encode("x" * 70))
    assert raw[:4] == b"\x00\x90\x01\x22" and raw[-2:] == b"\x22\x02"


def test_envelope_example() -> None:
    assert serializer.envelope(["Ada"]) == {"codec": "avro", "blob": "AA5bIkFkYSJdAg=="}
    assert serializer.envelope(["Ada"], "json") == {"codec": "json", "blob": '["Ada"]'}
    assert serializer.decode_envelope({"codec": "avro", "blob": "AA5bIkFkYSJdAg=="}) == ["Ada"]


def test_json_codec_text_rules() -> None:
    value = ["ünï/cødé", 1.0, -7, {"k": [None, False]}]
    assert serializer.encode(value, "json") == '["ünï/cødé",1.0,-7,{"k":[null,false]}]'
    assert serializer.encode({"b": 1, "a": 2}, "json") == '{"b":1,"a":2}'
    assert serializer.decode('["Ada"]') == ["Ada"]
    assert serializer.decode('["Ada"]', "json") == ["Ada"]


@pytest.mark.parametrize(("value", "blob"), VECTORS, ids=[f"v{i + 1}" for i in range(len(VECTORS))])
def test_avro_library_writes_the_same_vector(value: Any, blob: str) -> None:
    json_text = serializer.encode(value, "json")
    library = _avro.generic_wrapper_schema().write_record(json_text)
    assert base64.b64encode(library).decode("ascii") == blob
    assert _avro.encode_avro_bytes(json_text) == library


def test_facade_reexports_the_same_objects() -> None:
    import durable_workflow._avro as facade_avro
    import durable_workflow.serializer as facade

    for name in serializer.__all__:
        assert getattr(facade, name) is getattr(serializer, name), name
    assert facade.encode(["Ada"]) == "AA5bIkFkYSJdAg=="
    assert facade_avro.encode(["Ada"]) == "AA5bIkFkYSJdAg=="
    assert facade_avro.decode_many(["AA5bIkFkYSJdAg=="]) == [["Ada"]]
    assert facade_avro.WRAPPER_SCHEMA_JSON == _avro.PAYLOAD_SCHEMA_JSON
