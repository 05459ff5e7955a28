"""Every hook specification of the Durable Workflow plugin system, in one place.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names match the specs
below. Hooks are always called with keyword arguments, and an implementation only declares the
parameters it uses, so a spec can gain a parameter in a later release without breaking plugins.

Third-party distributions become plugins by declaring an entry point in the ``durable_workflow``
group, e.g. in ``pyproject.toml``::

    [project.entry-points.durable_workflow]
    my_plugin = "my_package.dw_plugin"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import pluggy

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadStoragePolicy, ExternalStorageDriver
    from dw_core.metrics import MetricsRecorder
    from dw_core.plugins.contracts import PayloadCodec

PROJECT_NAME: Final = "durable_workflow"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for hook implementations: ``@hookimpl`` above a function named like a spec."""


# -- external storage -----------------------------------------------------------------------------------


@hookspec
def dw_external_storage_driver_names() -> Iterable[str]:  # type: ignore[empty-body]
    """Names of the storage drivers this plugin can build (for listings and error messages)."""


@hookspec(firstresult=True)
def dw_external_storage_driver(
    name: str,
    policy: ExternalPayloadStoragePolicy,
    options: Mapping[str, Any],
) -> ExternalStorageDriver | None:
    """Build the storage driver called ``name``, or return ``None`` if this plugin does not provide it.

    ``policy`` is the namespace policy (``config``, ``prefix``, ``reference``…); ``options`` holds what
    the application passed (``local_root``, ``s3_client``, ``gcs_client``, ``azure_container_client``
    and any extra keyword). Raise ``ValueError`` with a clear message when the driver is yours but
    the policy or options are unusable.
    """


# -- metrics ----------------------------------------------------------------------------------------------


@hookspec
def dw_metrics_recorder_names() -> Iterable[str]:  # type: ignore[empty-body]
    """Names of the metrics recorders this plugin can build."""


@hookspec(firstresult=True)
def dw_metrics_recorder(name: str, options: Mapping[str, Any]) -> MetricsRecorder | None:
    """Build the metrics recorder called ``name`` with ``options``, or ``None`` if not provided here."""


# -- payload codecs ---------------------------------------------------------------------------------------


@hookspec
def dw_payload_codec_names() -> Iterable[str]:  # type: ignore[empty-body]
    """Names of the payload codecs this plugin provides."""


@hookspec(firstresult=True)
def dw_payload_codec(name: str) -> PayloadCodec | None:
    """Return the payload codec called ``name``, or ``None`` if not provided here."""


# -- worker -----------------------------------------------------------------------------------------------


@hookspec
def dw_worker_interceptors(
    task_queue: str,
    worker_id: str | None,
    options: Mapping[str, Any],
) -> Sequence[Any] | None:
    """Interceptors to add to a new ``Worker`` (called once per worker, so it acts as a factory).

    Return worker-interceptor instances (objects with ``execute_workflow_task``, ``execute_activity``
    and ``execute_query_task``), or ``None``. Plugin interceptors run inside the ones the application
    passes explicitly.
    """
