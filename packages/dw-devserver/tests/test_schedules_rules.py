"""Pure schedule rules: spec validation, next-fire computation, overlap decisions and jitter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from dw_devserver.control.field_errors import FieldErrors
from dw_devserver.schedules.policy import (
    MAX_BUFFERED_FIRES,
    FireAction,
    decide_fire,
    jitter_offset,
    workflow_id_for_fire,
)
from dw_devserver.schedules.spec import parse_iso_duration, parse_schedule_spec

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT30M", 1800), ("PT1H30M", 5400), ("P1D", 86400), ("P1W", 604800), ("P1DT2H3M4S", 93784), ("pt5s", 5)],
)
def test_iso_durations_parse_to_seconds(text: str, seconds: int) -> None:
    assert parse_iso_duration(text) == seconds


@pytest.mark.parametrize("text", ["P1M", "P1Y", "30m", "PT", "P", "P1DT", "", "PT-5S"])
def test_calendar_and_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_iso_duration(text)


def test_daily_cron_next_fire_is_the_next_matching_minute() -> None:
    spec = parse_schedule_spec({"cron_expressions": ["15 7 * * *"], "timezone": "UTC"})
    assert spec.next_fire_after(at("2026-04-22T05:00:00Z")) == at("2026-04-22T07:15:00Z")
    # Strictly later: a fire exactly at 07:15 is followed by tomorrow's.
    assert spec.next_fire_after(at("2026-04-22T07:15:00Z")) == at("2026-04-23T07:15:00Z")


def test_cron_is_evaluated_in_the_spec_timezone_across_dst() -> None:
    spec = parse_schedule_spec({"cron_expressions": ["0 9 * * *"], "timezone": "Europe/Paris"})
    # Winter: UTC+1, summer (after 2026-03-29): UTC+2.
    assert spec.next_fire_after(at("2026-03-27T12:00:00Z")) == at("2026-03-28T08:00:00Z")
    assert spec.next_fire_after(at("2026-03-28T12:00:00Z")) == at("2026-03-29T07:00:00Z")


def test_interval_grid_is_anchored_to_the_epoch_plus_offset() -> None:
    spec = parse_schedule_spec({"intervals": [{"every": "PT30M", "offset": "PT5M"}]})
    assert spec.next_fire_after(at("2026-04-22T05:00:00Z")) == at("2026-04-22T05:05:00Z")
    assert spec.next_fire_after(at("2026-04-22T05:05:00Z")) == at("2026-04-22T05:35:00Z")
    assert spec.next_fire_after(at("2026-04-22T05:04:59.900000Z")) == at("2026-04-22T05:05:00Z")


def test_mixed_spec_takes_the_earliest_candidate() -> None:
    spec = parse_schedule_spec({"cron_expressions": ["0 6 * * *"], "intervals": [{"every": "PT4H"}]})
    assert spec.next_fire_after(at("2026-04-22T05:00:00Z")) == at("2026-04-22T06:00:00Z")
    assert spec.next_fire_after(at("2026-04-22T06:00:00Z")) == at("2026-04-22T08:00:00Z")


def test_fires_between_is_inclusive_and_bounded() -> None:
    spec = parse_schedule_spec({"intervals": [{"every": "PT30M"}]})
    fires = list(spec.fires_between(at("2026-04-20T00:00:00Z"), at("2026-04-20T03:00:00Z"), limit=100))
    assert fires[0] == at("2026-04-20T00:00:00Z") and fires[-1] == at("2026-04-20T03:00:00Z")
    assert len(fires) == 7
    assert len(list(spec.fires_between(at("2026-04-20T00:00:00Z"), at("2026-04-21T00:00:00Z"), limit=5))) == 5


def test_spec_round_trips_to_the_wire_form_it_came_from() -> None:
    raw = {"cron_expressions": ["15 7 * * *"], "intervals": [{"every": "PT30M"}], "timezone": "UTC"}
    assert parse_schedule_spec(raw).to_json() == raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "spec"),
        ([], "spec"),
        ({"cron_expressions": ["61 * * * *"]}, "spec.cron_expressions.0"),
        ({"cron_expressions": "0 6 * * *"}, "spec.cron_expressions"),
        ({"intervals": [{"every": "P1M"}]}, "spec.intervals.0.every"),
        ({"intervals": [{}]}, "spec.intervals.0.every"),
        ({"intervals": [{"every": "PT0S"}]}, "spec.intervals.0.every"),
        ({"intervals": [{"every": "PT1M", "jitter": 3}]}, "spec.intervals.0.jitter"),
        ({"cron_expressions": ["0 6 * * *"], "timezone": "Mars/Olympus"}, "spec.timezone"),
        ({"cron_expressions": ["0 6 * * *"], "calendars": []}, "spec.calendars"),
    ],
)
def test_invalid_specs_name_the_offending_field(raw: object, field: str) -> None:
    with pytest.raises(FieldErrors) as caught:
        parse_schedule_spec(raw)
    assert field in caught.value.errors


def test_overlap_policies_with_an_open_previous_run() -> None:
    assert decide_fire("skip", True, 0).action is FireAction.SKIP
    assert decide_fire("allow_all", True, 0).action is FireAction.START
    assert decide_fire("cancel_other", True, 0).action is FireAction.CANCEL_OTHER_THEN_START
    assert decide_fire("terminate_other", True, 0).action is FireAction.TERMINATE_OTHER_THEN_START
    first = decide_fire("buffer_one", True, 0)
    assert (first.action, first.buffer_depth) == (FireAction.BUFFER, 1)
    assert decide_fire("buffer_one", True, 1).action is FireAction.BUFFER_FULL
    assert decide_fire("buffer_all", True, 5).buffer_depth == 6
    assert decide_fire("buffer_all", True, MAX_BUFFERED_FIRES).action is FireAction.BUFFER_FULL


def test_no_open_run_starts_unless_older_fires_are_queued() -> None:
    for policy in ("skip", "cancel_other", "terminate_other", "allow_all", "buffer_one", "buffer_all"):
        assert decide_fire(policy, False, 0).action is FireAction.START
    # Buffered fires keep their order: a new fire queues behind them.
    assert decide_fire("buffer_all", False, 2).action is FireAction.BUFFER
    with pytest.raises(ValueError):
        decide_fire("reject", False, 0)


def test_jitter_is_bounded_and_deterministic() -> None:
    fire = at("2026-04-22T06:00:00Z")
    offsets = {jitter_offset("sched", fire + timedelta(hours=h), 45) for h in range(200)}
    assert all(timedelta(0) <= o <= timedelta(seconds=45) for o in offsets)
    assert len(offsets) > 10  # spread, not a constant
    assert jitter_offset("sched", fire, 45) == jitter_offset("sched", fire, 45)
    assert jitter_offset("sched", fire, 0) == timedelta(0)


def test_fire_workflow_ids_are_stable_valid_and_bounded() -> None:
    fire = at("2026-04-20T00:30:00Z")
    assert workflow_id_for_fire("inventory", fire) == "inventory-20260420T003000Z"
    assert workflow_id_for_fire("inventory", fire, manual_sequence=7) == "inventory-manual-7"
    long_id = workflow_id_for_fire("s" * 128, fire)
    assert len(long_id) <= 128 and long_id.endswith("20260420T003000Z")
    assert long_id != workflow_id_for_fire("s" * 127 + "t", fire)
