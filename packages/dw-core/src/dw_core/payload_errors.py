"""Typed errors raised by the payload codecs.

Every class derives from :class:`PayloadCodecError`, itself a :class:`ValueError`, so code written
against the published SDK (``except ValueError``) keeps working while new code can catch exactly
the failure it cares about. Each message says what went wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AvroRecordTruncatedError",
    "ExternalPayloadReferenceError",
    "InvalidAvroRecordError",
    "InvalidBase64PayloadError",
    "InvalidPayloadJsonError",
    "PayloadCodecError",
    "PayloadDecodeError",
    "PayloadEncodeError",
    "PayloadNotJsonSafeError",
    "TypedAvroSchemaUnsupportedError",
    "UnknownAvroPrefixError",
    "UnsupportedPayloadCodecError",
]

#: How much of an offending payload an error keeps for diagnostics.
PAYLOAD_HEAD_CHARS = 128


class PayloadCodecError(ValueError):
    """Base class of every codec failure (encode or decode)."""

    def __init__(self, message: str, *, codec: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.codec = codec


class UnsupportedPayloadCodecError(PayloadCodecError):
    """A codec name that this SDK cannot encode or decode (e.g. a PHP-only codec or a typo)."""


class PayloadEncodeError(PayloadCodecError):
    """A value could not be turned into a payload blob."""


class PayloadNotJsonSafeError(PayloadEncodeError, TypeError):
    """The value is not plain JSON data (``datetime``, ``bytes``, ``NaN``, lone surrogates, ...).

    Also a :class:`TypeError`, as ``json.dumps`` raises for unsupported types, so existing
    ``except TypeError`` handlers keep catching it.
    """


class PayloadDecodeError(PayloadCodecError):
    """A blob could not be decoded; ``payload_head`` keeps the start of the offending text."""

    def __init__(self, message: str, *, codec: str | None = None, payload_head: str | None = None) -> None:
        super().__init__(message, codec=codec)
        self.payload_head = payload_head


class InvalidBase64PayloadError(PayloadDecodeError):
    """An Avro blob is not valid standard base64 (alphabet ``+/`` with ``=`` padding)."""


class UnknownAvroPrefixError(PayloadDecodeError):
    """The decoded bytes do not start with a known Avro payload prefix byte."""


class TypedAvroSchemaUnsupportedError(UnknownAvroPrefixError):
    """A typed-schema Avro payload (prefix ``0x01``), which only PHP runtimes produce."""


class InvalidAvroRecordError(PayloadDecodeError):
    """The Avro generic-wrapper record is malformed (bad varint, negative length, trailing bytes...)."""


class AvroRecordTruncatedError(InvalidAvroRecordError):
    """The Avro record ends before all of its fields were read."""


class InvalidPayloadJsonError(PayloadDecodeError):
    """The JSON text (a ``json`` blob or the Avro record's ``json`` field) is not valid JSON."""


class ExternalPayloadReferenceError(PayloadDecodeError):
    """An ``external_storage`` envelope cannot be resolved (no driver, codec mismatch, bad shape)."""
