"""Low-level worker-plane calls (``/api/worker/...``) for workers and protocol tests.

They send the worker-protocol version header and the worker token. Every call here is safe to
retry: polls carry a ``poll_request_id`` the server deduplicates, task completions and failures are
fenced by the task attempt (a repeat is refused, never applied twice), and registration and
heartbeats are idempotent.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from dw_core import protocol
from dw_core.errors import ErrorContext
from dw_core.serializer import AVRO_CODEC

from dw_client.operations._core import ClientCore, drop_none
from dw_client.payloads import PayloadCodec
from dw_client.transport import Plane, Retry
from dw_client.versions import DEFAULT_SDK_VERSION

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalStorageDriver

#: Default HTTP timeout of a long poll: a little above the server's default 30 s long-poll window.
DEFAULT_POLL_TIMEOUT_SECONDS = 35.0


def _task_ctx(task_id: str) -> ErrorContext:
    return ErrorContext(resource="task", resource_id=task_id)


def _check_positive(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def _check_page_size(history_page_size: int | None) -> None:
    if history_page_size is None:
        return
    if isinstance(history_page_size, bool) or not isinstance(history_page_size, int):
        raise TypeError(f"history_page_size must be an int, got {type(history_page_size).__name__}")
    if not 1 <= history_page_size <= protocol.MAX_HISTORY_PAGE_SIZE:
        raise ValueError(
            f"history_page_size must be between 1 and {protocol.MAX_HISTORY_PAGE_SIZE}, "
            f"got {history_page_size}"
        )


class WorkerPlaneOperations(ClientCore):
    """Worker-plane calls (mixed into ``Client``)."""

    async def _worker_call(
        self,
        route: str,
        body: dict[str, Any],
        *,
        path_params: Mapping[str, str] | None = None,
        context: ErrorContext | None = None,
        timeout: float | None = None,
        retry_timeouts: bool = True,
    ) -> Any:
        reply = await self._transport.call(
            "POST",
            "/worker" + route,
            path_params=path_params,
            plane=Plane.WORKER,
            body=body,
            retry=Retry.SAFE,
            context=context,
            timeout=timeout,
            retry_timeouts=retry_timeouts,
        )
        return reply.body

    async def register_worker(
        self,
        *,
        worker_id: str,
        task_queue: str,
        supported_workflow_types: list[str] | None = None,
        workflow_definition_fingerprints: dict[str, str] | None = None,
        supported_activity_types: list[str] | None = None,
        max_concurrent_workflow_tasks: int | None = None,
        max_concurrent_activity_tasks: int | None = None,
        runtime: str = "python",
        sdk_version: str | None = None,
        build_id: str | None = None,
        capabilities: list[str] | None = None,
        task_slots: dict[str, int] | None = None,
        process_metrics: dict[str, Any] | None = None,
        heartbeat_interval_seconds: int | None = None,
    ) -> Any:
        """Register this worker on ``task_queue``; returns the server's acknowledgement."""
        _check_positive("max_concurrent_workflow_tasks", max_concurrent_workflow_tasks)
        _check_positive("max_concurrent_activity_tasks", max_concurrent_activity_tasks)
        _check_positive("heartbeat_interval_seconds", heartbeat_interval_seconds)
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "runtime": runtime,
            "sdk_version": sdk_version or DEFAULT_SDK_VERSION,
            "supported_workflow_types": list(supported_workflow_types or []),
            "supported_activity_types": list(supported_activity_types or []),
        }
        kept_capabilities = [c for c in capabilities or [] if isinstance(c, str) and c]
        body.update(
            drop_none(
                build_id=build_id or None,
                workflow_definition_fingerprints=(
                    dict(workflow_definition_fingerprints) if workflow_definition_fingerprints else None
                ),
                max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
                max_concurrent_activity_tasks=max_concurrent_activity_tasks,
                capabilities=kept_capabilities or None,
                task_slots=dict(task_slots) if task_slots else None,
                process_metrics=dict(process_metrics) if process_metrics else None,
                heartbeat_interval_seconds=heartbeat_interval_seconds,
            )
        )
        return await self._worker_call("/register", body, context=ErrorContext("worker", worker_id))

    async def heartbeat_worker(
        self,
        *,
        worker_id: str,
        task_slots: dict[str, int] | None = None,
        process_metrics: dict[str, Any] | None = None,
        heartbeat_interval_seconds: int | None = None,
    ) -> Any:
        """Report liveness, free slots and process metrics; returns the acknowledgement."""
        body = {"worker_id": worker_id}
        body.update(
            drop_none(
                task_slots=dict(task_slots) if task_slots else None,
                process_metrics=dict(process_metrics) if process_metrics else None,
                heartbeat_interval_seconds=heartbeat_interval_seconds,
            )
        )
        return await self._worker_call("/heartbeat", body, context=ErrorContext("worker", worker_id))

    async def _poll(
        self,
        route: str,
        prefix: str,
        worker_id: str,
        task_queue: str,
        timeout: float,
        build_id: str | None,
        history_page_size: int | None = None,
    ) -> dict[str, Any] | None:
        if timeout <= 0:
            raise ValueError(f"poll timeout must be positive, got {timeout}")
        _check_page_size(history_page_size)
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "poll_request_id": prefix + secrets.token_hex(16),
        }
        body.update(drop_none(build_id=build_id or None, history_page_size=history_page_size))
        # A long poll that times out has simply found nothing; one more try with the same
        # poll_request_id picks up a task the server may have leased to the first attempt.
        for attempt in range(2):
            try:
                data = await self._worker_call(
                    route,
                    body,
                    context=ErrorContext("task_queue", task_queue),
                    timeout=timeout,
                    retry_timeouts=False,
                )
            except (httpx.ReadTimeout, httpx.WriteTimeout):
                if attempt == 0:
                    continue
                return None
            task = data.get("task") if isinstance(data, Mapping) else None
            return dict(task) if isinstance(task, Mapping) else None
        return None

    async def poll_workflow_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = DEFAULT_POLL_TIMEOUT_SECONDS,
        build_id: str | None = None,
        history_page_size: int | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for a workflow task; ``None`` when none arrived within ``timeout`` seconds.

        ``history_page_size`` (1..1000) bounds the first history page the task carries; the rest
        is fetched with :meth:`workflow_task_history`.
        """
        return await self._poll(
            "/workflow-tasks/poll",
            protocol.WORKFLOW_POLL_REQUEST_PREFIX,
            worker_id,
            task_queue,
            timeout,
            build_id,
            history_page_size,
        )

    async def poll_activity_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = DEFAULT_POLL_TIMEOUT_SECONDS,
        build_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for an activity task; ``None`` when none arrived within ``timeout`` seconds."""
        return await self._poll(
            "/activity-tasks/poll",
            protocol.ACTIVITY_POLL_REQUEST_PREFIX,
            worker_id,
            task_queue,
            timeout,
            build_id,
        )

    async def poll_query_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = DEFAULT_POLL_TIMEOUT_SECONDS,
        build_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for a query task; ``None`` when none arrived within ``timeout`` seconds."""
        return await self._poll(
            "/query-tasks/poll", protocol.QUERY_POLL_REQUEST_PREFIX, worker_id, task_queue, timeout, build_id
        )

    async def workflow_task_history(
        self,
        *,
        task_id: str,
        next_history_page_token: str | None = None,
        page_token: str | None = None,
        lease_owner: str,
        workflow_task_attempt: int,
        history_page_size: int | None = None,
    ) -> Any:
        """The next page of a leased workflow task's history.

        ``page_token`` is an alias of ``next_history_page_token``; pass one (both must agree).
        The answer has ``history_events``, ``total_history_events`` and ``next_history_page_token``.
        """
        if next_history_page_token and page_token and next_history_page_token != page_token:
            raise ValueError(
                "next_history_page_token and page_token are aliases and were given different values; pass one"
            )
        token = next_history_page_token or page_token
        if not token:
            raise ValueError(
                "workflow_task_history needs the next_history_page_token from the task or last page"
            )
        _check_page_size(history_page_size)
        body: dict[str, Any] = {
            "next_history_page_token": token,
            "lease_owner": lease_owner,
            "workflow_task_attempt": workflow_task_attempt,
        }
        body.update(drop_none(history_page_size=history_page_size))
        return await self._worker_call(
            "/workflow-tasks/{task_id}/history",
            body,
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    async def heartbeat_workflow_task(
        self, *, task_id: str, lease_owner: str, workflow_task_attempt: int
    ) -> Any:
        """Extend a leased workflow task's lease (for tasks that run long)."""
        return await self._worker_call(
            "/workflow-tasks/{task_id}/heartbeat",
            {"lease_owner": lease_owner, "workflow_task_attempt": workflow_task_attempt},
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    async def complete_workflow_task(
        self, *, task_id: str, lease_owner: str, workflow_task_attempt: int, commands: list[dict[str, Any]]
    ) -> Any:
        """Submit the commands a workflow task produced (server-shape command dicts)."""
        return await self._worker_call(
            "/workflow-tasks/{task_id}/complete",
            {
                "lease_owner": lease_owner,
                "workflow_task_attempt": workflow_task_attempt,
                "commands": list(commands),
            },
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    async def fail_workflow_task(
        self,
        *,
        task_id: str,
        lease_owner: str,
        workflow_task_attempt: int,
        message: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
    ) -> Any:
        """Report that a workflow task could not be completed."""
        failure: dict[str, Any] = {"message": message}
        failure.update(drop_none(type=failure_type, stack_trace=stack_trace))
        return await self._worker_call(
            "/workflow-tasks/{task_id}/fail",
            {"lease_owner": lease_owner, "workflow_task_attempt": workflow_task_attempt, "failure": failure},
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    def _result_codec(
        self, external_storage: ExternalStorageDriver | None, threshold_bytes: int | None
    ) -> PayloadCodec:
        if external_storage is None and threshold_bytes is None:
            return self._payloads
        payloads = self._payloads
        return PayloadCodec(
            size_warning=payloads.size_warning,
            namespace=payloads.namespace,
            external_storage=external_storage or payloads.external_storage,
            external_storage_threshold_bytes=threshold_bytes or payloads.external_storage_threshold_bytes,
            external_storage_cache=payloads.external_storage_cache,
        )

    async def complete_query_task(
        self,
        *,
        query_task_id: str,
        lease_owner: str,
        query_task_attempt: int,
        result: Any,
        codec: str = AVRO_CODEC,
        workflow_id: str | None = None,
        run_id: str | None = None,
        query_name: str | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> Any:
        """Answer a query task: sends the raw ``result`` and its ``result_envelope`` in ``codec``."""
        payloads = self._result_codec(external_storage, external_storage_threshold_bytes)
        context = payloads.context(
            "query_result", workflow_id=workflow_id, run_id=run_id, query_name=query_name
        )
        result_envelope = payloads.envelope(result, context=context, codec=codec)
        return await self._worker_call(
            "/query-tasks/{task_id}/complete",
            {
                "lease_owner": lease_owner,
                "query_task_attempt": query_task_attempt,
                "result": result,
                "result_envelope": result_envelope,
            },
            path_params={"task_id": query_task_id},
            context=_task_ctx(query_task_id),
        )

    async def fail_query_task(
        self,
        *,
        query_task_id: str,
        lease_owner: str,
        query_task_attempt: int,
        message: str,
        reason: str = "query_rejected",
        failure_type: str | None = None,
        stack_trace: str | None = None,
    ) -> Any:
        """Report that a query task could not be answered (``reason`` reaches the query's caller)."""
        failure: dict[str, Any] = {"message": message, "reason": reason}
        failure.update(drop_none(type=failure_type, stack_trace=stack_trace))
        return await self._worker_call(
            "/query-tasks/{task_id}/fail",
            {"lease_owner": lease_owner, "query_task_attempt": query_task_attempt, "failure": failure},
            path_params={"task_id": query_task_id},
            context=_task_ctx(query_task_id),
        )

    async def complete_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        result: Any,
        codec: str = AVRO_CODEC,
        activity_name: str | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> Any:
        """Report an activity attempt's result, enveloped in ``codec`` (or offloaded when large)."""
        payloads = self._result_codec(external_storage, external_storage_threshold_bytes)
        context = payloads.context("activity_result", activity_name=activity_name)
        return await self._worker_call(
            "/activity-tasks/{task_id}/complete",
            {
                "activity_attempt_id": activity_attempt_id,
                "lease_owner": lease_owner,
                "result": payloads.envelope(result, context=context, codec=codec),
            },
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    async def fail_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        message: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
        non_retryable: bool = False,
        details: Any = None,
        codec: str = AVRO_CODEC,
        activity_name: str | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> Any:
        """Report an activity attempt's failure; ``details`` travel as a payload envelope.

        With external storage (here or on the client), large ``details`` are offloaded.
        """
        failure: dict[str, Any] = {"message": message}
        failure.update(drop_none(type=failure_type, stack_trace=stack_trace))
        if non_retryable:
            failure["non_retryable"] = True
        if details is not None:
            payloads = self._result_codec(external_storage, external_storage_threshold_bytes)
            context = payloads.context("activity_failure_details", activity_name=activity_name)
            failure["details"] = payloads.envelope(details, context=context, codec=codec)
        return await self._worker_call(
            "/activity-tasks/{task_id}/fail",
            {"activity_attempt_id": activity_attempt_id, "lease_owner": lease_owner, "failure": failure},
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )

    async def heartbeat_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        details: dict[str, Any] | None = None,
    ) -> Any:
        """Record activity liveness; the answer's ``cancel_requested`` says whether to stop."""
        body: dict[str, Any] = {"activity_attempt_id": activity_attempt_id, "lease_owner": lease_owner}
        if details is not None:
            body["details"] = details
        return await self._worker_call(
            "/activity-tasks/{task_id}/heartbeat",
            body,
            path_params={"task_id": task_id},
            context=_task_ctx(task_id),
        )
