"""Shapes of the objects plugins hand back, beyond those defined in their own modules."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["PayloadCodec"]


@runtime_checkable
class PayloadCodec(Protocol):
    """Turns one value into a wire blob and back (the codec named ``name`` in envelopes)."""

    @property
    def name(self) -> str:
        """The codec name used in envelopes (``{"codec": name, ...}``)."""
        ...

    def encode(self, value: Any) -> str:
        """Encode ``value`` to blob text."""
        ...

    def decode(self, blob: str) -> Any:
        """Decode blob text back to a value."""
        ...
