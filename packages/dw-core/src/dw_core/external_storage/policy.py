"""A namespace's external-payload storage policy and turning it into a driver."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dw_core.external_storage.driver import ExternalStorageDriver

__all__ = ["ExternalPayloadStoragePolicy", "external_storage_driver_from_policy"]


def _fail(detail: str) -> ValueError:
    return ValueError(f"invalid external payload storage policy: {detail}")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(f"{key} must be a string, got {type(value).__name__}")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(f"{key} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class ExternalPayloadStoragePolicy:
    """Whether and where payloads above ``threshold_bytes`` are offloaded (as the server reports it)."""

    enabled: bool
    driver: str | None = None
    threshold_bytes: int | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    reference: str | None = None
    prefix: str = ""
    mode: str | None = None
    status: str | None = None
    integrity_required: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExternalPayloadStoragePolicy:
        """Parse a policy object, or a wrapper holding it under ``external_payload_storage``.

        ``enabled`` defaults to whether a driver is named; types are checked strictly.
        """
        if not isinstance(data, Mapping):
            raise _fail(f"expected a JSON object, got {type(data).__name__}")
        inner = data.get("external_payload_storage")
        if isinstance(inner, Mapping):
            data = inner
        elif inner is not None:
            raise _fail(f"external_payload_storage must be an object, got {type(inner).__name__}")
        driver = _optional_str(data, "driver")
        threshold = data.get("threshold_bytes")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1
        ):
            raise _fail(f"threshold_bytes must be a positive integer, got {threshold!r}")
        config = data.get("config")
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise _fail(f"config must be an object, got {type(config).__name__}")
        prefix = data.get("prefix")
        if prefix is None:
            prefix = config.get("prefix", "")
        if prefix is None:
            prefix = ""
        if not isinstance(prefix, str):
            raise _fail(f"prefix must be a string, got {type(prefix).__name__}")
        return cls(
            enabled=_bool(data, "enabled", bool(driver)),
            driver=driver,
            threshold_bytes=threshold,
            config=dict(config),
            reference=_optional_str(data, "reference"),
            prefix=prefix,
            mode=_optional_str(data, "mode"),
            status=_optional_str(data, "status"),
            integrity_required=_bool(data, "integrity_required", True),
        )


def _local_root(policy: ExternalPayloadStoragePolicy, local_root: str | os.PathLike[str] | None) -> Path:

    candidates: list[object] = [
        local_root,
        policy.config.get("uri"),
        policy.config.get("root"),
        policy.reference,
    ]
    for candidate in candidates:
        if candidate is None or candidate == "":
            continue
        if isinstance(candidate, os.PathLike):
            return Path(candidate)
        if not isinstance(candidate, str):
            raise _fail(f"local storage root must be a path or file:// URI, got {candidate!r}")
        if "://" in candidate:
            parts = urlsplit(candidate)
            if parts.scheme != "file":
                raise _fail(f"local storage root must be a path or file:// URI, got {candidate!r}")
            return Path(unquote(parts.path))
        return Path(candidate)
    raise _fail(
        "the local driver needs a root directory: pass local_root=..., or set config.uri / reference "
        "to a path or file:// URI"
    )


def external_storage_driver_from_policy(
    policy: ExternalPayloadStoragePolicy | Mapping[str, Any],
    *,
    s3_client: Any = None,
    gcs_client: Any = None,
    azure_container_client: Any = None,
    local_root: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ExternalStorageDriver:
    """Build the storage driver a policy names, resolved by name through the plugin manager.

    ``local`` is built in; ``s3``, ``gcs`` and ``azure`` come from plugin distributions. Provider
    clients are always supplied by the application. Extra keyword ``options`` are passed to the
    driver plugin. ``ValueError`` when the policy is disabled or names no driver; a
    :class:`~dw_core.plugins.PluginNotFoundError` (also a ``ValueError``) names the package to install
    when no plugin provides the driver.
    """
    from dw_core.plugins import external_storage_driver

    if not isinstance(policy, ExternalPayloadStoragePolicy):
        policy = ExternalPayloadStoragePolicy.from_dict(policy)
    if not policy.enabled:
        raise _fail("external payload storage is disabled for this namespace")
    if not policy.driver:
        raise _fail("no driver is configured (set driver to local, s3, gcs or azure)")
    all_options: dict[str, Any] = {
        "s3_client": s3_client,
        "gcs_client": gcs_client,
        "azure_container_client": azure_container_client,
        "local_root": local_root,
        **options,
    }
    return external_storage_driver(policy.driver, policy=policy, options=all_options)


def build_local_driver(
    policy: ExternalPayloadStoragePolicy, options: Mapping[str, Any]
) -> ExternalStorageDriver:
    """The ``local`` driver for ``policy`` (used by the built-in storage plugin)."""
    from dw_core.external_storage.local import LocalFilesystemExternalStorage

    return LocalFilesystemExternalStorage(_local_root(policy, options.get("local_root")))
