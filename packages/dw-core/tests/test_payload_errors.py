"""Bad input gets a typed codec error that says what happened and what to do."""

from __future__ import annotations

import base64
import math
import sys
from datetime import datetime
from typing import Any

import pytest
from dw_core import _avro, serializer
from dw_core.errors import AvroNotInstalledError
from dw_core.payload_errors import (
    AvroRecordTruncatedError,
    ExternalPayloadReferenceError,
    InvalidAvroRecordError,
    InvalidBase64PayloadError,
    InvalidPayloadJsonError,
    PayloadCodecError,
    PayloadDecodeError,
    PayloadNotJsonSafeError,
    TypedAvroSchemaUnsupportedError,
    UnknownAvroPrefixError,
    UnsupportedPayloadCodecError,
)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_every_codec_error_is_a_value_error() -> None:
    # Code written against 0.4.84 catches ValueError; it must keep working.
    for cls in (
        UnsupportedPayloadCodecError,
        PayloadDecodeError,
        InvalidBase64PayloadError,
        UnknownAvroPrefixError,
        TypedAvroSchemaUnsupportedError,
        InvalidAvroRecordError,
        AvroRecordTruncatedError,
        InvalidPayloadJsonError,
        ExternalPayloadReferenceError,
        PayloadNotJsonSafeError,
    ):
        assert issubclass(cls, PayloadCodecError)
        assert issubclass(cls, ValueError)


@pytest.mark.parametrize("codec", ["xml", "workflow-serializer-y", "", "AVRO"])
def test_unknown_codec_on_encode(codec: str) -> None:
    with pytest.raises(UnsupportedPayloadCodecError, match="Unsupported payload codec") as info:
        serializer.encode([1], codec)
    assert "codec='avro'" in str(info.value)
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.encode_many([1, 2], codec)
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.envelope([1], codec)


@pytest.mark.parametrize("codec", ["xml", "workflow-serializer-base64", ""])
def test_unknown_codec_on_decode(codec: str) -> None:
    with pytest.raises(UnsupportedPayloadCodecError, match="Cannot decode payload with codec") as info:
        serializer.decode("AAQ0MgI=", codec)
    assert info.value.codec == codec
    assert "envelope" in str(info.value)
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.decode_many(["AAQ0MgI="], codec)
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.decode_envelope({"codec": codec or "x", "blob": "AAQ0MgI="})


def test_missing_codec_means_json_and_empty_blob_means_none() -> None:
    assert serializer.decode("[1]") == [1]
    assert serializer.decode(None, "avro") is None
    assert serializer.decode("", "avro") is None
    assert serializer.decode("", "xml") is None  # nothing to decode: no codec lookup needed
    assert serializer.decode_envelope({"codec": "avro", "blob": None}) is None


@pytest.mark.parametrize("blob", ['{"a":1}', "[1,2]", '"hi"', "null", "true", "42", "-1.5"])
def test_json_tagged_as_avro_says_so(blob: str) -> None:
    with pytest.raises(PayloadDecodeError) as info:
        serializer.decode(blob, "avro")
    message = str(info.value)
    assert "looks like JSON" in message
    assert "'json'" in message and "codec='avro'" in message
    assert info.value.payload_head == blob


@pytest.mark.parametrize(
    "blob", ["AA", "AA=", "AAQ0MgI", "AAQ0MgI==", "AAQ0-gI=", "AAQ0_gI=", "AA Q0MgI=", "ü"]
)
def test_bad_base64(blob: str) -> None:
    with pytest.raises(InvalidBase64PayloadError, match="not valid standard base64") as info:
        serializer.decode(blob, "avro")
    assert "serializer.encode(value, codec='avro')" in str(info.value)
    assert info.value.codec == "avro"


def test_typed_schema_prefix_has_its_own_message() -> None:
    blob = b64(b"\x01\x00\x00\x00\x02{}\x00")
    with pytest.raises(TypedAvroSchemaUnsupportedError, match=r"prefix 0x01") as info:
        serializer.decode(blob, "avro")
    assert "generic wrapper (prefix 0x00" in str(info.value)


def test_unknown_prefix() -> None:
    with pytest.raises(UnknownAvroPrefixError, match="0x7f") as info:
        serializer.decode(b64(b"\x7f\x04\x34\x32\x02"), "avro")
    assert not isinstance(info.value, TypedAvroSchemaUnsupportedError)


def test_empty_after_base64() -> None:
    # "====" is not strict base64 either; an empty byte string can only come from the bytes level.
    with pytest.raises(InvalidAvroRecordError, match="empty"):
        _avro.decode_avro_bytes(b"")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00",  # no length
        b"\x00\x04\x34",  # json cut short
        b"\x00\x04\x34\x32",  # version missing
        b"\x00\x90",  # length varint cut short
        b"\x00\x90\x01" + b"x" * 10,  # declares 72 bytes
    ],
)
def test_truncated_record(raw: bytes) -> None:
    with pytest.raises(AvroRecordTruncatedError, match="truncated") as info:
        serializer.decode(b64(raw), "avro")
    assert "re-send the complete payload" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"\x00\x03\x34\x02", "negative length"),
        (b"\x00" + b"\xff" * 11 + b"\x02", "varint is longer"),
        (b"\x00\x04\x34\x32\x02\x00", "unexpected byte"),  # trailing bytes are refused, not dropped
        (b"\x00\x04\x34\x32\x80\x80\x80\x80\x10", "does not fit an Avro int"),
        (b"\x00\x04\x34\x32\xff\xff\xff\xff\xff\x01", "varint is longer"),
        (b"\x00\x04\xc3\x28\x02", "not valid UTF-8"),
    ],
)
def test_malformed_record(raw: bytes, detail: str) -> None:
    with pytest.raises(InvalidAvroRecordError, match=detail):
        serializer.decode(b64(raw), "avro")


