"""Search-attribute definitions: names, types, value checks and the list filter built on them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

ATTRIBUTE_TYPES = ("keyword", "text", "int", "double", "bool", "datetime", "keyword_list")
SYSTEM_ATTRIBUTES: dict[str, str] = {
    "WorkflowType": "keyword",
    "WorkflowId": "keyword",
    "RunId": "keyword",
    "Status": "keyword",
    "TaskQueue": "keyword",
    "BuildId": "keyword",
    "StartTime": "datetime",
    "CloseTime": "datetime",
}
DEFAULT_MAX_CUSTOM_ATTRIBUTES = 100
MAX_NAME_LENGTH = 128
MAX_STRING_VALUE_BYTES = 2048
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be an attribute name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "The name is required: a string starting with a letter, then letters, digits or '_'."
    if len(name) > MAX_NAME_LENGTH:
        return f"The name may have at most {MAX_NAME_LENGTH} characters."
    if not _NAME.match(name):
        return f"{name!r} is not a valid name: start with a letter, then use only letters, digits or '_'."
    return None


def type_problem(attribute_type: Any) -> str | None:
    """Why ``attribute_type`` is not a known type, or None."""
    if attribute_type not in ATTRIBUTE_TYPES:
        return f"The type must be one of: {', '.join(ATTRIBUTE_TYPES)}."
    return None


def value_problem(attribute_type: str, value: Any) -> str | None:
    """Why ``value`` does not fit a declared attribute type, or None when it does (null always fits)."""
    if value is None:
        return None
    if attribute_type in ("keyword", "text"):
        if not isinstance(value, str):
            return f"expects a string ({attribute_type})."
        if len(value.encode()) > MAX_STRING_VALUE_BYTES:
            return f"string values may be at most {MAX_STRING_VALUE_BYTES} bytes."
        return None
    if attribute_type == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "expects an integer."
    if attribute_type == "double":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "expects a finite number."
    if attribute_type == "bool":
        return None if isinstance(value, bool) else "expects true or false."
    if attribute_type == "datetime":
        return (
            None
            if isinstance(value, str) and parse_datetime(value) is not None
            else ("expects an ISO-8601 timestamp with a timezone, e.g. '2026-04-22T05:00:00Z'.")
        )
    if attribute_type == "keyword_list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return "expects a list of strings."
        if any(len(item.encode()) > MAX_STRING_VALUE_BYTES for item in value):
            return f"list items may be at most {MAX_STRING_VALUE_BYTES} bytes."
        return None
    return f"has unknown type {attribute_type!r}."


def parse_datetime(text: str) -> datetime | None:
    """An aware datetime from ISO-8601 text (``Z`` accepted), or None."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate_values(
    values: Mapping[str, Any], definitions: Mapping[str, str], field: str = "search_attributes"
) -> dict[str, list[str]]:
    """Check attribute values against declared types; undeclared names pass (the server stores them as given).

    Returns a field-path → messages map, empty when everything fits.
    """
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        declared = definitions.get(name) or SYSTEM_ATTRIBUTES.get(name)
        if declared is None:
            continue
        problem = value_problem(declared, value)
        if problem:
            errors.setdefault(f"{field}.{name}", []).append(f"Search attribute {name} ({declared}) {problem}")
    return errors


def matches_filter(attributes: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """True when a run's attributes satisfy every ``name = value`` pair of a filter.

    Values compare by type, not as text: a ``bool`` matches only ``true``/``false``, a number
    matches an equal number (``3`` = ``3.0``), a string matches its own text; a ``keyword_list``
    attribute matches when one of its items does.
    """
    attributes = attributes if isinstance(attributes, Mapping) else {}
    for name, expected in wanted.items():
        actual = attributes.get(name)
        if isinstance(actual, list) and not isinstance(expected, list):
            if not any(same_value(item, expected) for item in actual):
                return False
        elif not same_value(actual, expected):
            return False
    return True


def same_value(actual: Any, expected: Any) -> bool:
    """Typed equality of a stored attribute value and a filter value (see :func:`matches_filter`)."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, bool):
        if isinstance(expected, str):
            return expected.strip().lower() == ("true" if actual else "false")
        return isinstance(expected, bool) and expected == actual
    if isinstance(actual, (int, float)):
        if isinstance(expected, bool):
            return False
        if isinstance(expected, (int, float)):
            return bool(actual == expected)
        if isinstance(expected, str):
            try:
                return float(expected) == actual
            except ValueError:
                return False
        return False
    if isinstance(actual, str):
        if isinstance(expected, str):
            return actual == expected
        if isinstance(expected, bool):
            return actual == ("true" if expected else "false")
        if isinstance(expected, (int, float)):
            return actual == str(expected)
        return False
    return bool(actual == expected)


_CLAUSE = re.compile(
    r"""\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*=\s*(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<bare>[^\s"']+))\s*"""
)


def parse_filter_query(query: str) -> dict[str, Any] | None:
    """Parse a visibility filter such as ``CustomerId="42" AND Priority=3``.

    Returns None when the text is not in that form, so the caller can fall back to the plain
    substring match the server applies to workflow ids. Bare values are read as JSON scalars when
    they look like one (numbers, true/false).
    """
    parts = re.split(r"\s+AND\s+", query.strip(), flags=re.IGNORECASE)
    wanted: dict[str, Any] = {}
    for part in parts:
        match = _CLAUSE.fullmatch(part)
        if match is None:
            return None
        quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
        if quoted is not None:
            wanted[match.group("name")] = re.sub(r"\\(.)", r"\1", quoted)
        else:
            wanted[match.group("name")] = _bare_value(match.group("bare"))
    return wanted or None


def _bare_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def filter_runs(
    runs: Iterable[Mapping[str, Any]], wanted: Mapping[str, Any], key: str = "search_attributes"
) -> list[Mapping[str, Any]]:
    """Keep the run summaries whose ``search_attributes`` match ``wanted``."""
    return [run for run in runs if matches_filter(run.get(key), wanted)]
