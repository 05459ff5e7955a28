"""Payload handling on the server: payloads are stored opaquely as encoded blobs.

The server only encodes/decodes itself where the protocol makes it (plain-JSON arguments sent
on the control plane, decoded ``input``/``output`` in describe responses). The Avro generic
wrapper is ``base64(0x00 + avro(record{json: string, version: int}))`` (spec/codec.md).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from dw_devserver.http import validation_error
from dw_devserver.protocol import PAYLOAD_CODECS


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    acc = 0
    while True:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (acc >> 1) ^ -(acc & 1), pos


def encode_avro(value: Any) -> str:
    """Encode a JSON value as an Avro generic-wrapper blob."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(b"\x00" + _zigzag(len(text)) + text + _zigzag(1)).decode()


def decode_avro(blob: str) -> Any:
    """Decode an Avro generic-wrapper blob; raises ValueError when it is not one."""
    data = base64.b64decode(blob, validate=True)
    if not data or data[0] != 0:
        raise ValueError("not an Avro generic-wrapper payload")
    length, pos = _read_long(data, 1)
    return json.loads(data[pos : pos + length].decode())


def try_decode(blob: Any, codec: str | None = "avro") -> Any:
    """Best-effort decode for display (describe ``input``/``output``); None when impossible."""
    if blob is None or not isinstance(blob, str) or blob == "":
        return None
    try:
        if codec in (None, "", "avro"):
            return decode_avro(blob)
        if codec == "json":
            return json.loads(blob)
    except (ValueError, IndexError):
        return None
    return None


def canonical_codec(codec: Any, field: str) -> str:
    """A known codec name (empty / null means avro); anything else is a 422."""
    if codec is None or codec == "":
        return "avro"
    if not isinstance(codec, str) or codec.strip().lower() not in PAYLOAD_CODECS:
        raise validation_error(
            {field: [f"Unsupported payload codec {codec!r}; supported codecs: {', '.join(PAYLOAD_CODECS)}."]}
        )
    return codec.strip().lower()


def is_envelope(value: Any) -> bool:
    """True for ``{codec, blob}`` or ``{codec, external_storage}``."""
    return isinstance(value, dict) and set(value) in ({"codec", "blob"}, {"codec", "external_storage"})


def payload_from_request(
    value: Any, field: str, *, plain_object_as_list: bool = True
) -> tuple[str | None, str]:
    """Normalise a request payload to ``(stored_value, codec)``.

    Accepts an envelope (stored as its blob, or as the JSON of an external-storage envelope), a
    raw encoded string, or plain JSON arguments (encoded with Avro as the argument list).
    """
    if value is None or value == "":
        return None, "avro"
    if is_envelope(value):
        codec = canonical_codec(value.get("codec"), f"{field}.codec")
        if "external_storage" in value:
            ref = value["external_storage"]
            if not isinstance(ref, dict) or not ref.get("uri"):
                raise validation_error({f"{field}.external_storage": ["Invalid external storage reference."]})
            return json.dumps(value, separators=(",", ":")), codec
        blob = value.get("blob")
        if blob is None:
            return None, codec
        if not isinstance(blob, str):
            raise validation_error({f"{field}.blob": ["The blob must be a string."]})
        return blob, codec
    if isinstance(value, str):
        return value, "avro"
    if isinstance(value, dict) and plain_object_as_list:
        return encode_avro(list(value.values())), "avro"
    if isinstance(value, (list, dict)):
        return encode_avro(value), "avro"
    return encode_avro([value]), "avro"


def envelope(stored: str | None, codec: str) -> dict[str, Any] | None:
    """The ``{codec, blob}`` (or external) envelope of a stored payload."""
    if stored is None:
        return None
    if stored.startswith("{"):
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if is_envelope(data):
            return dict(data)
    return {"codec": codec, "blob": stored}


def event_value(stored: str | None) -> Any:
    """How a stored payload appears inside a history-event payload (raw blob or external envelope)."""
    if stored is not None and stored.startswith("{"):
        try:
            data = json.loads(stored)
        except ValueError:
            return stored
        if is_envelope(data):
            return data
    return stored
