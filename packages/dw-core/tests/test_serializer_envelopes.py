"""Envelopes, batch helpers and external-storage references, end to end with the local driver."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from dw_core import serializer
from dw_core.external_storage import (
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    LocalFilesystemExternalStorage,
)
from dw_core.payload_errors import (
    ExternalPayloadReferenceError,
    InvalidPayloadJsonError,
    PayloadEncodeError,
    UnsupportedPayloadCodecError,
)


class CountingDriver(LocalFilesystemExternalStorage):
    """The real local driver, counting fetches to observe the cache."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gets = 0

    def get(self, uri: str) -> bytes:
        self.gets += 1
        return super().get(uri)


@pytest.fixture
def driver(tmp_path: Path) -> CountingDriver:
    return CountingDriver(tmp_path / "payloads")


def test_envelope_codec_overrides_the_contextual_codec() -> None:
    assert serializer.decode_envelope({"codec": "json", "blob": "[1]"}, "avro") == [1]
    assert serializer.decode_envelope({"codec": "avro", "blob": "AAZbMV0C"}, "json") == [1]
    # Codec missing or null in the envelope: the contextual codec applies.
    assert serializer.decode_envelope({"codec": None, "blob": "AAZbMV0C"}, "avro") == [1]
    # A bare blob uses the contextual codec, and JSON when there is none.
    assert serializer.decode_envelope("AAZbMV0C", "avro") == [1]
    assert serializer.decode_envelope("[1]") == [1]
    assert serializer.decode_envelope(None) is None


def test_decode_envelopes_keeps_order_across_codecs() -> None:
    values = [
        {"codec": "json", "blob": '"a"'},
        serializer.encode("b"),  # bare blob: codec from context
        {"codec": "avro", "blob": serializer.encode("c")},
        None,
    ]
    assert serializer.decode_envelopes(values, "avro") == ["a", "b", "c", None]


def test_batch_helpers() -> None:
    assert serializer.encode_many([1, "x"]) == [serializer.encode(1), serializer.encode("x")]
    assert serializer.envelope_many([1], "json") == [{"codec": "json", "blob": "1"}]
    assert serializer.decode_many(["1", None, ""], "json") == [1, None, None]
    assert serializer.encode_many([]) == []
    with pytest.raises(ValueError, match="count must match"):
        serializer.encode_many([1, 2], warning_context=[None])


def test_small_payload_stays_inline(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope([1, 2], external_storage=driver, threshold_bytes=1024)
    assert env == serializer.envelope([1, 2])
    assert not any(driver.root.rglob("*"))


def test_large_payload_is_offloaded_and_fetched_back_verified(driver: CountingDriver) -> None:
    value = {"text": "ü" * 500}
    blob = serializer.encode(value)
    env = serializer.external_storage_envelope(value, external_storage=driver, threshold_bytes=100)
    assert set(env) == {"codec", "external_storage"} and env["codec"] == "avro"
    ref = env["external_storage"]
    # The stored object is the blob text as UTF-8, hashed and sized as such.
    assert ref["schema"] == "durable-workflow.v2.external-payload-reference.v1"
    assert ref["size_bytes"] == len(blob.encode("utf-8"))
    assert ref["sha256"] == hashlib.sha256(blob.encode("utf-8")).hexdigest()
    assert ref["codec"] == "avro"
    assert ref["uri"].startswith("file://")
    assert serializer.decode_envelope(env, "json", external_storage=driver) == value


def test_threshold_is_inclusive_and_json_codec_offloads_too(driver: CountingDriver) -> None:
    blob = serializer.encode(["abc"], "json")
    size = len(blob.encode("utf-8"))
    inline = serializer.external_storage_envelope(
        ["abc"], external_storage=driver, threshold_bytes=size, codec="json"
    )
    assert inline == {"codec": "json", "blob": blob}
    stored = serializer.external_storage_envelope(
        ["abc"], external_storage=driver, threshold_bytes=size - 1, codec="json"
    )
    assert stored["external_storage"]["codec"] == "json"
    assert serializer.decode_envelope(stored, external_storage=driver) == ["abc"]


def test_external_storage_envelope_many(driver: CountingDriver) -> None:
    envs = serializer.external_storage_envelope_many(
        ["x", "y" * 200], external_storage=driver, threshold_bytes=50
    )
    assert "blob" in envs[0] and "external_storage" in envs[1]
    assert serializer.decode_envelopes(envs, external_storage=driver) == ["x", "y" * 200]


@pytest.mark.parametrize("threshold", [0, -1, True, 1.5, None])
def test_bad_threshold_is_refused(driver: CountingDriver, threshold: Any) -> None:
    with pytest.raises(PayloadEncodeError, match="threshold_bytes"):
        serializer.external_storage_envelope(1, external_storage=driver, threshold_bytes=threshold)


def test_cache_serves_verified_bytes(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    cache = ExternalPayloadCache()
    for _ in range(3):
        assert (
            serializer.decode_envelope(env, external_storage=driver, external_storage_cache=cache)
            == "z" * 300
        )
    assert driver.gets == 1 and len(cache) == 1


def test_reference_without_driver_is_refused(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    with pytest.raises(ExternalPayloadReferenceError, match="requires an external storage driver"):
        serializer.decode_envelope(env)


def test_codec_mismatch_between_envelope_and_reference(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    env["codec"] = "json"
    with pytest.raises(ExternalPayloadReferenceError, match="does not match its reference codec"):
        serializer.decode_envelope(env, external_storage=driver)


def test_malformed_reference_is_a_typed_error(driver: CountingDriver) -> None:
    with pytest.raises(ExternalPayloadReferenceError, match="schema"):
        serializer.decode_envelope(
            {"codec": "avro", "external_storage": {"uri": "x"}}, external_storage=driver
        )


def test_tampered_object_fails_integrity_and_is_not_cached(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    path = Path(env["external_storage"]["uri"].removeprefix("file://"))
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(data[:-2] + b"A=")  # same size, different bytes
    cache = ExternalPayloadCache()
    with pytest.raises(ExternalPayloadIntegrityError):
        serializer.decode_envelope(env, external_storage=driver, external_storage_cache=cache)
    assert len(cache) == 0


def test_reference_with_unknown_codec(driver: CountingDriver) -> None:
    env = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    ref = dict(env["external_storage"], codec="xml")
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.decode_envelope({"external_storage": ref}, external_storage=driver)


def test_stored_bytes_that_are_not_the_codec_fail_to_decode(driver: CountingDriver) -> None:
    # A reference honestly describing bytes that are not a json blob.
    ref = serializer.external_storage_envelope("z" * 300, external_storage=driver, threshold_bytes=10)
    avro_ref = ref["external_storage"]
    json_ref = dict(avro_ref, codec="json")
    with pytest.raises(InvalidPayloadJsonError):
        serializer.decode_envelope({"external_storage": json_ref}, external_storage=driver)
