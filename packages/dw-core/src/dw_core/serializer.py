"""Payload codecs: turn values into wire blobs and back.

Two codecs exist: ``avro`` (the default for everything sent; base64 of the Avro generic wrapper
around compact JSON text) and ``json`` (the legacy codec, kept to read older histories). A payload
travels either as a bare blob whose codec comes from context, or as an envelope
``{"codec": ..., "blob": ...}`` / ``{"codec": ..., "external_storage": {...}}``.

Only JSON data is encoded: ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists/tuples and
dicts. Use :func:`to_avro_payload_value` to convert dataclasses, pydantic or attrs models,
datetimes, UUIDs, Decimals and Enums first.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from dw_core import _avro
from dw_core.payload_errors import (
    PAYLOAD_HEAD_CHARS,
    ExternalPayloadReferenceError,
    InvalidPayloadJsonError,
    PayloadCodecError,
    PayloadDecodeError,
    PayloadEncodeError,
    PayloadNotJsonSafeError,
    UnsupportedPayloadCodecError,
)
from dw_core.payload_size import (
    DEFAULT_PAYLOAD_SIZE_BYTES,
    DEFAULT_PAYLOAD_SIZE_WARNING,
    DEFAULT_WARNING_THRESHOLD_PERCENT,
    PayloadSizeWarningConfig,
    PayloadSizeWarningContext,
    PayloadWarningContext,
    PayloadWarningContexts,
    per_value_contexts,
    warn_if_json_payload_near_limit,
    warn_if_payload_near_limit,
)

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver
    from dw_core.plugins import PayloadCodec

__all__ = [
    "AVRO_CODEC",
    "DEFAULT_PAYLOAD_SIZE_BYTES",
    "DEFAULT_PAYLOAD_SIZE_WARNING",
    "DEFAULT_WARNING_THRESHOLD_PERCENT",
    "JSON_CODEC",
    "SUPPORTED_CODECS",
    "PayloadCodecError",
    "PayloadDecodeError",
    "PayloadEncodeError",
    "PayloadNotJsonSafeError",
    "PayloadSizeWarningConfig",
    "PayloadSizeWarningContext",
    "PayloadWarningContext",
    "PayloadWarningContexts",
    "UnsupportedPayloadCodecError",
    "decode",
    "decode_envelope",
    "decode_envelopes",
    "decode_many",
    "encode",
    "encode_many",
    "envelope",
    "envelope_many",
    "external_storage_envelope",
    "external_storage_envelope_many",
    "to_avro_payload_value",
    "to_avro_payload_values",
    "warn_if_json_payload_near_limit",
    "warn_if_payload_near_limit",
]

JSON_CODEC: Final = "json"
AVRO_CODEC: Final = "avro"
SUPPORTED_CODECS: Final = (JSON_CODEC, AVRO_CODEC)

# JSON text rules: compact separators, raw UTF-8 (no \u escapes), '/' unescaped, floats keep their
# fraction, dict key order kept. allow_nan=False: NaN/Infinity tokens are not JSON and other runtimes
# (PHP, the server) reject them, so they are refused at the source.
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_json_decoder = json.JSONDecoder()


def _make_json_text() -> Callable[[Any], str]:
    """The fastest correct ``value -> JSON text`` available.

    ``JSONEncoder.encode`` builds a fresh C encoder on every call; building it once saves most of
    the cost for small payloads. It is built without a circular-reference table (a shared table
    would not be thread-safe), so a cycle surfaces as ``RecursionError``. Falls back to the
    encoder's own method when the C accelerator is missing or behaves differently.
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always has the accelerator
        return _json_encoder.encode
    one_shot = c_make_encoder(
        None, _json_encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )

    def json_text(value: Any) -> str:
        return "".join(one_shot(value, 0))

    probe: dict[str, Any] = {"k": [None, True, 1, -7, 1.0, 1.5e300, 'ü/\n"', {}, []], "\u2028": {"x": [[]]}}
    if json_text(probe) != _json_encoder.encode(probe):  # pragma: no cover - defensive
        return _json_encoder.encode
    return json_text


