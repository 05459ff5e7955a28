"""Schedules over real HTTP against an in-process dev server on a virtual clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig
from dw_devserver.runtime import Runtime

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = Rejections = Any


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[tuple[str, Runtime]]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running.url, running.runtime


@pytest.fixture
def api(server: tuple[str, Runtime], api_factory: ApiFactory) -> Api:
    """An operator on this module's server (api_factory closes it at teardown)."""
    return api_factory(server[0])


async def skip(rt: Runtime, seconds: float) -> None:
    """Move the virtual clock and let the scheduler process everything that came due."""
    rt.clock.advance(seconds)
    await rt.scheduler.settle()


def interval_schedule(schedule_id: str, policy: str, **extra: Any) -> dict[str, Any]:
    return {
        "schedule_id": schedule_id,
        "spec": {"intervals": [{"every": "PT10M"}]},
        "action": {"workflow_type": "reports.build", "task_queue": "reports"},
        "overlap_policy": policy,
        **extra,
    }


def align_to_ten_minutes(rt: Runtime) -> None:
    """Put the virtual clock 1 s after a 10-minute boundary, so an hour holds exactly 6 fires."""
    now = rt.clock.now()
    rt.clock.advance(600 - (now % 600) + 1)


# --------------------------------------------------------------------------------------- shapes


