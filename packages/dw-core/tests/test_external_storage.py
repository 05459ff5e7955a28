"""External storage core, exercised with the real local filesystem driver in a temp directory."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from dw_core.external_storage import (
    EXTERNAL_PAYLOAD_REFERENCE_SCHEMA,
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalPayloadReference,
    ExternalStorageDriver,
    LocalFilesystemExternalStorage,
    delete_external_payload,
    fetch_external_payload,
    payload_object_key,
    store_external_payload,
)
from hypothesis import given, settings
from hypothesis import strategies as st

SHA = "a" * 64


def _ref(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": EXTERNAL_PAYLOAD_REFERENCE_SCHEMA,
        "uri": "file:///tmp/x",
        "sha256": SHA,
        "size_bytes": 5,
        "codec": "avro",
    }
    data.update(overrides)
    return data


# -- reference validation ----------------------------------------------------------------------------


def test_reference_round_trips_and_omits_unset_expiry() -> None:
    ref = ExternalPayloadReference.from_dict(_ref())
    assert ref.to_dict() == _ref()
    with_expiry = ExternalPayloadReference.from_dict(_ref(expires_at="2026-01-31T12:00:00Z"))
    assert with_expiry.to_dict()["expires_at"] == "2026-01-31T12:00:00Z"


def test_reference_lowercases_digest_so_verification_matches() -> None:
    assert ExternalPayloadReference.from_dict(_ref(sha256="AB" * 32)).sha256 == "ab" * 32


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (["not", "an", "object"], "object"),
        ("text", "object"),
        (_ref(schema="durable-workflow.v2.external-payload-reference.v2"), "schema"),
        ({k: v for k, v in _ref().items() if k != "schema"}, "schema"),
        (_ref(uri=""), "uri"),
        (_ref(uri="   "), "uri"),
        (_ref(uri=42), "uri"),
        (_ref(sha256="a" * 63), "sha256"),
        (_ref(sha256="g" * 64), "sha256"),
        (_ref(sha256=None), "sha256"),
        (_ref(size_bytes=-1), "size_bytes"),
        (_ref(size_bytes=1.5), "size_bytes"),
        (_ref(size_bytes="5"), "size_bytes"),
        (_ref(size_bytes=True), "size_bytes"),
        (_ref(codec=""), "codec"),
        (_ref(codec=None), "codec"),
        (_ref(expires_at="2026-01-31T12:00:00"), "timezone"),
        (_ref(expires_at="tomorrow"), "RFC 3339"),
        (_ref(expires_at="2026-02-30T12:00:00Z"), "expires_at"),
        (_ref(expires_at=20260131), "expires_at"),
    ],
)
def test_reference_rejects_each_invalid_field(data: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ExternalPayloadReference.from_dict(data)


@pytest.mark.parametrize(
    "value", ["2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123456+02:00", "2026-01-31t12:00:00-05:30"]
)
def test_reference_accepts_rfc3339_with_offsets(value: str) -> None:
    assert ExternalPayloadReference.from_dict(_ref(expires_at=value)).expires_at == value


# -- object keys ---------------------------------------------------------------------------------------


def test_object_key_layout_and_prefix_safety() -> None:
    assert payload_object_key(codec="avro", sha256=SHA) == f"avro/aa/{SHA}"
    assert payload_object_key(codec="avro", sha256=SHA, prefix="billing/") == f"billing/avro/aa/{SHA}"
    for bad_prefix in ("a/../b", "./x", "a//b"):
        with pytest.raises(ValueError, match="prefix"):
            payload_object_key(codec="avro", sha256=SHA, prefix=bad_prefix)
    for bad_codec in ("../avro", "a/b", "", ".."):
        with pytest.raises(ValueError, match="codec"):
            payload_object_key(codec=bad_codec, sha256=SHA)


# -- local driver ----------------------------------------------------------------------------------------


def test_local_driver_satisfies_protocol_and_creates_root(tmp_path: Path) -> None:
    root = tmp_path / "nested" / "store"
    driver = LocalFilesystemExternalStorage(root)
    assert isinstance(driver, ExternalStorageDriver)
    assert driver.root == root.resolve() and root.is_dir()


def test_store_fetch_delete_round_trip(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    data = b"QUJD" * 1000
    ref = store_external_payload(driver, data, codec="avro", expires_at="2030-01-01T00:00:00Z")
    digest = hashlib.sha256(data).hexdigest()
    assert (ref.sha256, ref.size_bytes, ref.codec) == (digest, len(data), "avro")
    stored = tmp_path.resolve() / "avro" / digest[:2] / digest
    assert ref.uri == stored.as_uri() and stored.read_bytes() == data
    assert fetch_external_payload(driver, ref) == data
    assert fetch_external_payload(driver, ref.to_dict()) == data  # wire dicts accepted too
    delete_external_payload(driver, ref)
    assert not stored.exists()
    delete_external_payload(driver, ref)  # idempotent
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_external_payload(driver, ref)


def test_local_driver_is_write_once(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    first = store_external_payload(driver, b"same", codec="json")
    second = store_external_payload(driver, b"same", codec="json")
    assert first == second
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/avro/aa/" + SHA,
        "gs://bucket/key",
        "http://example.com/avro",
        "/plain/path/without/scheme",
        "file://remote-host/tmp/x",
    ],
)
def test_local_driver_refuses_non_local_file_uris(tmp_path: Path, uri: str) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    with pytest.raises(ValueError):
        driver.get(uri)
    with pytest.raises(ValueError):
        driver.delete(uri)


def test_local_driver_refuses_paths_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    driver = LocalFilesystemExternalStorage(root)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"top secret")
    for uri in (secret.as_uri(), (root / ".." / "secret.txt").as_uri(), root.resolve().as_uri()):
        with pytest.raises(ValueError, match="outside the storage root"):
            driver.get(uri)
        with pytest.raises(ValueError, match="outside the storage root"):
            driver.delete(uri)
    assert secret.read_bytes() == b"top secret"


def test_local_driver_refuses_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    driver = LocalFilesystemExternalStorage(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_bytes(b"x")
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the storage root"):
        driver.get((root / "link" / "f").as_uri())


# -- integrity ------------------------------------------------------------------------------------------


def test_tampered_content_fails_hash_check_and_is_not_cached(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    ref = store_external_payload(driver, b"original-bytes", codec="avro")
    path = Path(ref.uri.removeprefix("file://"))
    path.write_bytes(b"tampered-bytes")  # same length, different content
    cache = ExternalPayloadCache()
    with pytest.raises(ExternalPayloadIntegrityError, match="SHA-256") as info:
        fetch_external_payload(driver, ref, cache=cache)
    assert info.value.reference == ref
    assert isinstance(info.value, ValueError)
    assert len(cache) == 0


def test_truncated_content_fails_size_check(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    ref = store_external_payload(driver, b"0123456789", codec="avro")
    Path(ref.uri.removeprefix("file://")).write_bytes(b"01234")
    with pytest.raises(ExternalPayloadIntegrityError, match="5 bytes but its reference says 10"):
        fetch_external_payload(driver, ref)


def test_driver_returning_non_bytes_is_an_integrity_error() -> None:
    class TextDriver:
        def put(self, data: bytes, *, sha256: str, codec: str) -> str:
            return "mem://x"

        def get(self, uri: str) -> bytes:
            return "text"  # type: ignore[return-value]

        def delete(self, uri: str) -> None:
            return None

    ref = ExternalPayloadReference(uri="mem://x", sha256=SHA, size_bytes=4, codec="avro")
    with pytest.raises(ExternalPayloadIntegrityError, match="expected bytes"):
        fetch_external_payload(TextDriver(), ref)


def test_store_validates_inputs(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    with pytest.raises(TypeError, match="bytes"):
        store_external_payload(driver, "text", codec="avro")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone"):
        store_external_payload(driver, b"x", codec="avro", expires_at="2030-01-01T00:00:00")
    with pytest.raises(ValueError, match="codec"):
        store_external_payload(driver, b"x", codec="../etc")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing stored on bad input


def test_cache_hit_skips_the_driver(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    cache = ExternalPayloadCache()
    ref = store_external_payload(driver, b"cached", codec="avro")
    assert fetch_external_payload(driver, ref, cache=cache) == b"cached"
    Path(ref.uri.removeprefix("file://")).unlink()
    assert fetch_external_payload(driver, ref, cache=cache) == b"cached"
    delete_external_payload(driver, ref, cache=cache)
    assert ref not in cache


# -- cache --------------------------------------------------------------------------------------------------


def _r(n: int, size: int = 1, codec: str = "avro") -> ExternalPayloadReference:
    return ExternalPayloadReference(uri=f"mem://{n}", sha256=f"{n:064x}", size_bytes=size, codec=codec)


def test_cache_defaults_and_limit_validation() -> None:
    cache = ExternalPayloadCache()
    assert (cache.max_entries, cache.max_bytes, cache.current_bytes) == (128, 16 * 1024 * 1024, 0)
    for kwargs in ({"max_entries": 0}, {"max_bytes": 0}, {"max_entries": 1.5}, {"max_bytes": True}):
        with pytest.raises(ValueError):
            ExternalPayloadCache(**kwargs)  # type: ignore[arg-type]


def test_cache_evicts_least_recently_used_by_entries() -> None:
    cache = ExternalPayloadCache(max_entries=2)
    cache.put(_r(1), b"a")
    cache.put(_r(2), b"b")
    assert cache.get(_r(1)) == b"a"  # 1 is now most recent
    cache.put(_r(3), b"c")
    assert cache.get(_r(2)) is None
    assert cache.get(_r(1)) == b"a" and cache.get(_r(3)) == b"c"
    assert len(cache) == 2


def test_cache_evicts_by_bytes_and_skips_oversized_items() -> None:
    cache = ExternalPayloadCache(max_entries=100, max_bytes=10)
    cache.put(_r(1), b"1234")
    cache.put(_r(2), b"5678")
    assert cache.current_bytes == 8
    cache.put(_r(3), b"abcd")  # 12 > 10: evict LRU (1)
    assert cache.get(_r(1)) is None and cache.current_bytes == 8
    cache.put(_r(4), b"x" * 11)  # bigger than the whole budget: not cached, nothing evicted
    assert cache.get(_r(4)) is None and len(cache) == 2 and cache.current_bytes == 8
    cache.put(_r(2), b"22")  # replacing an entry adjusts the byte count
    assert cache.current_bytes == 6
    cache.discard(_r(2))
    assert cache.current_bytes == 4
    cache.clear()
    assert len(cache) == 0 and cache.current_bytes == 0


def test_cache_key_is_full_reference_identity() -> None:
    cache = ExternalPayloadCache()
    cache.put(_r(1, codec="avro"), b"avro-bytes")
    assert cache.get(_r(1, codec="json")) is None
    assert cache.get(_r(1, size=2)) is None
    assert cache.get(_r(1)) == b"avro-bytes"


def test_cache_byte_accounting_survives_concurrent_use() -> None:
    cache = ExternalPayloadCache(max_entries=50, max_bytes=400)

    def churn(offset: int) -> None:
        for i in range(500):
            ref = _r(offset * 1000 + i % 80)
            cache.put(ref, b"z" * (i % 13 + 1))
            cache.get(_r(offset * 1000 + (i * 7) % 80))

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(cache) <= 50 and cache.current_bytes <= 400
    every_ref = [_r(n * 1000 + i) for n in range(4) for i in range(80)]
    assert cache.current_bytes == sum(len(cache.get(ref) or b"") for ref in every_ref)


# -- interoperability with the published SDK ---------------------------------------------------------------

REPO = Path(__file__).resolve().parents[3]


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


_REFERENCE_SCRIPT = """
import json, sys
from durable_workflow.external_storage import (
    ExternalPayloadReference, LocalFilesystemExternalStorage, fetch_external_payload, store_external_payload,
)
job = json.load(sys.stdin)
driver = LocalFilesystemExternalStorage(job["root"])
stored = store_external_payload(driver, job["data"].encode(), codec="avro").to_dict()
read_back = fetch_external_payload(driver, ExternalPayloadReference.from_dict(job["ours"])).decode()
verdicts = []
for candidate in job["candidates"]:
    try:
        ExternalPayloadReference.from_dict(candidate)
        verdicts.append(True)
    except ValueError:
        verdicts.append(False)
