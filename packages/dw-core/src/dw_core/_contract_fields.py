"""Fail-closed readers for the JSON contract documents the server publishes (private).

The external-task input and result envelopes and the auth-composition manifest are all read the same
way: every required key must be present (nullable ones as ``null``), JSON types must match (booleans
are not integers), pinned schema/version values must be exact, and every error is a typed
``ValueError`` naming the dotted path of the offending field. :class:`ContractFields` holds those
readers once; each contract module makes one bound to its own error type and message prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["ContractFieldError", "ContractFields", "artifact_example_sha256_candidates", "json_type_name"]


@dataclass(frozen=True)
class ContractFieldError(ValueError):
    """A contract document violates its schema.

    ``message`` says what is wrong; ``field`` is the dotted path of the offending field (``None`` when
    the whole document is at fault). Subclass it without ``@dataclass`` so the exception bookkeeping
    below is kept.
    """

    message: str
    field: str | None = None

    def __post_init__(self) -> None:
        # The dataclass __init__ bypasses ValueError.__init__; keep args meaningful for repr/logging.
        object.__setattr__(self, "args", (self.message,))

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException's default pickling would set attributes on a frozen instance.
        return (type(self), (self.message, self.field))


def _set_exception_attribute(self: object, name: str, value: Any) -> None:
    # Fields stay frozen, but Python's own exception bookkeeping (__traceback__, __notes__ via
    # add_note(), __cause__, ...) must keep working on a raised error.
    if name.startswith("__") and name.endswith("__"):
        ValueError.__setattr__(self, name, value)
    else:
        _frozen_setattr(self, name, value)


_frozen_setattr = ContractFieldError.__setattr__
ContractFieldError.__setattr__ = _set_exception_attribute  # type: ignore[method-assign]


def json_type_name(value: object) -> str:
    """The JSON name of ``value``'s type (``null``, ``boolean``, ``number``, ...) for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def artifact_example_sha256_candidates(example: Mapping[str, Any]) -> tuple[str, ...]:
    """The SHA-256 digests an artifact may carry for ``example``: server form first.

    The server hashes PHP ``json_encode`` output (compact, slashes unescaped, non-ASCII escaped as
    ``\\uXXXX``); the 0.4.84 SDK hashed raw UTF-8 instead. Both are the same for ASCII-only examples;
    accepting both keeps artifacts with non-ASCII text verifiable whichever side produced them.
    """
    try:
        escaped = json.dumps(example, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        raw = json.dumps(example, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"artifact example is not JSON data: {exc}") from exc
    server = hashlib.sha256(escaped.encode("ascii")).hexdigest()
    if raw == escaped:
        return (server,)
    return (server, hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


class ContractFields:
    """Field readers that raise ``error(f"{label}: ...", field=<dotted path>)``.

    Each reader takes the object, the dotted path of that object (``""`` at the top level) and the
    key to read, so every error names the full path of what it read.
    """

    def __init__(self, error: type[ContractFieldError], label: str) -> None:
        self.error = error
        self.label = label

    def fail(self, path: str | None, message: str) -> NoReturn:
        """Raise the contract's error for ``path``."""
        raise self.error(f"{self.label}: {message}", field=path)

    def present(self, obj: Mapping[str, Any], parent: str, key: str) -> Any:
        """``obj[key]``; an error when the key is missing (a nullable key must be there as ``null``)."""
        if key not in obj:
            self.fail(_join(parent, key), f"required field '{_join(parent, key)}' is missing")
        return obj[key]

    def _wrong_type(self, parent: str, key: str, expected: str, value: object) -> NoReturn:
        path = _join(parent, key)
        self.fail(path, f"field '{path}' must be {expected}, got {json_type_name(value)}")

    def json_object(self, obj: Mapping[str, Any], parent: str, key: str) -> Mapping[str, Any]:
        """A required JSON object."""
        value = self.present(obj, parent, key)
        if not isinstance(value, Mapping):
            self._wrong_type(parent, key, "an object", value)
        return value

    def nullable_object(self, obj: Mapping[str, Any], parent: str, key: str) -> Mapping[str, Any] | None:
        """A JSON object or ``null`` (the key must be present)."""
        value = self.present(obj, parent, key)
        if value is not None and not isinstance(value, Mapping):
            self._wrong_type(parent, key, "an object or null", value)
        return value

    def string(self, obj: Mapping[str, Any], parent: str, key: str, *, non_empty: bool = False) -> str:
        """A JSON string; with ``non_empty`` an identifier that may not be ``""``."""
        value = self.present(obj, parent, key)
        if not isinstance(value, str):
            self._wrong_type(parent, key, "a string", value)
        if non_empty and not value:
            path = _join(parent, key)
            self.fail(path, f"field '{path}' must be a non-empty string; it identifies the task")
        return value

    def nullable_string(self, obj: Mapping[str, Any], parent: str, key: str) -> str | None:
        """A JSON string or ``null`` (the key must be present)."""
        value = self.present(obj, parent, key)
        if value is not None and not isinstance(value, str):
            self._wrong_type(parent, key, "a string or null", value)
        return value

    def boolean(self, obj: Mapping[str, Any], parent: str, key: str) -> bool:
        """A JSON boolean."""
        value = self.present(obj, parent, key)
        if not isinstance(value, bool):
            self._wrong_type(parent, key, "a boolean", value)
        return value

    def integer(self, obj: Mapping[str, Any], parent: str, key: str) -> int:
        """A JSON integer (``true``/``false`` are not integers here)."""
        value = self.present(obj, parent, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong_type(parent, key, "an integer", value)
        return value

    def array(self, obj: Mapping[str, Any], parent: str, key: str) -> list[Any]:
        """A JSON array, as a list."""
        value = self.present(obj, parent, key)
        if not isinstance(value, (list, tuple)):
            self._wrong_type(parent, key, "an array", value)
        return list(value)

    def string_list(self, obj: Mapping[str, Any], parent: str, key: str) -> tuple[str, ...]:
        """A JSON array of strings, as a tuple."""
        value = self.present(obj, parent, key)
        path = _join(parent, key)
        if not isinstance(value, (list, tuple)):
            self.fail(path, f"field '{path}' must be a list of strings, got {json_type_name(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                found = json_type_name(item)
                self.fail(path, f"field '{path}' must contain only strings; item {index} is {found}")
        return tuple(value)

    def pinned(self, obj: Mapping[str, Any], key: str, expected: str | int) -> None:
        """A top-level value that must equal ``expected`` exactly, type included."""
        value = self.present(obj, "", key)
        # bool is an int in Python: `True == 1` must not pass for version 1.
        if isinstance(value, bool) or type(value) is not type(expected) or value != expected:
            self.fail(key, f"field '{key}' must be {expected!r}, got {value!r}; this SDK reads v1 envelopes")

    def document(self, value: object, what: str) -> Mapping[str, Any]:
        """``value`` if it is a JSON object; else an error about the whole ``what`` (no field)."""
        if not isinstance(value, Mapping):
            self.fail(None, f"the {what} must be a JSON object, got {json_type_name(value)}")
        return value

    def verified_artifact_example(
        self, artifact: object, *, prefix: str, media_type: str, schema: str, version: int
    ) -> Mapping[str, Any]:
        """The ``example`` of a cluster-info fixture artifact once name, pins and SHA-256 are checked."""
        artifact = self.document(artifact, "artifact")
        name = self.string(artifact, "", "artifact")
        if not name.startswith(prefix):
            self.fail("artifact", f"unsupported artifact {name!r}; expected a name starting with {prefix!r}")
        self.pinned(artifact, "media_type", media_type)
        self.pinned(artifact, "schema", schema)
        self.pinned(artifact, "version", version)
        example = self.json_object(artifact, "", "example")
        expected = self.string(artifact, "", "sha256").lower()
        try:
            candidates = artifact_example_sha256_candidates(example)
        except ValueError as exc:
            self.fail("example", f"artifact {name!r}: {exc}")
        if expected not in candidates:
            self.fail(
                "sha256",
                f"artifact {name!r} sha256 mismatch: artifact says {expected}, the example hashes to "
                f"{candidates[0]}; the example was altered or the artifact is corrupt",
            )
        return example
