"""The Avro generic-wrapper payload codec (wire prefix ``0x00``).

Wire form: ``base64(0x00 || avro_binary(durable_workflow.Payload{json: string, version: int = 1}))``.

The record is tiny and fixed, so building an Avro ``DatumWriter``/``DatumReader`` per payload
(what the published SDK does) costs far more than the JSON it wraps. This module instead writes
and reads the fixed binary layout directly: ``0x00 || zigzag-varint(len) || utf8 || zigzag-varint(1)``.
The ``avro`` library stays the authority: on first use the schema is parsed with
``avro.schema.parse``, checked to be exactly the layout this module hard-codes, and the library's
own ``DatumWriter`` output for a probe record is compared with ours; the tests compare both on
many generated values. The library is imported lazily so importing the SDK stays cheap.
"""

from __future__ import annotations

import binascii
import io
import re
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from dw_core.errors import AvroNotInstalledError
from dw_core.payload_errors import (
    PAYLOAD_HEAD_CHARS,
    AvroRecordTruncatedError,
    InvalidAvroRecordError,
    InvalidBase64PayloadError,
    PayloadDecodeError,
    PayloadNotJsonSafeError,
    TypedAvroSchemaUnsupportedError,
    UnknownAvroPrefixError,
)

if TYPE_CHECKING:
    import avro.io
    import avro.schema

__all__ = [
    "GENERIC_WRAPPER_PREFIX",
    "PAYLOAD_SCHEMA_JSON",
    "TYPED_SCHEMA_PREFIX",
    "WRAPPER_SCHEMA_JSON",
    "WRAPPER_VERSION",
    "AvroNotInstalledError",
    "GenericWrapperSchema",
    "decode",
    "decode_avro_blob",
    "decode_avro_bytes",
    "decode_many",
    "encode",
    "encode_avro_blob",
    "encode_avro_bytes",
    "encode_many",
    "ensure_avro_ready",
    "generic_wrapper_schema",
]

#: Exact writer/reader schema text of the generic wrapper (shared with the PHP runtime).
PAYLOAD_SCHEMA_JSON: Final = (
    '{"type":"record","name":"Payload","namespace":"durable_workflow","fields":'
    '[{"name":"json","type":"string"},{"name":"version","type":"int","default":1}]}'
)
#: Name kept from the published SDK's private module.
WRAPPER_SCHEMA_JSON: Final = PAYLOAD_SCHEMA_JSON
GENERIC_WRAPPER_PREFIX: Final = 0x00
TYPED_SCHEMA_PREFIX: Final = 0x01
#: Wrapper format version written today; readers accept any valid int (it is informational).
WRAPPER_VERSION: Final = 1

_AVRO = "avro"
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
# An Avro long is at most 10 varint bytes, an int at most 5.
_MAX_LONG_VARINT_BYTES: Final = 10
_MAX_INT_VARINT_BYTES: Final = 5

_PREFIX_BYTES: Final = bytes((GENERIC_WRAPPER_PREFIX,))
# zigzag(1) == 2: one byte.  Verified against the library on first use (``ensure_avro_ready``).
_VERSION_TRAILER: Final = bytes((WRAPPER_VERSION << 1,))
# Prefix + one-byte length varint for every JSON text shorter than 64 bytes (zigzag < 128).
_SMALL_HEADERS: Final = tuple(bytes((GENERIC_WRAPPER_PREFIX, n << 1)) for n in range(64))

_b2a = binascii.b2a_base64
_Error = binascii.Error

_B64_SHAPE: Final = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def strict_b64decode_portable(text: str) -> bytes:
    """Strict standard-base64 decode for Pythons without ``a2b_base64(strict_mode=True)`` (3.10)."""
    if _B64_SHAPE.fullmatch(text) is None:
        raise _Error("not standard base64: only A-Z a-z 0-9 + / with '=' padding to a multiple of 4")
    return binascii.a2b_base64(text)