print(json.dumps({"stored": stored, "read_back": read_back, "verdicts": verdicts}))
"""

_CANDIDATES: list[Any] = [
    _ref(),
    _ref(expires_at="2026-01-31T12:00:00Z"),
    _ref(expires_at="2026-01-31T12:00:00+05:30"),
    _ref(expires_at="2026-01-31T12:00:00"),
    _ref(expires_at="nope"),
    _ref(schema="other"),
    _ref(uri=""),
    _ref(sha256="a" * 63),
    _ref(sha256="z" * 64),
    _ref(size_bytes=-1),
    _ref(size_bytes="5"),
    _ref(codec=""),
    ["list"],
]


@pytest.mark.reference_sdk
def test_payloads_cross_read_with_the_published_sdk(tmp_path: Path) -> None:
    driver = LocalFilesystemExternalStorage(tmp_path)
    ours = store_external_payload(driver, b"written by dw-core", codec="avro")
    job = {
        "root": str(tmp_path),
        "data": "written by 0.4.84",
        "ours": ours.to_dict(),
        "candidates": _CANDIDATES,
    }
    result = subprocess.run(
        [_reference_python(), "-c", _REFERENCE_SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Same layout and URIs: a payload the published SDK stored is readable here, and the reverse.
    assert report["read_back"] == "written by dw-core"
    theirs = ExternalPayloadReference.from_dict(report["stored"])
    assert fetch_external_payload(driver, theirs) == b"written by 0.4.84"
    assert theirs.uri.startswith(tmp_path.resolve().as_uri() + "/avro/")
    # Same validation verdicts on the wire form.
    ours_verdicts = []
    for candidate in _CANDIDATES:
        try:
            ExternalPayloadReference.from_dict(candidate)
            ours_verdicts.append(True)
        except ValueError:
            ours_verdicts.append(False)
    assert ours_verdicts == report["verdicts"]


@settings(max_examples=150, deadline=None)
@given(
    max_entries=st.integers(min_value=1, max_value=6),
    max_bytes=st.integers(min_value=1, max_value=40),
    operations=st.lists(
        st.tuples(st.sampled_from(["put", "get", "discard"]), st.integers(0, 9), st.integers(0, 20)),
        max_size=60,
    ),
)
def test_cache_invariants_hold_for_any_operation_sequence(
    max_entries: int, max_bytes: int, operations: list[tuple[str, int, int]]
) -> None:
    cache = ExternalPayloadCache(max_entries=max_entries, max_bytes=max_bytes)
    model: dict[int, bytes] = {}  # what a correct cache may still hold
    for op, n, size in operations:
        if op == "put":
            cache.put(_r(n), bytes([n]) * size)
            model[n] = bytes([n]) * size
        elif op == "get":
            got = cache.get(_r(n))
            assert got is None or got == model.get(n)  # never stale or foreign bytes
        else:
            cache.discard(_r(n))
            model.pop(n, None)
        held = {i: cache.get(_r(i)) for i in range(10)}
        assert len(cache) <= max_entries
        assert cache.current_bytes <= max_bytes
        assert cache.current_bytes == sum(len(v) for v in held.values() if v is not None)
    if operations and operations[-1][0] == "put" and operations[-1][2] <= max_bytes:
        assert cache.get(_r(operations[-1][1])) is not None  # the newest fitting item is kept