def test_other_version_numbers_are_accepted() -> None:
    # The version is informational today: any valid Avro int decodes.
    assert serializer.decode(b64(b"\x00\x04\x34\x32\x04"), "avro") == 42
    assert serializer.decode(b64(b"\x00\x04\x34\x32\x01"), "avro") == 42  # -1


@pytest.mark.parametrize("inner", [b"{", b"", b"[1,]", b"{'a':1}", b"1 2"])
def test_invalid_inner_json(inner: bytes) -> None:
    raw = b"\x00" + bytes((len(inner) << 1,)) + inner + b"\x02"
    with pytest.raises(InvalidPayloadJsonError, match="'json' field is not valid JSON"):
        serializer.decode(b64(raw), "avro")


@pytest.mark.parametrize("blob", ["{", "AAQ0MgI=", "[1,]", "nul"])
def test_invalid_json_codec_blob(blob: str) -> None:
    with pytest.raises(InvalidPayloadJsonError, match="Payload is not valid JSON") as info:
        serializer.decode(blob, "json")
    assert "codec='avro'" in str(info.value)


def test_deeply_nested_json_is_a_decode_error_not_a_recursion_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidPayloadJsonError):
        serializer.decode(deep, "json")


def test_non_text_blob() -> None:
    assert serializer.decode(b"[1]", "json") == [1]  # type: ignore[arg-type]  # UTF-8 bytes accepted
    with pytest.raises(PayloadDecodeError, match="must be a str"):
        serializer.decode(12, "json")  # type: ignore[arg-type]
    with pytest.raises(PayloadDecodeError, match="must be a str"):
        serializer.decode_envelope({"not": "an envelope"}, "avro")
    with pytest.raises(PayloadDecodeError, match="not UTF-8"):
        serializer.decode(b"\xff", "json")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1.0, math.nan], {"x": math.inf}])
@pytest.mark.parametrize("codec", ["avro", "json"])
def test_nan_and_infinity_are_refused(value: Any, codec: str) -> None:
    # 0.4.84 wrote the non-standard tokens NaN/Infinity, which other runtimes reject [ref-quirk].
    with pytest.raises(PayloadNotJsonSafeError, match="NaN or an infinite float") as info:
        serializer.encode(value, codec)
    assert "None or a string" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_nan_tokens_written_by_older_sdks_still_decode() -> None:
    # History written by 0.4.84 may hold them; decoding must not lose it.
    assert math.isnan(serializer.decode("NaN", "json"))
    blob = b64(b"\x00\x14[Infinity]\x02")
    assert serializer.decode(blob, "avro") == [math.inf]


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), b"raw", {1, 2}, object()])
def test_non_json_values_are_refused_with_a_hint(value: Any) -> None:
    with pytest.raises(PayloadNotJsonSafeError, match="to_avro_payload_value") as info:
        serializer.encode(value)
    assert isinstance(info.value, TypeError)  # as json.dumps raised in 0.4.84


def test_circular_and_surrogate_values_are_refused() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(PayloadNotJsonSafeError, match="circular"):
        serializer.encode(cyclic)
    with pytest.raises(PayloadNotJsonSafeError, match="surrogate"):
        serializer.encode("\ud800")


def test_missing_avro_library_raises_avro_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The avro package cannot be uninstalled here, so its import is made to fail; the codec must
    # turn that into AvroNotInstalledError with a reinstall hint.
    monkeypatch.setattr(_avro, "_schema", None)
    monkeypatch.setattr(_avro, "_ready", False)
    monkeypatch.setitem(sys.modules, "avro.io", None)
    with pytest.raises(AvroNotInstalledError, match="pip install") as info:
        serializer.encode([1])
    assert isinstance(info.value, ImportError)
    with pytest.raises(AvroNotInstalledError):
        serializer.decode("AAQ0MgI=", "avro")
    assert serializer.encode([1], "json") == "[1]"  # the json codec needs no avro


def test_json_with_surrounding_whitespace_still_decodes() -> None:
    # The fast scanner path must not change what json.loads accepts.
    assert serializer.decode(' \n{"a": [1, 2]}\t', "json") == {"a": [1, 2]}
    raw = b"\x00\x10 [true] \x02"
    assert serializer.decode(b64(raw), "avro") == [True]
    with pytest.raises(InvalidPayloadJsonError, match="Extra data"):
        serializer.decode("[1] [2]", "json")


def test_unencodable_int_is_refused_with_its_own_reason() -> None:
    if not hasattr(sys, "get_int_max_str_digits"):
        pytest.skip("no int string-conversion limit before Python 3.11")
    huge = 10 ** (sys.get_int_max_str_digits() + 10)
    with pytest.raises(PayloadNotJsonSafeError, match="Exceeds the limit") as info:
        serializer.encode(huge)
    assert "NaN" not in str(info.value)


def test_str_subclass_blobs_decode() -> None:
    class Blob(str):
        pass

    assert serializer.decode(Blob("AAQ0MgI="), "avro") == 42
    assert serializer.decode(Blob("[1]")) == [1]
