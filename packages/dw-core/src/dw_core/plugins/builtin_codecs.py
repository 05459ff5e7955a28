"""Built-in plugin: the ``avro`` and ``json`` payload codecs of :mod:`dw_core.serializer`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dw_core.plugins.contracts import PayloadCodec
from dw_core.plugins.hookspecs import hookimpl

_NAMES = ("avro", "json")


@dataclass(frozen=True)
class SerializerCodec:
    """A codec implemented by :mod:`dw_core.serializer` (imported on first use)."""

    name: str

    def encode(self, value: Any) -> str:
        """Encode ``value`` with the serializer's codec ``name``."""
        from dw_core import serializer

        return serializer.encode(value, self.name)

    def decode(self, blob: str) -> Any:
        """Decode ``blob`` with the serializer's codec ``name``."""
        from dw_core import serializer

        return serializer.decode(blob, self.name)


@hookimpl
def dw_payload_codec_names() -> Iterable[str]:
    return list(_NAMES)


@hookimpl
def dw_payload_codec(name: str) -> PayloadCodec | None:
    return SerializerCodec(name) if name in _NAMES else None