_json_text = _make_json_text()
# Set in JSONDecoder.__init__ (the C scanner when available); not declared in typeshed.
_scan_json: Callable[[str, int], tuple[Any, int]] = _json_decoder.scan_once  # type: ignore[attr-defined]
_encode_avro_blob = _avro.encode_avro_blob
_decode_avro_blob = _avro.decode_avro_blob
_warn = warn_if_payload_near_limit


# --------------------------------------------------------------------------------------------
# Encoding


def _to_json_text(value: Any, codec: str) -> str:
    try:
        return _json_text(value)
    except TypeError as exc:
        raise PayloadNotJsonSafeError(
            f"payload value is not JSON data ({exc}); convert it first, e.g. "
            "serializer.encode(serializer.to_avro_payload_value(value)), which turns dataclasses, "
            "pydantic/attrs models, datetimes, UUIDs, Decimals and Enums into JSON data",
            codec=codec,
        ) from exc
    except ValueError as exc:
        if "Out of range float" in str(exc):
            detail = (
                "it contains NaN or an infinite float, which JSON cannot represent and other runtimes "
                "reject; replace it with None or a string such as 'NaN' before encoding"
            )
        else:
            detail = f"{exc}; convert the offending value (e.g. a huge int) to a string first"
        raise PayloadNotJsonSafeError(f"payload value cannot be encoded: {detail}", codec=codec) from exc
    except RecursionError as exc:
        raise PayloadNotJsonSafeError(
            "payload value contains a circular reference or is nested too deeply to encode as JSON; "
            "break the cycle or flatten it",
            codec=codec,
        ) from exc


def _unsupported_encode(codec: object) -> UnsupportedPayloadCodecError:
    return UnsupportedPayloadCodecError(
        f"Unsupported payload codec {codec!r}; this SDK encodes {SUPPORTED_CODECS!r} and no installed "
        f"plugin provides it. Use codec={AVRO_CODEC!r} (the default, understood by every runtime)",
        codec=codec if isinstance(codec, str) else None,
    )


def _encode_blob(value: Any, codec: str) -> str:
    if codec == AVRO_CODEC:
        return _encode_avro_blob(_to_json_text(value, codec))
    if codec == JSON_CODEC:
        return _to_json_text(value, codec)
    plugin = _plugin_codec(codec, _unsupported_encode)
    try:
        blob = plugin.encode(value)
    except PayloadCodecError:
        raise
    except Exception as exc:
        raise PayloadEncodeError(
            f"payload codec {codec!r} (from a plugin) failed to encode the value: {exc!r}", codec=codec
        ) from exc
    if not isinstance(blob, str):
        raise PayloadEncodeError(
            f"payload codec {codec!r} (from a plugin) returned {type(blob).__name__}, not blob text; "
            "fix the plugin's encode() to return str",
            codec=codec,
        )
    return blob


def _plugin_codec(
    codec: object, unsupported: Callable[[object], UnsupportedPayloadCodecError]
) -> PayloadCodec:
    """A third-party codec registered through the plugin system, else ``unsupported(codec)``."""
    if not isinstance(codec, str) or not codec:
        raise unsupported(codec)
    # Imported here: loading plugins (entry points) is only worth it for a codec we do not know.
    from dw_core.plugins import PluginNotFoundError, payload_codec

    try:
        return payload_codec(codec)
    except PluginNotFoundError as exc:
        raise unsupported(codec) from exc


def encode(
    value: Any,
    codec: str = AVRO_CODEC,
    *,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
) -> str:
    """Encode ``value`` as a blob of ``codec`` (``avro`` by default).

    Raises :class:`UnsupportedPayloadCodecError` for an unknown codec and
    :class:`PayloadNotJsonSafeError` (a ``TypeError`` and ``ValueError``) for non-JSON data.
    Logs a size warning when the blob nears ``size_warning``'s limit (``None`` disables it).
    """
    if codec == AVRO_CODEC:
        blob = _encode_avro_blob(_to_json_text(value, codec))
    else:
        blob = _encode_blob(value, codec)
    if size_warning is not None:
        _warn(blob, codec=codec, size_warning=size_warning, warning_context=warning_context)
    return blob