async def test_create_describe_list_carry_the_fixture_shapes(
    api: Api, recorded_fixture: RecordedFixture
) -> None:
    create = recorded_fixture("schedule-create")
    response = await api.call("POST", "/schedules", create["request"]["body"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(create["response_body"]) <= set(body)
    assert (body["schedule_id"], body["outcome"], body["status"]) == (
        "daily-inventory-check",
        "created",
        "paused",
    )

    described = (await api.call("GET", "/schedules/daily-inventory-check")).json()
    assert set(recorded_fixture("schedule-describe")["response_body"]) <= set(described)
    assert described["spec"] == {"cron_expressions": ["15 7 * * *"], "timezone": "UTC"}
    assert described["action"]["input"] == [{"warehouse": "west-1", "threshold": 25}]
    assert (described["status"], described["paused"], described["overlap_policy"]) == (
        "paused",
        True,
        "buffer_one",
    )
    assert (described["jitter_seconds"], described["max_runs"], described["remaining_actions"]) == (
        45,
        30,
        30,
    )
    assert described["state"] == {"status": "paused", "paused": True, "note": "created from parity fixture"}
    assert described["next_fire_at"] is None  # paused schedules do not fire

    listed = (await api.call("GET", "/schedules")).json()
    item_keys = set(recorded_fixture("schedule-list")["response_body"]["schedules"][0])
    assert [s["schedule_id"] for s in listed["schedules"]] == ["daily-inventory-check"]
    assert item_keys <= set(listed["schedules"][0])
    assert "next_page_token" in listed


async def test_cron_next_fire_and_jitter_follow_the_server_clock(
    server: tuple[str, Runtime], api: Api
) -> None:
    _, rt = server
    spec = {"cron_expressions": ["15 7 * * *"], "timezone": "UTC"}
    action = {"workflow_type": "inventory.check"}
    assert (
        await api.call("POST", "/schedules", {"schedule_id": "cron", "spec": spec, "action": action})
    ).is_success
    now = datetime.fromtimestamp(rt.clock.now(), tz=timezone.utc)
    expected = now.replace(hour=7, minute=15, second=0, microsecond=0)
    if expected <= now:
        expected += timedelta(days=1)
    described = (await api.call("GET", "/schedules/cron")).json()
    assert datetime.fromisoformat(described["next_fire_at"].replace("Z", "+00:00")) == expected

    body = {"schedule_id": "jittery", "spec": spec, "action": action, "jitter_seconds": 45}
    assert (await api.call("POST", "/schedules", body)).is_success
    jittered = datetime.fromisoformat(
        (await api.call("GET", "/schedules/jittery")).json()["next_fire_at"].replace("Z", "+00:00")
    )
    assert expected <= jittered <= expected + timedelta(seconds=45)


# ----------------------------------------------------------------------------- virtual clock fires


@pytest.mark.parametrize(
    ("policy", "started", "skipped"),
    [
        ("skip", 1, 5),
        ("allow_all", 6, 0),
        ("buffer_one", 1, 4),
        ("cancel_other", 6, 0),
        ("terminate_other", 6, 0),
    ],
)
async def test_interval_fires_per_overlap_policy_when_an_hour_is_skipped(
    server: tuple[str, Runtime], api: Api, policy: str, started: int, skipped: int
) -> None:
    _, rt = server
    align_to_ten_minutes(rt)
    assert (await api.call("POST", "/schedules", interval_schedule("every-10m", policy))).status_code == 201
    await skip(rt, 3600)

    described = (await api.call("GET", "/schedules/every-10m")).json()
    assert described["fires_count"] == started
    assert described["info"]["skipped_trigger_count"] == skipped
    runs = rt.store.all(
        "SELECT workflow_id, status FROM runs WHERE namespace = 'default' ORDER BY workflow_id"
    )
    assert len(runs) == started  # no worker runs them: every started workflow is still open or was closed
    open_runs = [r for r in runs if r["status"] in ("pending", "running", "waiting")]
    assert len(open_runs) == 1 if policy != "allow_all" else len(open_runs) == 6
    if policy == "cancel_other":
        assert sorted(r["status"] for r in runs).count("cancelled") == 5
    if policy == "terminate_other":
        assert sorted(r["status"] for r in runs).count("terminated") == 5
    if policy == "buffer_one":
        assert len(described["info"]["buffered_actions"]) == 1
        # Closing the running workflow releases the buffered fire.
        latest = described["latest_workflow_instance_id"]
        assert (await api.call("POST", f"/workflows/{latest}/terminate", {})).status_code == 200
        await rt.scheduler.settle()
        after = (await api.call("GET", "/schedules/every-10m")).json()
        assert after["fires_count"] == 2 and after["info"]["buffered_actions"] == []
        assert after["latest_workflow_instance_id"] != latest


async def test_max_runs_stops_automatic_fires(server: tuple[str, Runtime], api: Api) -> None:
    _, rt = server
    align_to_ten_minutes(rt)
    body = interval_schedule("limited", "allow_all", max_runs=2)
    assert (await api.call("POST", "/schedules", body)).status_code == 201
    await skip(rt, 3600)
    described = (await api.call("GET", "/schedules/limited")).json()
    assert (described["fires_count"], described["remaining_actions"], described["next_fire_at"]) == (
        2,
        0,
        None,
    )


async def test_paused_schedule_does_not_fire_and_resume_restarts_from_now(
    server: tuple[str, Runtime], api: Api, recorded_fixture: RecordedFixture
) -> None:
    _, rt = server
    align_to_ten_minutes(rt)
    assert (
        await api.call("POST", "/schedules", interval_schedule("pausable", "allow_all"))
    ).status_code == 201
    pause = await api.call("POST", "/schedules/pausable/pause", {"note": "maintenance"})
    assert pause.status_code == 200
    assert set(recorded_fixture("schedule-pause")["response_body"]) <= set(pause.json())
    await skip(rt, 3600)
    assert (await api.call("GET", "/schedules/pausable")).json()["fires_count"] == 0
    resume = await api.call("POST", "/schedules/pausable/resume", {"note": "done"})
    assert resume.status_code == 200 and resume.json()["note"] == "done"
    assert set(recorded_fixture("schedule-resume")["response_body"]) <= set(resume.json())
    await skip(rt, 600)
    described = (await api.call("GET", "/schedules/pausable")).json()
    assert (described["fires_count"], described["status"], described["note"]) == (1, "active", "done")


# ------------------------------------------------------------------------ trigger, backfill, update


async def test_trigger_starts_a_workflow_and_honours_a_one_off_policy(
    api: Api, server: tuple[str, Runtime], recorded_fixture: RecordedFixture
) -> None:
    _, rt = server
    assert (await api.call("POST", "/schedules", interval_schedule("manual", "skip"))).status_code == 201
    first = await api.call("POST", "/schedules/manual/trigger", {})
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "triggered" and first.json()["run_id"]
    assert set(recorded_fixture("schedule-trigger")["response_body"]) <= set(first.json())
    run = rt.store.one(
        "SELECT workflow_type, task_queue FROM runs WHERE run_id = ?", (first.json()["run_id"],)
    )
    assert run is not None and (run["workflow_type"], run["task_queue"]) == ("reports.build", "reports")

    second = (await api.call("POST", "/schedules/manual/trigger", {})).json()
    assert (second["outcome"], second["reason"]) == ("skipped", "previous_run_in_progress")
    forced = (await api.call("POST", "/schedules/manual/trigger", {"overlap_policy": "allow_all"})).json()
    assert forced["outcome"] == "triggered" and forced["workflow_id"] != first.json()["workflow_id"]


async def test_backfill_replays_the_window_through_the_overlap_policy(
    api: Api, recorded_fixture: RecordedFixture
) -> None:
    body = {
        "schedule_id": "daily-inventory-check",
        "spec": {"intervals": [{"every": "PT30M"}]},
        "action": {"workflow_type": "inventory.check", "task_queue": "inventory"},
    }
    assert (await api.call("POST", "/schedules", body)).status_code == 201
    request = recorded_fixture("schedule-backfill")["request"]
    response = await api.call("POST", "/schedules/daily-inventory-check/backfill", request["body"])
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(recorded_fixture("schedule-backfill")["response_body"]) <= set(result)
    assert result["fires_attempted"] == 7  # 00:00 .. 03:00 inclusive every 30 minutes
    assert [r["outcome"] for r in result["results"]] == ["triggered"] + ["buffered"] * 6
    assert result["results"][0]["fire_time"].startswith("2026-04-20T00:00:00")
    assert result["results"][0]["workflow_id"] == "daily-inventory-check-20260420T000000Z"
    assert [r["buffer_depth"] for r in result["results"][1:]] == [1, 2, 3, 4, 5, 6]


async def test_unknown_top_level_fields_are_ignored_not_stored(api: Api, server: tuple[str, Runtime]) -> None:
    body = {**interval_schedule("lenient", "skip"), "owner": "team-a", "priority_hint": 3}
    assert (await api.call("POST", "/schedules", body)).status_code == 201
    described = (await api.call("GET", "/schedules/lenient")).json()
    assert "owner" not in described and "priority_hint" not in described
    row = server[1].store.one("SELECT * FROM schedules WHERE schedule_id = 'lenient'")
    assert row is not None and "team-a" not in json.dumps(dict(row))


async def test_update_merges_action_and_is_audited(api: Api, recorded_fixture: RecordedFixture) -> None:
    assert (await api.call("POST", "/schedules", interval_schedule("editable", "skip"))).status_code == 201
    request = recorded_fixture("schedule-update")["request"]
    response = await api.call("PUT", "/schedules/editable", request["body"])
    assert response.status_code == 200, response.text
    assert set(recorded_fixture("schedule-update")["response_body"]) <= set(response.json())
    described = (await api.call("GET", "/schedules/editable")).json()
    assert described["spec"] == {"intervals": [{"every": "PT30M"}]}
    assert described["action"]["task_queue"] == "inventory-priority"
    assert described["action"]["workflow_type"] == "inventory.check"
    assert (described["jitter_seconds"], described["max_runs"], described["note"]) == (
        15,
        100,
        "tighten inventory threshold",
    )
    # Only one field: the rest of the action is kept.
    await api.call("PUT", "/schedules/editable", {"action": {"task_queue": "q2"}})
    again = (await api.call("GET", "/schedules/editable")).json()
    assert again["action"]["workflow_type"] == "inventory.check" and again["action"]["task_queue"] == "q2"


async def test_history_pages_and_survives_delete(api: Api, recorded_fixture: RecordedFixture) -> None:
    assert (
        await api.call("POST", "/schedules", interval_schedule("audited", "allow_all"))
    ).status_code == 201
    await api.call("POST", "/schedules/audited/pause", {})
    await api.call("POST", "/schedules/audited/resume", {})
    await api.call("POST", "/schedules/audited/trigger", {})
    deleted = await api.call("DELETE", "/schedules/audited")
    assert deleted.status_code == 200 and deleted.json()["outcome"] == "deleted"
    assert (await api.call("GET", "/schedules/audited")).status_code == 404
    assert (await api.call("GET", "/schedules")).json()["schedules"] == []

    page = (await api.call("GET", "/schedules/audited/history", params={"limit": 2})).json()
    assert [e["event_type"] for e in page["events"]] == ["ScheduleCreated", "SchedulePaused"]
    assert (page["has_more"], page["next_cursor"]) == (True, 2)
    rest = (
        await api.call("GET", "/schedules/audited/history", params={"after_sequence": page["next_cursor"]})
    ).json()
    assert [e["event_type"] for e in rest["events"]] == [
        "ScheduleResumed",
        "ScheduleTriggered",
        "ScheduleDeleted",
    ]
    assert (rest["has_more"], rest["next_cursor"]) == (False, None)
    triggered = rest["events"][1]
    assert triggered["workflow_instance_id"] and triggered["workflow_run_id"]
    assert set(recorded_fixture("schedule-history")["response_body"]["events"][0]) <= set(triggered)

    # The id can be reused after delete; the audit stream continues.
    assert (await api.call("POST", "/schedules", interval_schedule("audited", "skip"))).status_code == 201
    full = (await api.call("GET", "/schedules/audited/history")).json()
    assert [e["sequence"] for e in full["events"]] == [1, 2, 3, 4, 5, 6]


# ------------------------------------------------------------------------------------ rejections


async def test_rejections_have_spec_reasons_and_change_nothing(
    server: tuple[str, Runtime], api: Api, api_factory: ApiFactory, snap: Snapshot, rejections: Rejections
) -> None:
    base, rt = server
    assert (await api.call("POST", "/schedules", interval_schedule("existing", "skip"))).status_code == 201
    before = snap(rt)

    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (api, "POST", "/schedules", b"{not json", 400, "malformed_json"),
        (api, "POST", "/schedules", {"action": {"workflow_type": "x"}}, 422, "validation_failed"),
        (api, "POST", "/schedules", {"spec": {"intervals": [{"every": "PT1M"}]}}, 422, "validation_failed"),
        (
            api,
            "POST",
            "/schedules",
            {**interval_schedule("x", "skip"), "spec": {"calendars": []}},
            422,
            "validation_failed",
        ),
        (api, "POST", "/schedules", interval_schedule("x", "reject"), 422, "validation_failed"),
        (
            api,
            "POST",
            "/schedules",
            {**interval_schedule("x", "skip"), "jitter_seconds": 3601},
            422,
            "validation_failed",
        ),
        (api, "POST", "/schedules", {**interval_schedule("bad id!", "skip")}, 422, "validation_failed"),
        (
            api,
            "POST",
            "/schedules",
            {**interval_schedule("x", "skip"), "memo": {"blob": "x" * 300_000}},
            422,
            "memo_too_large",
        ),
        (api, "POST", "/schedules", interval_schedule("existing", "skip"), 409, "schedule_already_exists"),
        (
            api,
            "PUT",
            "/schedules/existing",
            {"spec": {"cron_expressions": ["99 * * * *"]}},
            422,
            "validation_failed",
        ),
        (
            api,
            "POST",
            "/schedules/existing/backfill",
            {"start_time": "2026-04-20T03:00:00Z", "end_time": "2026-04-20T00:00:00Z"},
            422,
            "invalid_time_range",
        ),
        (
            api,
            "POST",
            "/schedules/existing/backfill",
            {"start_time": "yesterday", "end_time": "today"},
            422,
            "validation_failed",
        ),
        (
            api,
            "POST",
            "/schedules/existing/trigger",
            {"overlap_policy": "sometimes"},
            422,
            "validation_failed",
        ),
        (api, "GET", "/schedules/existing/history?after_sequence=-1", None, 422, "invalid_after_sequence"),
        (api_factory(base, version=None), "GET", "/schedules", None, 400, "missing_control_plane_version"),
        (
            api_factory(base, version="1"),
            "POST",
            "/schedules",
            interval_schedule("y", "skip"),
            400,
            "unsupported_control_plane_version",
        ),
        (api_factory(base, token="wrong"), "GET", "/schedules", None, 401, "unauthorized"),
        (api_factory(base, token=None), "GET", "/schedules", None, 401, "unauthorized"),
        (
            api_factory(base, token="worker-token"),
            "POST",
            "/schedules",
            interval_schedule("y", "skip"),
            403,
            "forbidden",
        ),
        (
            api_factory(base, namespace="nowhere"),
            "POST",
            "/schedules",
            interval_schedule("y", "skip"),
            404,
            "namespace_not_found",
        ),
    ]
    for route in ("", "/pause", "/resume", "/trigger", "/history"):
        method = "GET" if route in ("", "/history") else "POST"
        cases.append(
            (
                api,
                method,
                f"/schedules/missing{route}",
                {} if method == "POST" else None,
                404,
                "schedule_not_found",
            )
        )
    cases.append((api, "PUT", "/schedules/missing", {"note": "x"}, 404, "schedule_not_found"))
    cases.append((api, "DELETE", "/schedules/missing", None, 404, "schedule_not_found"))
    cases.append(
        (
            api,
            "POST",
            "/schedules/missing/backfill",
            {"start_time": "2026-04-20T00:00:00Z", "end_time": "2026-04-20T03:00:00Z"},
            404,
            "schedule_not_found",
        )
    )
    for case, response in zip(cases, await rejections(cases), strict=True):
        if case[5] == "validation_failed":
            assert response.json()["errors"], response.text
    assert snap(rt) == before


async def test_schedules_are_isolated_per_namespace(
    server: tuple[str, Runtime], api: Api, api_factory: ApiFactory
) -> None:
    base, _ = server
    admin = api_factory(base, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    assert (await api.call("POST", "/schedules", interval_schedule("shared-id", "skip"))).status_code == 201
    billing = api_factory(base, namespace="billing")
    assert (await billing.call("GET", "/schedules/shared-id")).json()["reason"] == "schedule_not_found"
    assert (await billing.call("GET", "/schedules")).json()["schedules"] == []
    # The same id is free in the other namespace.
    assert (
        await billing.call("POST", "/schedules", interval_schedule("shared-id", "allow_all"))
    ).status_code == 201
    assert (await api.call("GET", "/schedules/shared-id")).json()["overlap_policy"] == "skip"


async def test_schedules_and_their_audit_survive_a_restart(
    tmp_path: Path, api_factory: ApiFactory, dev_tokens: dict[str, str]
) -> None:
    db = str(tmp_path / "schedules.db")
    config = ServerConfig(role_tokens=dev_tokens)
    async with DevServer.start(db=db, virtual_clock=True, config=config) as first:
        caller = api_factory(first.url)
        assert (
            await caller.call("POST", "/schedules", interval_schedule("durable", "allow_all"))
        ).status_code == 201
        assert (await caller.call("POST", "/schedules/durable/trigger", {})).json()["outcome"] == "triggered"
        await caller.client.aclose()
    async with DevServer.start(db=db, virtual_clock=True, config=config) as second:
        caller = api_factory(second.url)
        described = (await caller.call("GET", "/schedules/durable")).json()
        assert (described["fires_count"], described["status"]) == (1, "active")
        await second.skip(3600)
        assert (await caller.call("GET", "/schedules/durable")).json()["fires_count"] == 7
        events = (await caller.call("GET", "/schedules/durable/history")).json()["events"]
        assert [e["event_type"] for e in events] == ["ScheduleCreated"] + ["ScheduleTriggered"] * 7
        await caller.client.aclose()
