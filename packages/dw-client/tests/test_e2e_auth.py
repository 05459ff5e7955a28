"""Both token modes against a dev server started with tokens: one shared token, and role tokens
split between the control plane and the worker plane."""

from __future__ import annotations

import pytest
from dw_client import Client
from dw_core.errors import ServerError, Unauthorized
from dw_devserver import DevServer


async def test_single_shared_token_reaches_both_planes() -> None:
    async with DevServer.start(auth_token="s3cret") as server:
        async with Client(server.url, token="s3cret") as client:
            handle = await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="auth-1")
            await client.register_worker(worker_id="w", task_queue="q")
            task = await client.poll_workflow_task(worker_id="w", task_queue="q", timeout=10)
            assert task is not None and task["workflow_id"] == handle.workflow_id

        async with Client(server.url, token="wrong") as intruder:
            with pytest.raises(Unauthorized):
                await intruder.list_workflows()
            with pytest.raises(Unauthorized):
                await intruder.register_worker(worker_id="w2", task_queue="q")

        async with Client(server.url) as anonymous:
            with pytest.raises(Unauthorized):
                await anonymous.describe_workflow("auth-1")
            assert (await anonymous.health())["status"] == "serving"


async def test_plane_tokens_send_the_right_role_to_each_plane() -> None:
    tokens = {"ops-token": "operator", "wrk-token": "worker", "adm-token": "admin"}
    async with DevServer.start(role_tokens=tokens) as server:
        async with Client(server.url, control_token="ops-token", worker_token="wrk-token") as client:
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="roles-1")
            await client.register_worker(worker_id="w", task_queue="q")
            task = await client.poll_workflow_task(worker_id="w", task_queue="q", timeout=10)
            assert task is not None
            # Operators cannot administer namespaces: the server answers 403 (kept as ServerError).
            with pytest.raises(ServerError) as forbidden:
                await client.create_namespace("billing")
            assert forbidden.value.status == 403 and forbidden.value.reason() == "forbidden"

        # With only an operator token, worker-plane calls carry the operator role and are refused.
        async with Client(server.url, control_token="ops-token") as control_only:
            with pytest.raises(ServerError) as wrong_role:
                await control_only.register_worker(worker_id="w2", task_queue="q")
            assert wrong_role.value.status == 403

        async with Client(server.url, token="adm-token", worker_token="wrk-token") as admin:
            assert (await admin.create_namespace("billing")).name == "billing"
            await admin.heartbeat_worker(worker_id="w")