def _strict_b64decode_native(text: str) -> bytes:
    # strict_mode still accepts surplus '=' after a complete quad ("0000=", "0000=="); the wire
    # format pads to a multiple of 4 with at most two '=' at the very end, so refuse the rest.
    if len(text) % 4 or 0 <= text.find("=") < len(text) - 2:
        raise _Error("not standard base64: only A-Z a-z 0-9 + / with '=' padding to a multiple of 4")
    return binascii.a2b_base64(text, strict_mode=True)  # type: ignore[call-arg, unused-ignore]


_strict_b64decode = _strict_b64decode_native if sys.version_info >= (3, 11) else strict_b64decode_portable


def _head(text: str) -> str:
    return text[:PAYLOAD_HEAD_CHARS]


# --------------------------------------------------------------------------------------------
# The avro library: schema authority, lazily loaded.


class GenericWrapperSchema:
    """The parsed generic-wrapper schema with one reusable library writer and reader.

    This is the slow but authoritative path (the ``avro`` library's own ``DatumWriter`` and
    ``DatumReader``). The codec functions below never call it per payload; it validates the
    hand-written layout once and serves tests and diagnostics.
    """

    def __init__(self) -> None:
        avro_io, avro_schema = _import_avro()
        parsed = avro_schema.parse(PAYLOAD_SCHEMA_JSON)
        if not isinstance(parsed, avro_schema.RecordSchema):  # pragma: no cover - constant schema
            raise RuntimeError("generic wrapper schema is not a record")
        self.schema: avro.schema.RecordSchema = parsed
        self._avro_io = avro_io
        self._writer = avro_io.DatumWriter(parsed)
        self._reader = avro_io.DatumReader(parsed, parsed)
        self._lock = threading.Lock()

    def write_record(self, json_text: str, version: int = WRAPPER_VERSION) -> bytes:
        """Return ``0x00 || record`` written by the avro library's ``DatumWriter``."""
        buffer = io.BytesIO()
        buffer.write(_PREFIX_BYTES)
        with self._lock:
            self._writer.write({"json": json_text, "version": version}, self._avro_io.BinaryEncoder(buffer))
        return buffer.getvalue()

    def read_record(self, data: bytes) -> dict[str, Any]:
        """Read ``0x00 || record`` with the avro library's ``DatumReader`` (no trailing-byte check)."""
        if data[:1] != _PREFIX_BYTES:
            raise ValueError("not a generic-wrapper payload (prefix is not 0x00)")
        with self._lock:
            record = self._reader.read(self._avro_io.BinaryDecoder(io.BytesIO(data[1:])))
        if not isinstance(record, dict):  # pragma: no cover - record schema always yields a dict
            raise ValueError("avro reader did not return a record")
        return record


def _import_avro() -> tuple[Any, Any]:
    try:
        import avro.io as avro_io
        import avro.schema as avro_schema
    except ImportError as exc:
        raise _avro_not_installed(exc) from exc
    return avro_io, avro_schema


def _avro_not_installed(cause: ImportError) -> AvroNotInstalledError:
    return AvroNotInstalledError(
        "the 'avro' package is required for the avro payload codec but could not be imported "
        f"({cause}); reinstall the SDK with its dependencies: pip install --force-reinstall dw-core "
        "(or: pip install 'avro>=1.12,<2')"
    )


_schema_lock = threading.Lock()
_schema: GenericWrapperSchema | None = None
_ready = False


def generic_wrapper_schema() -> GenericWrapperSchema:
    """Return the process-wide parsed schema (imports the avro library on first call)."""
    global _schema
    schema = _schema
    if schema is None:
        with _schema_lock:
            schema = _schema
            if schema is None:
                schema = _schema = GenericWrapperSchema()
    return schema


def ensure_avro_ready() -> None:
    """Parse and check the schema against the hand-written layout once per process.

    Raises ``AvroNotInstalledError`` when the avro library is missing, and ``RuntimeError`` if the
    library disagrees with this module's layout (which would mean the schema constant changed).
    """
    global _ready
    if _ready:
        return
    schema = generic_wrapper_schema()
    fields = [(f.name, f.type.type, f.get_prop("default")) for f in schema.schema.fields]
    if fields != [("json", "string", None), ("version", "int", WRAPPER_VERSION)]:
        raise RuntimeError(f"unexpected generic wrapper schema fields {fields!r}")
    for probe in ("", '{"probe":"\u00fc/\U0001f600"}', "x" * 300):
        if schema.write_record(probe) != encode_avro_bytes(probe):
            raise RuntimeError("avro library output differs from the generic-wrapper fast path")
    _ready = True


