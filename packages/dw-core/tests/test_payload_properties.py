"""Property tests: JSON data round-trips through every codec path; garbage only ever raises our errors."""

from __future__ import annotations

import base64
import contextlib
import math
from typing import Any

from dw_core import serializer
from dw_core.payload_errors import PayloadCodecError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(), children, max_size=6),
    max_leaves=25,
)


def same(a: Any, b: Any) -> bool:
    """Equality that also tells int from float and bool from int (JSON keeps them apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@SETTINGS
@given(JSON_VALUES)
def test_round_trip_every_codec_and_envelope(value: Any) -> None:
    for codec in serializer.SUPPORTED_CODECS:
        blob = serializer.encode(value, codec)
        assert same(serializer.decode(blob, codec), value)
        env = serializer.envelope(value, codec)
        assert env == {"codec": codec, "blob": blob}
        # The envelope's codec wins over a wrong contextual codec.
        other = "json" if codec == "avro" else "avro"
        assert same(serializer.decode_envelope(env, other), value)
        assert same(serializer.decode_envelope(blob, codec), value)


@SETTINGS
@given(st.lists(JSON_VALUES, max_size=5))
def test_batch_helpers_round_trip(values: list[Any]) -> None:
    for codec in serializer.SUPPORTED_CODECS:
        blobs = serializer.encode_many(values, codec)
        assert blobs == [serializer.encode(v, codec) for v in values]
        assert same(serializer.decode_many(blobs, codec), values)
        envelopes = serializer.envelope_many(values, codec)
        assert [e["blob"] for e in envelopes] == blobs
        assert same(serializer.decode_envelopes(envelopes), values)


@SETTINGS
@given(st.text())
def test_arbitrary_text_never_escapes_the_typed_errors(text: str) -> None:
    for codec in ("avro", "json", None):
        with contextlib.suppress(PayloadCodecError):
            serializer.decode(text, codec)


@SETTINGS
@given(st.binary())
def test_arbitrary_bytes_never_escape_the_typed_errors(raw: bytes) -> None:
    for data in (raw, b"\x00" + raw, b"\x01" + raw):
        with contextlib.suppress(PayloadCodecError):
            serializer.decode(base64.b64encode(data).decode("ascii"), "avro")


@SETTINGS
@given(st.binary(max_size=40), st.integers(min_value=0, max_value=200), st.binary(max_size=6))
def test_records_with_any_declared_length_never_escape_the_typed_errors(
    body: bytes, declared: int, tail: bytes
) -> None:
    zigzag = declared << 1
    varint = bytearray()
    while zigzag > 0x7F:
        varint.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    varint.append(zigzag)
    blob = base64.b64encode(b"\x00" + bytes(varint) + body + tail).decode("ascii")
    with contextlib.suppress(PayloadCodecError):
        serializer.decode(blob, "avro")


ENVELOPE_LIKE = st.dictionaries(
    st.sampled_from(["codec", "blob", "external_storage", "other"]),
    st.one_of(JSON_VALUES, st.sampled_from(["avro", "json", "xml", "AAQ0MgI="])),
    max_size=4,
)


@SETTINGS
@given(st.one_of(ENVELOPE_LIKE, JSON_VALUES), st.sampled_from([None, "avro", "json", "xml"]))
def test_arbitrary_envelopes_never_escape_the_typed_errors(value: Any, codec: str | None) -> None:
    with contextlib.suppress(PayloadCodecError):
        serializer.decode_envelope(value, codec)
