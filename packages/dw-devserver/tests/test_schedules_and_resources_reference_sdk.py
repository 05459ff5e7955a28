"""Part B's resources driven by the published durable-workflow 0.4.84 client (a peer nobody here wrote).

The client runs in its own venv (``.venv-ref``) as a subprocess against a dev server in this test's
event loop; every call must succeed and parse into the client's own result types.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig

REPO_ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import asyncio, json, sys
from durable_workflow import Client
from durable_workflow.client import ScheduleAction, ScheduleSpec
from durable_workflow.errors import ScheduleAlreadyExists, ScheduleNotFound

async def main(url):
    out = {}
    admin = Client(url, token="admin-token")
    op = Client(url, token="operator-token")
    try:
        ns = await admin.create_namespace("billing", description="Billing", retention_days=90)
        out["namespace"] = [ns.name, ns.retention_days, ns.status]
        out["namespaces"] = [n.name for n in (await op.list_namespaces()).namespaces]
        ns = await admin.update_namespace("billing", retention_days=120)
        out["updated_retention"] = (await op.describe_namespace("billing")).retention_days
        described = await admin.set_namespace_external_storage(
            "billing", driver="local", threshold_bytes=1024, config={"uri": sys.argv[2]})
        policy = described.external_payload_storage
        out["storage_policy"] = [policy.driver, policy.enabled, policy.threshold_bytes]
        probe = await Client(url, token="admin-token", namespace="billing").test_external_storage(
            small_payload_bytes=64, large_payload_bytes=4096)
        out["probe"] = [probe.status, probe.driver, probe.small_payload.bytes, probe.large_payload.bytes]

        handle = await op.create_schedule(
            schedule_id="nightly", spec=ScheduleSpec(cron_expressions=["0 3 * * *"], timezone="UTC"),
            action=ScheduleAction(workflow_type="reports.build", task_queue="reports", input=[{"day": 1}]),
            overlap_policy="allow_all", jitter_seconds=30, max_runs=10, memo={"team": "ops"}, note="n")
        out["handle_id"] = handle.schedule_id
        try:
            await op.create_schedule(schedule_id="nightly", spec=ScheduleSpec(intervals=[{"every": "PT1H"}]),
                                     action=ScheduleAction(workflow_type="x"))
        except ScheduleAlreadyExists:
            out["duplicate"] = "ScheduleAlreadyExists"
        d = await op.describe_schedule("nightly")
        out["describe"] = [d.status, d.overlap_policy, d.jitter_seconds, d.max_runs, d.remaining_actions,
                           d.fires_count, d.note, d.memo, bool(d.next_fire_at), d.spec, d.action["input"]]
        listed = (await op.list_schedules()).schedules
        out["list"] = [[s.schedule_id, s.status, bool(s.next_fire_at)] for s in listed]
        await op.update_schedule("nightly", overlap_policy="skip", note="edited")
        await op.pause_schedule("nightly", note="hold")
        out["paused"] = (await op.describe_schedule("nightly")).status
        await op.resume_schedule("nightly")
        trig = await op.trigger_schedule("nightly")
        out["trigger"] = [trig.outcome, bool(trig.workflow_id), bool(trig.run_id)]
        again = await op.trigger_schedule("nightly")
        out["trigger_again"] = [again.outcome, again.reason]
        back = await op.backfill_schedule("nightly", start_time="2026-04-20T00:00:00Z",
                                          end_time="2026-04-22T00:00:00Z", overlap_policy="allow_all")
        out["backfill"] = [back.fires_attempted, [r["outcome"] for r in back.results]]
        page = await op.get_schedule_history("nightly", limit=2)
        out["history_page"] = [[e.event_type for e in page.events], page.has_more, page.next_cursor]
        out["history_all"] = [e.event_type async for e in op.iter_schedule_history("nightly", limit=3)]
        await op.delete_schedule("nightly")
        try:
            await op.describe_schedule("nightly")
        except ScheduleNotFound:
            out["after_delete"] = "ScheduleNotFound"

        created = await op.create_search_attribute("Tier", "keyword")
        out["search_attribute"] = [created.get("outcome") if isinstance(created, dict) else str(created)]
        attrs = await op.list_search_attributes()
        out["custom_attributes"] = attrs.custom_attributes
        await op.delete_search_attribute("Tier")

        worker = Client(url, token="worker-token")
        await worker.register_worker(worker_id="w-1", task_queue="reports", build_id="b1")
        await worker.aclose()
        workers = await op.list_workers(task_queue="reports")
        out["workers"] = [w.worker_id for w in workers.workers]
        out["worker"] = (await op.describe_worker("w-1")).build_id
        queue = await op.describe_task_queue("reports")
        out["queue"] = [queue.name, len(queue.pollers), queue.admission.workflow_tasks.status]
        out["queues"] = [q.name for q in (await op.list_task_queues()).task_queues]
        state = await op.drain_task_queue_build_id("reports", "b1")
        out["drain"] = [state.build_id, state.drain_intent, bool(state.drained_at)]
        state = await op.promote_task_queue_build_id("reports", "b1")
        out["promote"] = [state.drain_intent, state.new_start_selected]
        state = await op.resume_task_queue_build_id("reports", None)
        out["resume_unversioned"] = [state.build_id, state.drain_intent]
        rollout = await op.list_task_queue_build_ids("reports")
        out["cohorts"] = [[c.build_id, c.rollout_status, c.new_start_selected] for c in rollout.build_ids]
        out["deregister"] = (await admin.deregister_worker("w-1"))["outcome"]

        out["repair_status"] = sorted((await admin.repair_status()))
        out["repair_pass"] = (await admin.repair_pass())["dispatched_tasks"]
        out["retention"] = (await admin.retention_status())["retention_days"]
        out["retention_pass"] = (await admin.retention_pass())["processed"]
        out["activity_timeouts"] = (await admin.activity_timeout_status())["expired_count"]
        out["activity_timeout_pass"] = (await admin.activity_timeout_pass())["processed"]

        bridge = await op.send_webhook_bridge_event(
            "stripe", action="start_workflow", idempotency_key="evt-1",
            target={"workflow_type": "orders.fulfillment", "task_queue": "q"}, input={"order": 1})
        out["bridge"] = [bridge.outcome, bridge.accepted, bool(bridge.workflow_id),
                         bridge.control_plane_outcome]
        dup = await op.send_webhook_bridge_event(
            "stripe", action="start_workflow", idempotency_key="evt-1",
            target={"workflow_type": "orders.fulfillment", "task_queue": "q"}, input={"order": 1})
        out["bridge_duplicate"] = [dup.outcome, dup.reason]

        gone = await admin.delete_namespace("billing")
        out["deleted_namespace"] = [gone.name, gone.status]
    finally:
        await admin.aclose()
        await op.aclose()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
"""


