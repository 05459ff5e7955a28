"""Tolerant readers for server JSON: a missing or mistyped key becomes a default, never a crash.

The server and its fixtures disagree on details (PHP serializes an empty map as ``[]``, older servers
omit fields), so result models read every key through these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_mapping(data: object) -> Mapping[str, Any]:
    """``data`` when it is a JSON object, else an empty mapping."""
    return data if isinstance(data, Mapping) else {}


def opt_str(data: Mapping[str, Any], key: str) -> str | None:
    """A string value, or ``None`` when absent; numbers are rendered as text."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return None


def req_str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    """A string value, or ``default`` when absent."""
    value = opt_str(data, key)
    return default if value is None else value


def opt_int(data: Mapping[str, Any], key: str) -> int | None:
    """An integer value (digit strings accepted), or ``None``."""
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def req_int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    """An integer value, or ``default``."""
    value = opt_int(data, key)
    return default if value is None else value


def opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    """A boolean value, or ``None``."""
    value = data.get(key)
    return value if isinstance(value, bool) else None


def req_bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    """A boolean value, or ``default``."""
    value = opt_bool(data, key)
    return default if value is None else value


def opt_dict(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """A JSON object as a dict (PHP's empty ``[]`` counts as ``{}``), or ``None``."""
    value = data.get(key)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list) and not value:
        return {}
    return None


def opt_list(data: Mapping[str, Any], key: str) -> list[Any] | None:
    """A JSON array as a list, or ``None``."""
    value = data.get(key)
    return list(value) if isinstance(value, list) else None


def str_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings (non-strings dropped); empty when absent."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def dict_list(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of JSON objects (other items dropped); empty when absent."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [dict(item) for item in value if isinstance(item, Mapping)]


def str_map(data: Mapping[str, Any], key: str) -> dict[str, str]:
    """A ``{str: str}`` map (other entries dropped); empty when absent."""
    value = opt_dict(data, key) or {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}