def encode_many(
    values: Sequence[Any],
    codec: str = AVRO_CODEC,
    *,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContexts = None,
) -> list[str]:
    """Encode each value with the same codec; ``warning_context`` is one context or one per value."""
    if codec not in SUPPORTED_CODECS:
        _plugin_codec(codec, _unsupported_encode)  # fail before encoding anything
    contexts = per_value_contexts(warning_context, len(values))
    blobs = [_encode_blob(value, codec) for value in values]
    if size_warning is not None:
        for blob, context in zip(blobs, contexts, strict=True):
            _warn(blob, codec=codec, size_warning=size_warning, warning_context=context)
    return blobs


def envelope(
    value: Any,
    codec: str = AVRO_CODEC,
    *,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
) -> dict[str, str]:
    """Return ``{"codec": codec, "blob": encode(value, codec)}``."""
    return {
        "codec": codec,
        "blob": encode(value, codec, size_warning=size_warning, warning_context=warning_context),
    }


def envelope_many(
    values: Sequence[Any],
    codec: str = AVRO_CODEC,
    *,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContexts = None,
) -> list[dict[str, str]]:
    """Envelope each value with the same codec."""
    blobs = encode_many(values, codec, size_warning=size_warning, warning_context=warning_context)
    return [{"codec": codec, "blob": blob} for blob in blobs]


def _check_threshold(threshold_bytes: object) -> int:
    if isinstance(threshold_bytes, bool) or not isinstance(threshold_bytes, int) or threshold_bytes < 1:
        raise PayloadEncodeError(
            f"external storage threshold_bytes must be an int of at least 1, got {threshold_bytes!r}; "
            "payloads larger than it are offloaded, so pick a size such as 262144"
        )
    return threshold_bytes


def _offload_if_large(
    blob: str, codec: str, external_storage: ExternalStorageDriver, threshold_bytes: int
) -> dict[str, Any]:
    if len(blob) <= threshold_bytes and (blob.isascii() or len(blob.encode("utf-8")) <= threshold_bytes):
        return {"codec": codec, "blob": blob}
    from dw_core.external_storage import store_external_payload

    reference = store_external_payload(external_storage, blob.encode("utf-8"), codec=codec)
    return {"codec": codec, "external_storage": reference.to_dict()}


def external_storage_envelope(
    value: Any,
    *,
    external_storage: ExternalStorageDriver,
    threshold_bytes: int,
    codec: str = AVRO_CODEC,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
) -> dict[str, Any]:
    """Inline envelope when the blob's UTF-8 size is at most ``threshold_bytes``, else store it.

    A stored payload becomes ``{"codec": codec, "external_storage": <reference dict>}``; the
    stored bytes are the blob text as UTF-8, hashed with SHA-256.
    """
    threshold = _check_threshold(threshold_bytes)
    blob = encode(value, codec, size_warning=size_warning, warning_context=warning_context)
    return _offload_if_large(blob, codec, external_storage, threshold)


def external_storage_envelope_many(
    values: Sequence[Any],
    *,
    external_storage: ExternalStorageDriver,
    threshold_bytes: int,
    codec: str = AVRO_CODEC,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContexts = None,
) -> list[dict[str, Any]]:
    """Batch variant of :func:`external_storage_envelope`."""
    threshold = _check_threshold(threshold_bytes)
    blobs = encode_many(values, codec, size_warning=size_warning, warning_context=warning_context)
    return [_offload_if_large(blob, codec, external_storage, threshold) for blob in blobs]


# --------------------------------------------------------------------------------------------
# Decoding


