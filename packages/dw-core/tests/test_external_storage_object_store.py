"""The object-store layout and policy logic the S3, GCS and Azure plugins share, without any store.

The plugin under test here builds the real local filesystem driver, so resolution is exercised end to
end through ``external_storage_driver_from_policy`` and the plugin manager.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    LocalFilesystemExternalStorage,
    ObjectStoreDriverPlugin,
    ObjectStoreLayout,
    delete_ignoring_missing,
    downloaded_bytes,
    fetch_external_payload,
    policy_error,
    read_object_bytes,
    store_external_payload,
)
from dw_core.plugins import create_plugin_manager, external_storage_driver

LAYOUT = ObjectStoreLayout(scheme="mem", provider="Memory", driver="mem")


def test_object_uri_and_key_round_trip() -> None:
    uri = LAYOUT.object_uri("b1", "tenant/avro/ab/" + "ab" * 32)
    assert uri == "mem://b1/tenant/avro/ab/" + "ab" * 32
    assert LAYOUT.key_from_uri(uri, container="b1", prefix="tenant") == "tenant/avro/ab/" + "ab" * 32


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (5, "URI must be a string, got int"),
        (
            "s3://b1/x",
            r"Memory external storage only reads mem:// URIs, got 's3://b1/x'; .*local, s3, gcs, azure",
        ),
        ("mem://b2/tenant/x", "targets bucket 'b2', but this driver is configured for bucket 'b1'"),
        ("mem://b1/other/x", "outside the configured prefix 'tenant'"),
        ("mem://b1/tenant/../x", "unsafe object key"),
        ("mem://b1/tenant//x", "unsafe object key"),
        ("mem://b1/tenant/\x7fx", "unsafe object key"),
        ("mem://b1", "unsafe object key"),
    ],
)
def test_untrusted_uris_are_refused(uri: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LAYOUT.key_from_uri(uri, container="b1", prefix="tenant")


def test_container_kind_and_name_rules_reach_the_messages() -> None:
    layout = ObjectStoreLayout(
        scheme="box", provider="Box", driver="s3", container_kind="container", name_hint="lowercase"
    )
    assert layout.check_container_name("c-1.x_y") == "c-1.x_y"
    for bad in ["", "box://c1", "c1/x", "has space", "-c1", None]:
        with pytest.raises(
            ValueError, match=r"invalid Box container name .*bare container name \(lowercase\)"
        ):
            layout.check_container_name(bad)
    with pytest.raises(ValueError, match=r"\(local, gcs, azure\)"):
        layout.key_from_uri("x://c1/k", container="c1", prefix="")


def test_downloaded_bytes_accepts_buffers_and_refuses_text() -> None:
    assert downloaded_bytes(bytearray(b"ab"), uri="mem://b/k", provider="Memory") == b"ab"
    assert downloaded_bytes(memoryview(b"ab"), uri="mem://b/k", provider="Memory") == b"ab"
    with pytest.raises(ValueError, match="Memory download of mem://b/k returned str, expected bytes"):
        downloaded_bytes("ab", uri="mem://b/k", provider="Memory")


def _from_reference(reference: str) -> str:
    if reference.startswith(LAYOUT.uri_lead):
        return reference[len(LAYOUT.uri_lead) :].split("/", 1)[0]
    if "/" in reference:
        raise policy_error("mem", f"reference {reference!r} is not a bucket")
    return reference


class _LocalInBucket(LocalFilesystemExternalStorage):
    """The real local driver, rooted in a directory per bucket, standing in for an object store."""

    def __init__(self, root: Path, *, bucket: str, prefix: str) -> None:
        super().__init__(root / bucket)
        self.bucket, self.prefix = bucket, prefix


PLUGIN = ObjectStoreDriverPlugin(
    driver_names=("mem", "memory"),
    layout=LAYOUT,
    container_config_keys=("container", "bucket"),
    container_from_reference=_from_reference,
    reference_examples="mem://bucket",
    client_option="mem_root",
    client_description="memory root",
    client_example="Path(...)",
    build=lambda root, bucket, prefix: _LocalInBucket(root, bucket=bucket, prefix=prefix),
)


def _policy(**fields: Any) -> ExternalPayloadStoragePolicy:
    return ExternalPayloadStoragePolicy.from_dict({"driver": "mem", **fields})


@pytest.mark.parametrize(
    ("fields", "container"),
    [
        ({"config": {"container": "c1", "bucket": "not-this"}}, "c1"),
        ({"config": {"container": "", "bucket": "b1"}}, "b1"),
        ({"config": {"bucket": "b1"}, "reference": "mem://not-this"}, "b1"),
        ({"reference": "mem://r1/ignored"}, "r1"),
        ({"reference": "r1"}, "r1"),
    ],
)
def test_container_resolution_order(fields: dict[str, Any], container: str) -> None:
    assert PLUGIN.container_from_policy(_policy(**fields)) == container


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {},
            "invalid mem external payload storage policy: set config.container, or a reference such as mem://",
        ),
        ({"config": {"container": 5}}, "config.container must be a string, got int"),
        ({"config": {"bucket": ["b"]}}, "config.bucket must be a string, got list"),
        ({"reference": "a/b"}, "invalid mem external payload storage policy: reference 'a/b' is not"),
        ({"reference": "mem://"}, "invalid mem external payload storage policy: invalid Memory bucket name"),
    ],
)
def test_unusable_policies_are_value_errors_naming_the_driver(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PLUGIN.container_from_policy(_policy(**fields))


def test_driver_resolves_through_the_plugin_manager(tmp_path: Path) -> None:
    manager = create_plugin_manager(load_entry_points=False)
    manager.register(PLUGIN, name="mem-test")  # the plugin object carries the hook implementations
    policy = _policy(config={"container": "c1", "prefix": "/t/"})

    driver = external_storage_driver(
        "memory", policy=policy, options={"mem_root": tmp_path}, plugin_manager=manager
    )

    assert isinstance(driver, _LocalInBucket)
    # The prefix reaches the driver as the policy has it; each driver normalizes it.
    assert (driver.bucket, driver.prefix) == ("c1", "/t/")
    ref = store_external_payload(driver, b"payload", codec="avro")
    assert fetch_external_payload(driver, ref) == b"payload"
    assert hashlib.sha256(b"payload").hexdigest() in ref.uri
    assert list(PLUGIN.dw_external_storage_driver_names()) == ["mem", "memory"]
    assert PLUGIN.dw_external_storage_driver("other", _policy(), {"mem_root": tmp_path}) is None
    needs_root = (
        r"the memory external storage driver needs the application's memory root: "
        r"pass mem_root=Path\(...\) to external_storage_driver_from_policy\(\)"
    )
    with pytest.raises(ValueError, match=needs_root):
        external_storage_driver("memory", policy=policy, options={}, plugin_manager=manager)


def test_a_build_value_error_is_reported_as_a_policy_error(tmp_path: Path) -> None:
    def refuse(root: Any, bucket: str, prefix: str) -> Any:
        raise ValueError("client is for another bucket")

    plugin = ObjectStoreDriverPlugin(**{**PLUGIN.__dict__, "build": refuse})
    with pytest.raises(
        ValueError, match="invalid mem external payload storage policy: client is for another"
    ):
        plugin.dw_external_storage_driver("mem", _policy(config={"bucket": "b1"}), {"mem_root": tmp_path})


class _Missing(Exception):
    status = 404


def _is_missing(exc: BaseException) -> bool:
    return getattr(exc, "status", None) == 404


def _raise(exc: Exception) -> Any:
    raise exc


def test_read_object_bytes_translates_missing_and_passes_other_errors() -> None:
    assert read_object_bytes("mem://b/k", lambda: b"ab", is_not_found=_is_missing, provider="Memory") == b"ab"
    with pytest.raises(FileNotFoundError, match="external payload not found: mem://b/k") as caught:
        read_object_bytes(
            "mem://b/k", lambda: _raise(_Missing()), is_not_found=_is_missing, provider="Memory"
        )
    assert isinstance(caught.value.__cause__, _Missing)
    with pytest.raises(PermissionError):
        read_object_bytes(
            "mem://b/k", lambda: _raise(PermissionError()), is_not_found=_is_missing, provider="Memory"
        )
    with pytest.raises(ValueError, match="returned str, expected bytes"):
        read_object_bytes("mem://b/k", lambda: "ab", is_not_found=_is_missing, provider="Memory")


def test_delete_ignoring_missing_only_ignores_missing() -> None:
    deleted: list[str] = []
    delete_ignoring_missing(lambda: deleted.append("k"), is_not_found=_is_missing)
    assert deleted == ["k"]
    delete_ignoring_missing(lambda: _raise(_Missing()), is_not_found=_is_missing)
    with pytest.raises(PermissionError):
        delete_ignoring_missing(lambda: _raise(PermissionError()), is_not_found=_is_missing)


def test_driver_names_and_client_option_default_from_the_layout() -> None:
    plugin = ObjectStoreDriverPlugin(
        layout=LAYOUT,
        container_from_reference=_from_reference,
        reference_examples="mem://bucket",
        client_description="memory root",
        client_example="Path(...)",
        build=PLUGIN.build,
    )
    assert (plugin.driver_names, plugin.container_config_keys, plugin.client_option) == (
        ("mem",),
        ("bucket",),
        "mem_client",
    )
    with pytest.raises(ValueError, match=r"set config.bucket, or a reference such as mem://bucket"):
        plugin.container_from_policy(_policy())