# --------------------------------------------------------------------------------------------
# Fast path.


def encode_avro_bytes(json_text: str) -> bytes:
    """Return ``0x00 || avro record`` for the given JSON text (without base64)."""
    try:
        data = json_text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadNotJsonSafeError(
            "payload text contains an unpaired surrogate code point, which is not valid UTF-8; "
            "remove it or replace it (e.g. text.encode('utf-8', 'replace').decode()) before encoding",
            codec=_AVRO,
        ) from exc
    size = len(data)
    if size < 64:
        return b"".join((_SMALL_HEADERS[size], data, _VERSION_TRAILER))
    zigzag = size << 1
    varint = bytearray()
    while zigzag > 0x7F:
        varint.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    varint.append(zigzag)
    return b"".join((_PREFIX_BYTES, varint, data, _VERSION_TRAILER))


def encode_avro_blob(json_text: str) -> str:
    """Return the base64 wire text of the generic wrapper around ``json_text``."""
    if not _ready:
        ensure_avro_ready()
    return _b2a(encode_avro_bytes(json_text), newline=False).decode("ascii")


def decode_avro_blob(blob: str) -> str:
    """Validate a base64 generic-wrapper blob and return its JSON text (not yet parsed)."""
    if not _ready:
        ensure_avro_ready()
    try:
        data = _strict_b64decode(blob)
    except (_Error, ValueError) as exc:
        raise _base64_error(blob, exc) from exc
    if not data:
        raise InvalidAvroRecordError(
            "Avro payload is empty after base64 decoding; an avro blob must hold at least the 0x00 "
            "prefix and a record; send null or an empty string for 'no payload'",
            codec=_AVRO,
            payload_head=_head(blob),
        )
    return decode_avro_bytes(data, blob)


