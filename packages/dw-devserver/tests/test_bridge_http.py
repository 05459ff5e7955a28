"""The webhook bridge over real HTTP: start / signal / update routing and idempotent redelivery."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer, ServerConfig
from dw_devserver.codec import decode_avro

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = StripeStart = Any


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    async with DevServer.start(config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running


@pytest.fixture
def stripe_start(recorded_fixture: RecordedFixture) -> Callable[..., dict[str, Any]]:
    """``stripe_start(key)``: the Stripe webhook body that starts the recorded fixture's workflow."""
    expected = recorded_fixture("bridge-webhook")["response_body"]

    def body(key: str = "stripe-event-231") -> dict[str, Any]:
        return {
            "action": "start_workflow",
            "idempotency_key": key,
            "target": expected["target"],
            "input": {"order_id": "order-231", "amount": 1200},
            "correlation": expected["correlation"],
        }

    return body


def signal_events(server: DevServer, workflow_id: str) -> int:
    row = server.runtime.store.one(
        "SELECT COUNT(*) AS n FROM history_events h JOIN runs r USING (run_id)"
        " WHERE r.workflow_id = ? AND h.event_type = 'SignalReceived'",
        (workflow_id,),
    )
    return int(row["n"]) if row else 0


async def test_start_is_accepted_once_and_redelivery_is_a_duplicate(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture, stripe_start: StripeStart
) -> None:
    api = api_factory(server.url)
    response = await api.call("POST", "/bridge-adapters/webhook/stripe", stripe_start())
    assert response.status_code == 202, response.text
    outcome = response.json()
    expected = recorded_fixture("bridge-webhook")["response_body"]
    assert set(expected) <= set(outcome)
    digest = hashlib.sha256(b"stripe-event-231").hexdigest()[:32]
    assert (outcome["accepted"], outcome["outcome"], outcome["workflow_id"]) == (
        True,
        "accepted",
        f"bridge-stripe-{digest}",
    )
    assert (outcome["control_plane_outcome"], outcome["target"], outcome["correlation"]) == (
        "started_new",
        expected["target"],
        expected["correlation"],
    )
    described = (await api.call("GET", f"/workflows/{outcome['workflow_id']}")).json()
    assert (described["workflow_type"], described["task_queue"], described["input"]) == (
        "orders.fulfillment",
        "external-workflows",
        ["order-231", 1200],
    )

    again = await api.call("POST", "/bridge-adapters/webhook/stripe", stripe_start())
    assert again.status_code == 200
    duplicate = again.json()
    assert (duplicate["outcome"], duplicate["reason"], duplicate["accepted"]) == (
        "duplicate",
        "duplicate_start",
        False,
    )
    assert (duplicate["run_id"], duplicate["control_plane_outcome"]) == (
        outcome["run_id"],
        "returned_existing_active",
    )
    runs = server.runtime.store.one(
        "SELECT COUNT(*) AS n FROM runs WHERE workflow_id = ?", (outcome["workflow_id"],)
    )
    assert runs is not None and runs["n"] == 1

    # Reusing the key for a different event is refused instead of silently dropped.
    reused = stripe_start()
    reused["input"] = {"order_id": "order-999"}
    clash = await api.call("POST", "/bridge-adapters/webhook/stripe", reused)
    assert (clash.status_code, clash.json()["outcome"], clash.json()["reason"]) == (
        422,
        "rejected",
        "malformed_payload",
    )
    # The same key on another adapter is a different event.
    other = await api.call("POST", "/bridge-adapters/webhook/paypal", stripe_start())
    assert other.status_code == 202 and other.json()["workflow_id"].startswith("bridge-paypal-")


async def test_signal_and_update_are_applied_exactly_once(server: DevServer, api_factory: ApiFactory) -> None:
    api = api_factory(server.url)
    start = {"workflow_id": "order-7", "workflow_type": "orders", "task_queue": "q", "input": []}
    assert (await api.call("POST", "/workflows", start)).status_code == 201
    signal = {
        "action": "signal_workflow",
        "idempotency_key": "evt-1",
        "target": {"workflow_id": "order-7", "signal_name": "paid"},
        "input": {"amount": 5},
    }
    first = await api.call("POST", "/bridge-adapters/webhook/shop", signal)
    assert first.status_code == 202, first.text
    assert (first.json()["outcome"], first.json()["control_plane_outcome"]) == ("accepted", "signal_received")
    redelivered = await api.call("POST", "/bridge-adapters/webhook/shop", signal)
    assert redelivered.status_code == 200
    assert (redelivered.json()["outcome"], redelivered.json()["control_plane_outcome"]) == (
        "duplicate",
        "deduped_existing_command",
    )
    assert "reason" not in redelivered.json()
    assert signal_events(server, "order-7") == 1

    update = {
        "action": "update_workflow",
        "idempotency_key": "evt-2",
        "target": {"workflow_id": "order-7", "update_name": "set_address"},
        "input": ["Main St"],
    }
    accepted = await api.call("POST", "/bridge-adapters/webhook/shop", update)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["run_id"]
    assert (await api.call("POST", "/bridge-adapters/webhook/shop", update)).json()["outcome"] == "duplicate"
    updates = server.runtime.store.one("SELECT COUNT(*) AS n FROM updates WHERE workflow_id = 'order-7'")
    assert updates is not None and updates["n"] == 1


