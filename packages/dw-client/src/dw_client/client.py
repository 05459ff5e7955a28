"""The async ``Client``: every control-plane operation and the low-level worker-plane calls."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import httpx
from dw_core.metrics import NOOP_METRICS, MetricsRecorder
from dw_core.payload_size import PayloadSizeWarningConfig
from dw_core.retry_policy import TransportRetryPolicy

from dw_client.operations.activities import ActivityOperations
from dw_client.operations.bridge import BridgeOperations
from dw_client.operations.discovery import DiscoveryOperations
from dw_client.operations.namespaces import NamespaceOperations
from dw_client.operations.schedules import ScheduleOperations
from dw_client.operations.system import SystemOperations
from dw_client.operations.task_queues import TaskQueueOperations
from dw_client.operations.worker_plane import WorkerPlaneOperations
from dw_client.operations.workers import SearchAttributeOperations, WorkerRosterOperations
from dw_client.operations.workflows import WorkflowOperations
from dw_client.payloads import PayloadCodec
from dw_client.transport import Transport

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver


class Client(
    DiscoveryOperations,
    WorkflowOperations,
    ActivityOperations,
    ScheduleOperations,
    NamespaceOperations,
    TaskQueueOperations,
    WorkerRosterOperations,
    SearchAttributeOperations,
    SystemOperations,
    BridgeOperations,
    WorkerPlaneOperations,
):
    """Async client of a Durable Workflow server, over one HTTP connection pool.

    Use it as ``async with Client("http://127.0.0.1:8080") as client: ...`` or call ``aclose()``.
    ``base_url`` is the server root (a path prefix such as ``https://host/dw`` works; the client adds
    ``/api``). ``token`` is sent as a bearer token on every call unless a plane-specific
    ``control_token`` / ``worker_token`` is given. Payloads leave as Avro envelopes; with both
    ``external_storage`` and ``external_storage_threshold_bytes`` set, larger ones are offloaded.

    Worker-plane calls (polls, task completions, heartbeats) travel over plain asyncio keep-alive
    HTTP/1.1 connections, several times cheaper in CPU than ``httpx``, unless ``fast_worker_plane``
    is false, an ``http_transport`` is given, or the environment routes the server through a proxy;
    everything else, and those cases, use ``httpx``. Requests, retries, metrics and errors are the
    same on both paths.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        control_token: str | None = None,
        worker_token: str | None = None,
        namespace: str = "default",
        timeout: float = 60.0,
        retry_policy: TransportRetryPolicy | None = None,
        metrics: MetricsRecorder | None = None,
        payload_size_limit_bytes: int = 2_097_152,
        payload_size_warning_threshold_percent: int = 80,
        payload_size_warnings: bool = True,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        fast_worker_plane: bool = True,
    ) -> None:
        if not isinstance(namespace, str) or not namespace.strip():
            raise ValueError("namespace must be a non-empty string such as 'default'")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if external_storage_threshold_bytes is not None and (
            isinstance(external_storage_threshold_bytes, bool)
            or not isinstance(external_storage_threshold_bytes, int)
            or external_storage_threshold_bytes < 1
        ):
            raise ValueError(
                "external_storage_threshold_bytes must be a positive int (payloads above it are offloaded), "
                f"got {external_storage_threshold_bytes!r}"
            )
        # Validates limit and percent with a message naming the bad value.
        warning_config = PayloadSizeWarningConfig(
            limit_bytes=payload_size_limit_bytes, threshold_percent=payload_size_warning_threshold_percent
        )
        if external_storage_cache is None:
            external_storage_cache = _default_cache()
        self.token = token
        self.control_token = control_token
        self.worker_token = worker_token
        self.namespace = namespace
        self.timeout = float(timeout)
        self.retry_policy = retry_policy if retry_policy is not None else TransportRetryPolicy()
        self.metrics: MetricsRecorder = metrics if metrics is not None else NOOP_METRICS
        self.payload_size_warning_config: PayloadSizeWarningConfig | None = (
            warning_config if payload_size_warnings else None
        )
        self.external_storage = external_storage
        self.external_storage_threshold_bytes = external_storage_threshold_bytes
        self.external_storage_cache = external_storage_cache
        self._transport = Transport(
            base_url,
            token=token,
            control_token=control_token,
            worker_token=worker_token,
            namespace=namespace,
            timeout=self.timeout,
            retry_policy=self.retry_policy,
            metrics=self.metrics,
            http_transport=http_transport,
            fast_worker_plane=bool(fast_worker_plane),
        )
        self.base_url = self._transport.base_url
        self._payloads = PayloadCodec(
            size_warning=self.payload_size_warning_config,
            namespace=namespace,
            external_storage=external_storage,
            external_storage_threshold_bytes=external_storage_threshold_bytes,
            external_storage_cache=external_storage_cache,
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, namespace={self.namespace!r})"

    @property
    def closed(self) -> bool:
        """Whether the connection pool has been closed."""
        return self._transport.closed

    @property
    def fast_worker_plane(self) -> bool:
        """Whether worker-plane calls use the keep-alive asyncio path (``False``: they use ``httpx``)."""
        return self._transport.fast_worker_plane

    def disable_fast_worker_plane(self) -> None:
        """Send worker-plane calls over ``httpx`` from now on, like ``Client(fast_worker_plane=False)``."""
        self._transport.disable_fast_worker_plane()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        await self._transport.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _default_cache() -> ExternalPayloadCache | None:
    try:
        from dw_core.external_storage import ExternalPayloadCache
    except ImportError:  # external storage is optional for a client that never sees references
        return None
    return ExternalPayloadCache()
