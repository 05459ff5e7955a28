"""Task queues and build-id rollouts."""

from __future__ import annotations

from dw_core.errors import ErrorContext

from dw_client.models.task_queues import (
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    TaskQueueList,
)
from dw_client.operations._core import ClientCore, expect_object
from dw_client.transport import Retry


def _ctx(name: str) -> ErrorContext:
    return ErrorContext(resource="task_queue", resource_id=name)


class TaskQueueOperations(ClientCore):
    """Task-queue inspection and build-id rollout control (mixed into ``Client``)."""

    async def list_task_queues(self) -> TaskQueueList:
        """Every task queue of the namespace with its admission data."""
        reply = await self._transport.call("GET", "/task-queues", retry=Retry.SAFE, context=ErrorContext())
        return TaskQueueList.from_dict(expect_object(reply.body, "invalid_task_queue_response"))

    async def describe_task_queue(self, name: str) -> TaskQueueDescription:
        """Backlog, pollers, current leases and admission of one queue."""
        reply = await self._transport.call(
            "GET",
            "/task-queues/{task_queue}",
            path_params={"task_queue": name},
            retry=Retry.SAFE,
            context=_ctx(name),
        )
        return TaskQueueDescription.from_dict(expect_object(reply.body, "invalid_task_queue_response"))

    async def list_task_queue_build_ids(self, task_queue: str) -> TaskQueueBuildIdRollout:
        """Per-build-id worker cohorts of a queue (the unversioned cohort has ``build_id=None``)."""
        reply = await self._transport.call(
            "GET",
            "/task-queues/{task_queue}/build-ids",
            path_params={"task_queue": task_queue},
            retry=Retry.SAFE,
            context=_ctx(task_queue),
        )
        return TaskQueueBuildIdRollout.from_dict(
            expect_object(reply.body, "invalid_task_queue_build_ids_response"), task_queue=task_queue
        )

    async def _build_id_action(
        self, task_queue: str, build_id: str | None, action: str
    ) -> TaskQueueBuildIdRolloutState:
        # drain/resume/promote set a state, so repeating one is harmless.
        reply = await self._transport.call(
            "POST",
            "/task-queues/{task_queue}/build-ids/" + action,
            path_params={"task_queue": task_queue},
            body={"build_id": build_id},
            retry=Retry.SAFE,
            context=_ctx(task_queue),
        )
        return TaskQueueBuildIdRolloutState.from_dict(
            expect_object(reply.body, f"invalid_task_queue_build_id_{action}_response"), task_queue=task_queue
        )

    async def drain_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """Stop a build-id cohort from claiming new work (``None``: the unversioned cohort)."""
        return await self._build_id_action(task_queue, build_id, "drain")

    async def promote_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """Select a build-id cohort for new workflow starts."""
        return await self._build_id_action(task_queue, build_id, "promote")

    async def resume_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """Undo a drain: the cohort claims work again."""
        return await self._build_id_action(task_queue, build_id, "resume")
