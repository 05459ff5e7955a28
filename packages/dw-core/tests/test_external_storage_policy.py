"""Namespace storage policies and resolving their driver by name through the plugin manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    LocalFilesystemExternalStorage,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.plugins import PluginNotFoundError, create_plugin_manager

# The policy the real server returned in namespace-set-storage-driver-parity.json.
SERVER_POLICY: dict[str, Any] = {
    "name": "billing",
    "external_payload_storage": {
        "driver": "s3",
        "enabled": True,
        "threshold_bytes": 2097152,
        "config": {"bucket": "dw-payloads", "prefix": "billing/", "region": "us-east-1"},
    },
}


def test_policy_from_server_wrapper() -> None:
    policy = ExternalPayloadStoragePolicy.from_dict(SERVER_POLICY)
    assert policy.enabled is True and policy.driver == "s3"
    assert policy.threshold_bytes == 2097152
    assert policy.config["bucket"] == "dw-payloads"
    assert policy.prefix == "billing/"  # taken from config.prefix
    assert policy.integrity_required is True


def test_policy_enabled_defaults_to_driver_presence() -> None:
    assert ExternalPayloadStoragePolicy.from_dict({"driver": "local"}).enabled is True
    assert ExternalPayloadStoragePolicy.from_dict({}).enabled is False
    assert ExternalPayloadStoragePolicy.from_dict({"driver": "local", "enabled": False}).enabled is False
    assert (
        ExternalPayloadStoragePolicy.from_dict(
            {"driver": "s3", "prefix": "p", "config": {"prefix": "c"}}
        ).prefix
        == "p"
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("policy", "object"),
        ({"external_payload_storage": "s3"}, "external_payload_storage"),
        ({"driver": 3}, "driver"),
        ({"driver": "s3", "threshold_bytes": 0}, "threshold_bytes"),
        ({"driver": "s3", "threshold_bytes": "100"}, "threshold_bytes"),
        ({"driver": "s3", "threshold_bytes": True}, "threshold_bytes"),
        ({"driver": "s3", "enabled": "yes"}, "enabled"),
        ({"driver": "s3", "integrity_required": 1}, "integrity_required"),
        ({"driver": "s3", "config": ["bucket"]}, "config"),
        ({"driver": "s3", "prefix": 5}, "prefix"),
        ({"driver": "s3", "mode": 1}, "mode"),
        ({"driver": "s3", "status": []}, "status"),
        ({"driver": "s3", "reference": {}}, "reference"),
    ],
)
def test_policy_strict_type_checks(data: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ExternalPayloadStoragePolicy.from_dict(data)


def test_local_driver_from_local_root(tmp_path: Path) -> None:
    driver = external_storage_driver_from_policy({"driver": "local"}, local_root=tmp_path)
    assert isinstance(driver, LocalFilesystemExternalStorage)
    assert driver.root == tmp_path.resolve()
    ref = store_external_payload(driver, b"through the plugin", codec="avro")
    assert fetch_external_payload(driver, ref) == b"through the plugin"


@pytest.mark.parametrize("form", ["path", "uri"])
def test_local_driver_root_from_config_uri(tmp_path: Path, form: str) -> None:
    root = tmp_path / "payloads"
    value = str(root) if form == "path" else root.as_uri()
    driver = external_storage_driver_from_policy({"driver": "local", "config": {"uri": value}})
    assert isinstance(driver, LocalFilesystemExternalStorage) and driver.root == root.resolve()


def test_local_driver_root_from_reference(tmp_path: Path) -> None:
    policy = ExternalPayloadStoragePolicy(enabled=True, driver="local", reference=str(tmp_path))
    driver = external_storage_driver_from_policy(policy)
    assert isinstance(driver, LocalFilesystemExternalStorage) and driver.root == tmp_path.resolve()


def test_local_driver_without_root_says_how_to_configure_it() -> None:
    with pytest.raises(ValueError, match="local_root"):
        external_storage_driver_from_policy({"driver": "local"})
    with pytest.raises(ValueError, match="file://"):
        external_storage_driver_from_policy({"driver": "local", "config": {"uri": "s3://bucket"}})


def test_disabled_or_driverless_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="disabled"):
        external_storage_driver_from_policy({"driver": "local", "enabled": False}, local_root=tmp_path)
    with pytest.raises(ValueError, match="no driver"):
        external_storage_driver_from_policy(ExternalPayloadStoragePolicy(enabled=True))


@pytest.mark.parametrize(
    ("driver", "extra"),
    [("s3", "s3"), ("gcs", "gcs"), ("azure", "azure"), ("azure-blob", "azure")],
)
def test_missing_provider_plugin_names_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch, driver: str, extra: str
) -> None:
    # Only the built-ins, whatever happens to be installed in this environment.
    pm = create_plugin_manager(load_entry_points=False)
    monkeypatch.setattr("dw_core.plugins.lookup.get_plugin_manager", lambda: pm)
    with pytest.raises(PluginNotFoundError) as info:
        external_storage_driver_from_policy({"driver": driver}, s3_client=object())
    message = str(info.value)
    assert f"pip install 'durable-workflow[{extra}]'" in message
    assert "local" in message  # lists what is available
    assert isinstance(info.value, ValueError)
    assert (info.value.kind, info.value.name) == ("storage", driver)


def test_unknown_driver_without_known_package() -> None:
    with pytest.raises(PluginNotFoundError, match="install a plugin distribution") as info:
        external_storage_driver_from_policy({"driver": "floppy-disk"})
    assert info.value.install_hint is None