def reference_python() -> str:
    """The 0.4.84 venv's interpreter, created through tools/dev.py when missing (fresh CI clones)."""
    candidate = REPO_ROOT / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.reference_sdk
async def test_published_client_drives_every_part_b_resource(
    tmp_path: Path, dev_tokens: dict[str, str]
) -> None:
    python = reference_python()
    async with DevServer.start(config=ServerConfig(role_tokens=dev_tokens)) as server:
        process = await asyncio.create_subprocess_exec(
            python,
            "-c",
            SCRIPT,
            server.url,
            (tmp_path / "payloads").as_uri(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    out: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])

    assert out["namespace"] == ["billing", 90, "active"]
    assert out["namespaces"] == ["default", "billing"] and out["updated_retention"] == 120
    assert out["storage_policy"] == ["local", True, 1024]
    assert out["probe"] == ["passed", "local", 64, 4096]

    assert out["handle_id"] == "nightly" and out["duplicate"] == "ScheduleAlreadyExists"
    assert out["describe"][:-1] == [
        "active",
        "allow_all",
        30,
        10,
        10,
        0,
        "n",
        {"team": "ops"},
        True,
        {"cron_expressions": ["0 3 * * *"], "timezone": "UTC"},
    ]
    assert out["describe"][-1]["codec"] == "avro"  # the action input is kept as the client's envelope
    assert out["list"] == [["nightly", "active", True]]
    assert out["paused"] == "paused"
    assert out["trigger"] == ["triggered", True, True]
    assert out["trigger_again"] == ["skipped", "previous_run_in_progress"]
    assert out["backfill"] == [2, ["triggered", "triggered"]]
    assert out["history_page"][1:] == [True, 2]
    assert out["history_all"][:3] == ["ScheduleCreated", "ScheduleUpdated", "SchedulePaused"]
    assert out["after_delete"] == "ScheduleNotFound"

    assert out["custom_attributes"] == {"Tier": "keyword"}
    assert out["workers"] == ["w-1"] and out["worker"] == "b1"
    assert out["queue"] == ["reports", 1, "accepting"] and out["queues"] == ["reports"]
    assert out["drain"] == ["b1", "draining", True]
    assert out["promote"] == ["active", True]
    assert out["resume_unversioned"] == [None, "active"]
    assert ["b1", "active", True] in out["cohorts"]
    assert out["deregister"] == "deregistered"
    assert {"policy", "candidates"} <= set(out["repair_status"])
    assert out["retention"] == 30
    assert out["bridge"][:2] == ["accepted", True] and out["bridge"][3] == "started_new"
    assert out["bridge_duplicate"] == ["duplicate", "duplicate_start"]
    assert out["deleted_namespace"] == ["billing", "deleted"]