def decode_avro_bytes(data: bytes, blob: str | None = None) -> str:
    """Validate ``0x00 || record`` bytes and return the record's JSON text."""
    total = len(data)
    if total == 0 or data[0] != GENERIC_WRAPPER_PREFIX:
        raise _prefix_error(data, blob)
    # Common case: one-byte length varint.
    first = data[1] if total > 1 else -1
    if 0 <= first < 0x80:
        zigzag = first
        pos = 2
    else:
        zigzag, pos = _read_varint(data, 1, _MAX_LONG_VARINT_BYTES, "json length", blob)
    length = (zigzag >> 1) ^ -(zigzag & 1)
    if length < 0:
        raise _record_error(f"the 'json' field has a negative length ({length})", blob)
    end = pos + length
    if end >= total:
        available = max(0, total - pos)
        missing = (
            f"the 'json' field declares {length} bytes but only {available} follow"
            if available < length
            else "the 'version' field is missing"
        )
        raise AvroRecordTruncatedError(
            f"Avro record is truncated: {missing}; the blob was cut short in transit or storage, "
            "re-send the complete payload",
            codec=_AVRO,
            payload_head=_head(blob) if blob is not None else None,
        )
    if data[end] == 0x02 and end + 1 == total:  # version 1, nothing after it
        pass
    else:
        zigzag, after = _read_varint(data, end, _MAX_INT_VARINT_BYTES, "version", blob)
        version = (zigzag >> 1) ^ -(zigzag & 1)
        if not _INT32_MIN <= version <= _INT32_MAX:
            raise _record_error(f"the 'version' field ({version}) does not fit an Avro int", blob)
        if after != total:
            raise _record_error(
                f"{total - after} unexpected byte(s) follow the record; the payload was not written "
                "by a Durable Workflow generic-wrapper serializer or was corrupted",
                blob,
            )
    try:
        return str(memoryview(data)[pos:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise _record_error(
            f"the 'json' field is not valid UTF-8 ({exc.reason} at byte {exc.start})", blob
        ) from exc


def _read_varint(data: bytes, pos: int, max_bytes: int, what: str, blob: str | None) -> tuple[int, int]:
    result = 0
    shift = 0
    total = len(data)
    for _ in range(max_bytes):
        if pos >= total:
            raise AvroRecordTruncatedError(
                f"Avro record is truncated inside the {what} varint; the blob was cut short in transit "
                "or storage, re-send the complete payload",
                codec=_AVRO,
                payload_head=_head(blob) if blob is not None else None,
            )
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise _record_error(f"the {what} varint is longer than {max_bytes} bytes", blob)


def _record_error(detail: str, blob: str | None) -> InvalidAvroRecordError:
    return InvalidAvroRecordError(
        f"Invalid Avro generic-wrapper record: {detail}. Avro payloads must be written as "
        "serializer.encode(value, codec='avro')",
        codec=_AVRO,
        payload_head=_head(blob) if blob is not None else None,
    )


def _prefix_error(data: bytes, blob: str | None) -> PayloadDecodeError:
    head = _head(blob) if blob is not None else None
    if not data:
        return InvalidAvroRecordError(
            "Avro payload is empty; send null or an empty string for 'no payload'",
            codec=_AVRO,
            payload_head=head,
        )
    if blob is not None and _looks_like_json(blob):
        # Short JSON texts such as "null" or "true" happen to be valid base64.
        return UnknownAvroPrefixError(_JSON_TAGGED_AVRO, codec=_AVRO, payload_head=head)
    if data[0] == TYPED_SCHEMA_PREFIX:
        return TypedAvroSchemaUnsupportedError(
            "Typed-schema Avro payload (prefix 0x01) is not supported: only PHP runtimes with a schema "
            "registry write it. Have the producer send the generic wrapper (prefix 0x00, e.g. "
            "serializer.encode(value, codec='avro')) for payloads Python workers must read",
            codec=_AVRO,
            payload_head=head,
        )
    return UnknownAvroPrefixError(
        f"Unknown Avro payload prefix 0x{data[0]:02x} (expected 0x00 generic wrapper); these bytes were "
        "not produced by a Durable Workflow Avro serializer: check the payload's codec tag or re-encode it "
        "with serializer.encode(value, codec='avro')",
        codec=_AVRO,
        payload_head=head,
    )


_JSON_TAGGED_AVRO = (
    "Avro payload blob looks like JSON, not base64: it was probably written with codec 'json' but "
    "tagged 'avro'. Tag it 'json', or re-encode it with serializer.encode(value, codec='avro')"
)


def _looks_like_json(blob: str) -> bool:
    import json

    try:
        json.loads(blob)
    except (ValueError, RecursionError):
        return False
    return True


def _base64_error(blob: str, cause: BaseException) -> InvalidBase64PayloadError:
    if _looks_like_json(blob):
        message = _JSON_TAGGED_AVRO
    else:
        message = (
            f"Avro payload blob is not valid standard base64 ({cause}); avro blobs are base64 (alphabet "
            "A-Z a-z 0-9 + /, '=' padding) of bytes starting with 0x00. Re-encode the payload with "
            "serializer.encode(value, codec='avro'), or fix the codec tag if another codec wrote it"
        )
    return InvalidBase64PayloadError(message, codec=_AVRO, payload_head=_head(blob))


# --------------------------------------------------------------------------------------------
# Value-level helpers (the published SDK's private ``_avro`` module offered these).


def encode(value: Any) -> str:
    """Encode one JSON value as an avro blob (no size warning)."""
    from dw_core.serializer import encode as encode_payload

    return encode_payload(value, "avro", size_warning=None)


def decode(blob: str | None) -> Any:
    """Decode one avro blob to its JSON value."""
    from dw_core.serializer import decode as decode_payload

    return decode_payload(blob, "avro")


def encode_many(values: Iterable[Any]) -> list[str]:
    """Encode each value as an avro blob."""
    return [encode(value) for value in values]


def decode_many(blobs: Iterable[str | None]) -> list[Any]:
    """Decode each avro blob."""
    return [decode(blob) for blob in blobs]