async def test_rejections_are_outcomes_and_change_nothing(
    server: DevServer, api_factory: ApiFactory, snap: Snapshot, stripe_start: StripeStart
) -> None:
    api = api_factory(server.url)
    existing = {"workflow_id": "taken", "workflow_type": "orders", "task_queue": "q", "input": []}
    assert (await api.call("POST", "/workflows", existing)).status_code == 201
    before = snap(server)
    hook = "/bridge-adapters/webhook/shop"
    rejected: list[tuple[str, dict[str, Any], str]] = [
        (hook, {"action": "start_workflow", "target": {"workflow_type": "x"}}, "malformed_payload"),
        (hook, {"action": "start_workflow", "idempotency_key": "k", "target": {}}, "malformed_payload"),
        (
            hook,
            {
                "action": "start_workflow",
                "idempotency_key": "k",
                "target": {"workflow_type": "x"},
                "input": "not args",
            },
            "malformed_payload",
        ),
        (hook, {"action": "delete_everything", "idempotency_key": "k", "target": {}}, "unsupported_action"),
        (
            hook,
            {
                "action": "signal_workflow",
                "idempotency_key": "k",
                "target": {"workflow_id": "ghost", "signal_name": "s"},
            },
            "unknown_target",
        ),
        (
            hook,
            {
                "action": "update_workflow",
                "idempotency_key": "k",
                "target": {"workflow_id": "ghost", "update_name": "u"},
            },
            "unknown_target",
        ),
        (
            hook,
            {
                "action": "start_workflow",
                "idempotency_key": "k",
                "target": {
                    "workflow_type": "orders",
                    "workflow_id": "taken",
                    "duplicate_policy": "reject_duplicate",
                },
            },
            "duplicate_start",
        ),
        ("/bridge-adapters/webhook/bad%20adapter", stripe_start(), "unsupported_routing"),
    ]
    for path, body, reason in rejected:
        response = await api.call("POST", path, body)
        assert response.status_code == 422, (reason, response.text)
        outcome = response.json()
        assert (outcome["outcome"], outcome["accepted"], outcome["reason"]) == ("rejected", False, reason), (
            outcome
        )
        assert outcome["schema"] == "durable-workflow.v2.bridge-adapter-outcome.contract"
    missing_key = (await api.call("POST", hook, rejected[0][1])).json()
    assert "idempotency_key" in missing_key["errors"]

    errors: list[tuple[Api, Any, int, str]] = [
        (api, b"{broken", 400, "malformed_json"),
        (api_factory(server.url, token="worker-token"), stripe_start(), 403, "forbidden"),
        (api_factory(server.url, token=None), stripe_start(), 401, "unauthorized"),
        (api_factory(server.url, namespace="nowhere"), stripe_start(), 404, "namespace_not_found"),
    ]
    for caller, body, status, reason in errors:
        response = await caller.call("POST", hook, body)
        assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
    assert snap(server) == before

    # A rejected delivery is not remembered: once the target exists, the same key goes through.
    fixed = {
        "action": "signal_workflow",
        "idempotency_key": "k",
        "target": {"workflow_id": "taken", "signal_name": "s"},
    }
    assert (await api.call("POST", hook, fixed)).status_code == 202


async def test_update_with_wait_for_completed_reports_the_engine_outcome(
    server: DevServer, api_factory: ApiFactory
) -> None:
    api = api_factory(server.url)
    worker_headers = {
        "X-Durable-Workflow-Protocol-Version": "1.1",
        "Authorization": "Bearer worker-token",
        "Content-Type": "application/json",
    }
    worker = httpx.AsyncClient(base_url=server.url + "/api", headers=worker_headers, timeout=30)
    register = {"worker_id": "w", "task_queue": "q", "runtime": "python", "supported_workflow_types": []}
    assert (await worker.post("/worker/register", content=json.dumps(register))).status_code == 201
    start = {"workflow_id": "order-9", "workflow_type": "orders", "task_queue": "q", "input": []}
    assert (await api.call("POST", "/workflows", start)).status_code == 201

    async def run_worker() -> str:
        """Answer workflow tasks until the update task arrives, then complete the update."""
        while True:
            polled = (
                await worker.post(
                    "/worker/workflow-tasks/poll", content=json.dumps({"worker_id": "w", "task_queue": "q"})
                )
            ).json()
            task = polled.get("task")
            if not task:
                continue
            update_id = task.get("workflow_update_id")
            command: dict[str, Any] = (
                {
                    "type": "complete_update",
                    "update_id": update_id,
                    "result": {"codec": "avro", "blob": "ABJbIndvcmxkIl0C"},
                }
                if update_id
                else {"type": "start_timer", "delay_seconds": 3600}
            )
            done = await worker.post(
                f"/worker/workflow-tasks/{task['task_id']}/complete",
                content=json.dumps(
                    {
                        "lease_owner": "w",
                        "workflow_task_attempt": task["workflow_task_attempt"],
                        "commands": [command],
                    }
                ),
            )
            assert done.status_code == 200, done.text
            if update_id:
                return str(update_id)

    update = {
        "action": "update_workflow",
        "idempotency_key": "evt-9",
        "target": {
            "workflow_id": "order-9",
            "update_name": "approve",
            "wait_for": "completed",
            "wait_timeout_seconds": 20,
        },
        "input": {"by": "ops"},
    }
    response, update_id = await asyncio.wait_for(
        asyncio.gather(api.call("POST", "/bridge-adapters/webhook/shop", update), run_worker()), 60
    )
    await worker.aclose()
    assert response.status_code == 202, response.text
    outcome = response.json()
    assert (outcome["outcome"], outcome["control_plane_outcome"], outcome["update_id"]) == (
        "accepted",
        "update_completed",
        update_id,
    )
    # Named arguments stay an object for updates (a start would turn them into a list).
    stored = server.runtime.store.one("SELECT arguments FROM updates WHERE id = ?", (update_id,))
    assert stored is not None
    assert decode_avro(stored["arguments"]) == {"by": "ops"}