def _parse_json(text: str, codec: str, blob: str) -> Any:
    # The scanner alone costs a third of JSONDecoder.decode for small texts; whatever it does not
    # consume completely (surrounding whitespace, errors) goes through decode() for the exact
    # result or error message.
    try:
        value, end = _scan_json(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError, RecursionError):
        pass
    try:
        return _json_decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        if codec == JSON_CODEC:
            message = (
                f"Payload is not valid JSON ({exc}); a 'json' blob must be JSON text. If the blob is "
                "base64 it was probably written with codec 'avro': decode it with codec='avro'"
            )
        else:
            message = (
                f"Avro generic-wrapper 'json' field is not valid JSON ({exc}); the producer must put "
                "compact JSON text in the record, as serializer.encode(value, codec='avro') does"
            )
        raise InvalidPayloadJsonError(message, codec=codec, payload_head=blob[:PAYLOAD_HEAD_CHARS]) from exc


def _unsupported_decode(codec: object) -> UnsupportedPayloadCodecError:
    return UnsupportedPayloadCodecError(
        f"Cannot decode payload with codec {codec!r}: this SDK supports {SUPPORTED_CODECS!r} and no "
        "installed plugin provides it. Start the "
        "workflow with a compatible codec, or send an explicit {'codec': 'avro', 'blob': '...'} envelope",
        codec=codec if isinstance(codec, str) else None,
    )


def _as_text(blob: object, codec: str) -> str:
    if isinstance(blob, str):  # a str subclass
        return str.__str__(blob)
    if isinstance(blob, (bytes, bytearray, memoryview)):
        try:
            return bytes(blob).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadDecodeError(
                f"payload bytes are not UTF-8 text ({exc}); blobs are text: pass the str from the wire",
                codec=codec,
            ) from exc
    raise PayloadDecodeError(
        f"payload blob must be a str (or None), got {type(blob).__name__}; pass the 'blob' text of a "
        "payload, or use decode_envelope() for {'codec', 'blob'} envelopes",
        codec=codec,
    )


def decode(blob: str | None, codec: str | None = None) -> Any:
    """Decode a blob; ``None``/``""`` give ``None``; codec ``None`` means JSON (legacy default).

    Raises :class:`UnsupportedPayloadCodecError` for an unknown codec and a
    :class:`PayloadDecodeError` subclass (a ``ValueError``) for a malformed blob.
    """
    if blob is None or blob == "":
        return None
    if codec == AVRO_CODEC:
        if type(blob) is not str:
            blob = _as_text(blob, codec)
        return _parse_json(_decode_avro_blob(blob), codec, blob)
    if codec is None or codec == JSON_CODEC:
        if type(blob) is not str:
            blob = _as_text(blob, JSON_CODEC)
        return _parse_json(blob, JSON_CODEC, blob)
    plugin = _plugin_codec(codec, _unsupported_decode)
    if type(blob) is not str:
        blob = _as_text(blob, codec)
    try:
        return plugin.decode(blob)
    except PayloadCodecError:
        raise
    except Exception as exc:
        raise PayloadDecodeError(
            f"payload codec {codec!r} (from a plugin) failed to decode the blob: {exc!r}",
            codec=codec,
            payload_head=blob[:PAYLOAD_HEAD_CHARS],
        ) from exc


def decode_many(blobs: Sequence[str | None], codec: str | None = None) -> list[Any]:
    """Decode each blob with the same codec."""
    if codec is not None and codec not in SUPPORTED_CODECS:
        _plugin_codec(codec, _unsupported_decode)  # fail before decoding anything
    return [decode(blob, codec) for blob in blobs]


