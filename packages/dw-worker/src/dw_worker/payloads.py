"""How the worker decodes and encodes task payloads: codec choice and external storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dw_core import serializer

SUPPORTED_TASK_CODECS = ("avro", "json")


class UnsupportedTaskCodec(ValueError):
    """A task names a payload codec this worker cannot decode; it is failed before user code runs."""


def resolve_task_codec(raw: Any) -> str:
    """The codec a task's payloads use; an absent codec means ``avro`` (never ``json``, see 0.4.84 quirk)."""
    if raw is None or raw == "":
        return "avro"
    if not isinstance(raw, str) or raw not in SUPPORTED_TASK_CODECS:
        raise UnsupportedTaskCodec(
            f"task payload codec {raw!r} is not supported by this worker (supported: "
            f"{', '.join(SUPPORTED_TASK_CODECS)}); configure the server/namespace to use 'avro'"
        )
    return raw


@dataclass(frozen=True)
class PayloadOptions:
    """External-storage settings the worker applies to what it decodes and what it sends."""

    external_storage: Any = None
    external_storage_threshold_bytes: int | None = None
    external_storage_cache: Any = None

    def decode(self, value: Any, codec: str | None) -> Any:
        """Decode an envelope, a raw blob in ``codec``, or an external-storage reference."""
        return serializer.decode_envelope(
            value,
            codec,
            external_storage=self.external_storage,
            external_storage_cache=self.external_storage_cache,
        )

    def storage_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for client calls that may offload large outgoing payloads."""
        if self.external_storage is None or self.external_storage_threshold_bytes is None:
            return {}
        return {
            "external_storage": self.external_storage,
            "external_storage_threshold_bytes": self.external_storage_threshold_bytes,
        }
