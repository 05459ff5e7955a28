"""How a client encodes the payloads it sends and decodes the ones it receives.

One place applies the client's payload settings: the Avro envelope, the size warnings, and the
external-storage offload and fetch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dw_core import serializer
from dw_core.payload_size import (
    PayloadSizeWarningConfig,
    PayloadSizeWarningContext,
    warn_if_json_payload_near_limit,
)

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver


def is_envelope(value: object) -> bool:
    """Whether ``value`` is a ``{codec, blob}`` or ``{codec, external_storage}`` payload envelope."""
    return (
        isinstance(value, Mapping) and "codec" in value and ("blob" in value or "external_storage" in value)
    )


class PayloadCodec:
    """Encodes outgoing payloads and decodes incoming ones with one client's settings."""

    def __init__(
        self,
        *,
        size_warning: PayloadSizeWarningConfig | None,
        namespace: str,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
    ) -> None:
        self.size_warning = size_warning
        self.namespace = namespace
        self.external_storage = external_storage
        self.external_storage_threshold_bytes = external_storage_threshold_bytes
        self.external_storage_cache = external_storage_cache

    def context(self, kind: str, **fields: str | None) -> PayloadSizeWarningContext:
        """A size-warning context of ``kind`` in this client's namespace."""
        return PayloadSizeWarningContext(kind=kind, namespace=self.namespace, **fields)

    def envelope(
        self,
        value: Any,
        *,
        context: PayloadSizeWarningContext | None = None,
        codec: str = serializer.AVRO_CODEC,
    ) -> dict[str, Any]:
        """Envelope ``value`` (inline, or as an external reference when it is over the threshold)."""
        if self.external_storage is not None and self.external_storage_threshold_bytes is not None:
            return serializer.external_storage_envelope(
                value,
                external_storage=self.external_storage,
                threshold_bytes=self.external_storage_threshold_bytes,
                codec=codec,
                size_warning=self.size_warning,
                warning_context=context,
            )
        return serializer.envelope(value, codec, size_warning=self.size_warning, warning_context=context)

    def envelope_args(
        self, args: Sequence[Any] | None, *, context: PayloadSizeWarningContext
    ) -> dict[str, Any]:
        """Envelope a positional argument list (``[]`` when ``args`` is ``None``)."""
        return self.envelope(list(args) if args is not None else [], context=context)

    def warn_json(self, value: Any, *, context: PayloadSizeWarningContext) -> None:
        """Size-check a value sent as plain JSON (search attributes)."""
        warn_if_json_payload_near_limit(value, size_warning=self.size_warning, warning_context=context)

    def decode(self, value: Any, codec: str | None = None) -> Any:
        """Decode an envelope, an external reference or a bare blob (``codec`` for bare blobs)."""
        return serializer.decode_envelope(
            value,
            codec,
            external_storage=self.external_storage,
            external_storage_cache=self.external_storage_cache,
        )