def decode_envelope(
    value: Any,
    codec: str | None = None,
    *,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> Any:
    """Decode an envelope, an external-storage reference or a bare blob.

    An envelope's own ``codec`` wins over ``codec`` (the contextual codec); a bare blob is decoded
    with ``codec``. A reference is fetched through ``external_storage`` and verified (size and
    SHA-256) before decoding; ``external_storage_cache`` keeps verified bytes.
    """
    if isinstance(value, Mapping):
        if "external_storage" in value:
            return _decode_external(value, external_storage, external_storage_cache)
        if "codec" in value and "blob" in value:
            return decode(value["blob"], value["codec"] or codec)
    return decode(value, codec)


def decode_envelopes(
    values: Sequence[Any],
    codec: str | None = None,
    *,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> list[Any]:
    """Decode each value as :func:`decode_envelope` does, keeping order."""
    return [
        decode_envelope(
            value, codec, external_storage=external_storage, external_storage_cache=external_storage_cache
        )
        for value in values
    ]


def _decode_external(
    value: Mapping[str, Any],
    driver: ExternalStorageDriver | None,
    cache: ExternalPayloadCache | None,
) -> Any:
    if driver is None:
        raise ExternalPayloadReferenceError(
            "external payload reference requires an external storage driver: pass external_storage= "
            "(e.g. LocalFilesystemExternalStorage or S3ExternalStorage for the namespace's storage policy)"
        )
    from dw_core.external_storage import ExternalPayloadReference, fetch_external_payload

    try:
        reference = ExternalPayloadReference.from_dict(value["external_storage"])
    except ValueError as exc:
        raise ExternalPayloadReferenceError(
            f"{exc}; an external_storage envelope must carry the reference "
            "written by serializer.external_storage_envelope() unchanged",
            codec=value.get("codec") if isinstance(value.get("codec"), str) else None,
        ) from exc
    envelope_codec = value.get("codec")
    if envelope_codec is not None and envelope_codec != reference.codec:
        raise ExternalPayloadReferenceError(
            f"external payload envelope codec {envelope_codec!r} does not match its reference codec "
            f"{reference.codec!r}; the envelope was altered or built incorrectly, rebuild it with "
            "serializer.external_storage_envelope()",
            codec=reference.codec,
        )
    data = fetch_external_payload(driver, reference, cache=cache)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadDecodeError(
            f"external payload at {reference.uri} is not UTF-8 blob text ({exc})", codec=reference.codec
        ) from exc
    return decode(text, reference.codec)


# --------------------------------------------------------------------------------------------
# Rich values -> JSON data


def to_avro_payload_value(value: Any) -> Any:
    """Convert a rich value to JSON data that :func:`encode` accepts.

    Enums become their value; datetime/date/time ISO strings; UUID and Decimal strings; mappings,
    dataclasses, pydantic and attrs models dicts; other sequences lists. Raises
    :class:`PayloadNotJsonSafeError` (a ``TypeError``) for anything else (bytes, sets, objects).
    """
    try:
        return _adapt(value)
    except RecursionError as exc:
        raise PayloadNotJsonSafeError(
            "value is cyclic or nested too deeply to convert to JSON data; break the cycle first"
        ) from exc


def to_avro_payload_values(values: Sequence[Any]) -> list[Any]:
    """Convert each element with :func:`to_avro_payload_value`."""
    return [to_avro_payload_value(value) for value in values]


_SCALARS: Final = (str, int, float, bool, type(None))


def _adapt(value: Any) -> Any:
    if isinstance(value, Enum):
        return _adapt(value.value)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return _adapt_mapping(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _adapt(getattr(value, f.name)) for f in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return _adapt(model_dump(mode="json"))
    if hasattr(type(value), "__fields__") and callable(getattr(value, "dict", None)):
        return _adapt(value.dict())
    attrs_fields = getattr(type(value), "__attrs_attrs__", None)
    if attrs_fields is not None and not isinstance(value, type):
        return {a.name: _adapt(getattr(value, a.name)) for a in attrs_fields}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray, memoryview)):
        return [_adapt(item) for item in value]
    raise PayloadNotJsonSafeError(
        f"Object of type {type(value).__name__} is not Avro JSON payload safe; convert it to None, bool, "
        "int, float, str, list or dict[str, value] first (e.g. list(a_set), bytes as base64 text)"
    )


def _adapt_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, Enum):
            key = key.value
        if not isinstance(key, str):
            raise PayloadNotJsonSafeError(
                f"Avro JSON payload dictionaries must use string keys, got key {key!r} of type "
                f"{type(key).__name__}; convert the keys to str first"
            )
        result[key] = _adapt(item)
    return result
