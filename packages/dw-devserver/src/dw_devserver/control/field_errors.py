"""Collects per-field validation messages the way the 422 ``validation_failed`` envelope reports them."""

from __future__ import annotations


class FieldErrors(Exception):
    """One or more request fields are invalid; ``errors`` maps field path to messages."""

    def __init__(self, errors: dict[str, list[str]] | None = None) -> None:
        self.errors: dict[str, list[str]] = dict(errors or {})
        super().__init__(self.summary())

    def add(self, field: str, message: str) -> None:
        """Record one more problem with ``field``."""
        self.errors.setdefault(field, []).append(message)

    def merge(self, other: FieldErrors, prefix: str = "") -> None:
        """Fold another collector's messages in, optionally under a field prefix."""
        for field, messages in other.errors.items():
            for message in messages:
                self.add(f"{prefix}{field}", message)

    def raise_if_any(self) -> None:
        """Raise ``self`` when at least one message was recorded."""
        if self.errors:
            self.args = (self.summary(),)
            raise self

    def summary(self) -> str:
        """The first message, as the envelope's top-level ``message``."""
        for messages in self.errors.values():
            if messages:
                extra = sum(len(m) for m in self.errors.values()) - 1
                return messages[0] + (f" (and {extra} more error{'s' if extra > 1 else ''})" if extra else "")
        return "The given data was invalid."

    @classmethod
    def single(cls, field: str, message: str) -> FieldErrors:
        """A collector holding exactly one message."""
        return cls({field: [message]})
