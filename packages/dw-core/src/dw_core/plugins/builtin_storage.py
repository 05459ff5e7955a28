"""Built-in plugin: the ``local`` filesystem storage driver."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dw_core.external_storage.driver import ExternalStorageDriver
from dw_core.external_storage.policy import ExternalPayloadStoragePolicy, build_local_driver
from dw_core.plugins.hookspecs import hookimpl

LOCAL_DRIVER = "local"


@hookimpl
def dw_external_storage_driver_names() -> Iterable[str]:
    return [LOCAL_DRIVER]


@hookimpl
def dw_external_storage_driver(
    name: str, policy: ExternalPayloadStoragePolicy, options: Mapping[str, Any]
) -> ExternalStorageDriver | None:
    if name != LOCAL_DRIVER:
        return None
    return build_local_driver(policy, options)
