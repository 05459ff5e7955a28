"""Result models for namespaces and the external-storage probe."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dw_client.models._fields import as_mapping, opt_dict, opt_int, opt_str, req_str

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadStoragePolicy


def _storage_policy(data: Mapping[str, Any]) -> ExternalPayloadStoragePolicy | None:
    policy = data.get("external_payload_storage")
    if not isinstance(policy, Mapping) or not policy:
        return None
    from dw_core.external_storage import ExternalPayloadStoragePolicy

    try:
        return ExternalPayloadStoragePolicy.from_dict(policy)
    except (ValueError, TypeError):
        # A policy this SDK cannot validate is reported as absent rather than failing the whole read.
        return None


@dataclass
class NamespaceDescription:
    """A namespace with its retention and external payload storage policy."""

    name: str
    description: str | None = None
    retention_days: int | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    deleted: dict[str, int] | None = None
    external_payload_storage: ExternalPayloadStoragePolicy | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NamespaceDescription:
        """Build from a server JSON object; missing keys become defaults."""
        data = as_mapping(data)
        deleted_raw = opt_dict(data, "deleted")
        deleted = None
        if deleted_raw is not None:
            deleted = {
                str(k): v for k, v in deleted_raw.items() if isinstance(v, int) and not isinstance(v, bool)
            }
        return cls(
            name=req_str(data, "name"),
            description=opt_str(data, "description"),
            retention_days=opt_int(data, "retention_days"),
            status=opt_str(data, "status"),
            created_at=opt_str(data, "created_at"),
            updated_at=opt_str(data, "updated_at"),
            deleted=deleted,
            external_payload_storage=_storage_policy(data),
        )


@dataclass
class NamespaceList:
    """Every namespace visible to the control identity."""

    namespaces: list[NamespaceDescription] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NamespaceList:
        """Build from a server JSON object."""
        items = as_mapping(data).get("namespaces")
        items = items if isinstance(items, list) else []
        return cls([NamespaceDescription.from_dict(item) for item in items if isinstance(item, Mapping)])


@dataclass
class StoragePayloadTestResult:
    """One probe payload's round trip through the namespace's storage driver."""

    status: str
    bytes: int | None = None
    sha256: str | None = None
    reference_uri: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoragePayloadTestResult:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            status=req_str(data, "status"),
            bytes=opt_int(data, "bytes"),
            sha256=opt_str(data, "sha256"),
            reference_uri=opt_str(data, "reference_uri"),
        )


@dataclass
class StorageTestResult:
    """Outcome of ``test_external_storage``; ``raw`` keeps the whole body."""

    status: str
    namespace: str | None = None
    driver: str | None = None
    small_payload: StoragePayloadTestResult | None = None
    large_payload: StoragePayloadTestResult | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StorageTestResult:
        """Build from a server JSON object."""
        data = as_mapping(data)
        small = data.get("small_payload")
        large = data.get("large_payload")
        return cls(
            status=req_str(data, "status"),
            namespace=opt_str(data, "namespace"),
            driver=opt_str(data, "driver"),
            small_payload=StoragePayloadTestResult.from_dict(small) if isinstance(small, Mapping) else None,
            large_payload=StoragePayloadTestResult.from_dict(large) if isinstance(large, Mapping) else None,
            raw=dict(data),
        )
