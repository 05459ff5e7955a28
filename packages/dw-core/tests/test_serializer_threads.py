"""The codec keeps no per-call state in shared objects: concurrent use gives the same blobs."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dw_core import serializer


class YieldingDict(dict):  # type: ignore[type-arg]
    """A dict whose items() runs Python code and yields the GIL mid-encode."""

    def items(self) -> Any:
        time.sleep(0)
        return super().items()


def test_concurrent_encodes_of_one_shared_value() -> None:
    shared = YieldingDict(a=[YieldingDict(b=[1, 2.5, "ü"]) for _ in range(5)])
    expected = serializer.encode(shared)
    start = threading.Barrier(4)

    def work() -> list[str]:
        start.wait(timeout=30)
        return [serializer.encode(shared) for _ in range(30)]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # hand the GIL over often, so encodes really interleave
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [future.result(timeout=120) for future in [pool.submit(work) for _ in range(4)]]
    finally:
        sys.setswitchinterval(interval)
    assert all(blob == expected for blobs in results for blob in blobs)
    assert serializer.decode(expected, "avro") == {"a": [{"b": [1, 2.5, "ü"]}] * 5}


def test_encoder_state_survives_a_failed_encode() -> None:
    # A value that fails half-way must not poison later encodes of unrelated values.
    shared = [1, {"x": [2]}]
    for _ in range(3):
        with pytest.raises(TypeError):
            serializer.encode([shared, object()])
        assert serializer.decode(serializer.encode([shared, shared]), "avro") == [shared, shared]
