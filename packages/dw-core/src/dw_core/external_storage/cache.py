"""Bounded LRU cache of verified external payload bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict

from dw_core.external_storage.reference import ExternalPayloadReference, ReferenceKey

__all__ = ["DEFAULT_CACHE_MAX_BYTES", "DEFAULT_CACHE_MAX_ENTRIES", "ExternalPayloadCache"]

DEFAULT_CACHE_MAX_ENTRIES = 128
DEFAULT_CACHE_MAX_BYTES = 16 * 1024 * 1024


def _check_limit(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


class ExternalPayloadCache:
    """LRU cache bounded both by entry count and by total bytes, keyed by the full reference identity.

    An item larger than ``max_bytes`` is never cached. Thread-safe.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_CACHE_MAX_ENTRIES,
        max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
    ) -> None:
        self.max_entries = _check_limit("max_entries", max_entries)
        self.max_bytes = _check_limit("max_bytes", max_bytes)
        self.current_bytes = 0
        self._items: OrderedDict[ReferenceKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, reference: object) -> bool:
        return isinstance(reference, ExternalPayloadReference) and reference.key in self._items

    def get(self, reference: ExternalPayloadReference) -> bytes | None:
        """Cached bytes for ``reference`` (marking them recently used), or ``None``."""
        with self._lock:
            data = self._items.get(reference.key)
            if data is not None:
                self._items.move_to_end(reference.key)
            return data

    def put(self, reference: ExternalPayloadReference, data: bytes) -> None:
        """Cache ``data`` for ``reference``, evicting least recently used items to fit the limits."""
        size = len(data)
        with self._lock:
            self._pop(reference.key)
            if size > self.max_bytes:
                return
            self._items[reference.key] = bytes(data)
            self.current_bytes += size
            while len(self._items) > self.max_entries or self.current_bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self.current_bytes -= len(evicted)

    def discard(self, reference: ExternalPayloadReference) -> None:
        """Forget ``reference`` if cached."""
        with self._lock:
            self._pop(reference.key)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self.current_bytes = 0

    def _pop(self, key: ReferenceKey) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.current_bytes -= len(old)
