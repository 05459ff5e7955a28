"""Schedule specs: validation and next-fire computation for cron expressions and fixed intervals.

Interval fires are anchored to the Unix epoch (plus the optional offset), so the fire grid is a pure
function of the spec and never drifts across restarts, updates or pauses. Cron expressions are
evaluated in the spec's timezone (IANA name, default UTC), so DST shifts follow local wall time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]

from dw_devserver.control.field_errors import FieldErrors

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_CRON_EXPRESSIONS = 32
_MAX_INTERVALS = 32
_SPEC_KEYS = frozenset({"cron_expressions", "intervals", "timezone"})


def parse_iso_duration(text: str) -> int:
    """Whole seconds of an ISO-8601 duration such as ``PT30M`` or ``P1DT2H``.

    Years and months are refused because their length depends on the calendar, which would make
    an interval grid ambiguous.
    """
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO-8601 duration of weeks/days/hours/minutes/seconds (e.g. 'PT30M', 'P1D')."
        )
    parts = {key: int(value) for key, value in match.groupdict().items() if value is not None}
    return (
        parts.get("weeks", 0) * 604800
        + parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


@dataclass(frozen=True)
class IntervalSpec:
    """Fire every ``every_seconds`` at epoch + offset + k * every."""

    every: str
    every_seconds: int
    offset: str | None
    offset_seconds: int

    def to_json(self) -> dict[str, Any]:
        """The wire form, as the client sent it."""
        data: dict[str, Any] = {"every": self.every}
        if self.offset is not None:
            data["offset"] = self.offset
        return data

    def next_after(self, after: datetime) -> datetime:
        """The first grid point strictly later than ``after``."""
        elapsed = (after - _EPOCH) // timedelta(seconds=1) - self.offset_seconds
        steps = elapsed // self.every_seconds + 1
        return _EPOCH + timedelta(seconds=steps * self.every_seconds + self.offset_seconds)


@dataclass(frozen=True)
class ScheduleSpec:
    """A validated schedule spec: any mix of cron expressions and intervals in one timezone."""

    cron_expressions: tuple[str, ...]
    intervals: tuple[IntervalSpec, ...]
    timezone: str | None

    @property
    def zone(self) -> tzinfo:
        """The tzinfo cron expressions are evaluated in."""
        return ZoneInfo(self.timezone) if self.timezone and self.timezone.upper() != "UTC" else timezone.utc

    def to_json(self) -> dict[str, Any]:
        """The wire form (only keys that were given)."""
        data: dict[str, Any] = {}
        if self.cron_expressions:
            data["cron_expressions"] = list(self.cron_expressions)
        if self.intervals:
            data["intervals"] = [interval.to_json() for interval in self.intervals]
        if self.timezone is not None:
            data["timezone"] = self.timezone
        return data

    def next_fire_after(self, after: datetime) -> datetime:
        """The earliest fire time strictly later than ``after`` (UTC)."""
        candidates = [interval.next_after(after) for interval in self.intervals]
        if self.cron_expressions:
            local_after = after.astimezone(self.zone)
            for expression in self.cron_expressions:
                fire = croniter(expression, local_after).get_next(datetime)
                candidates.append(fire.astimezone(timezone.utc))
        return min(candidates).astimezone(timezone.utc)

    def fires_between(self, start: datetime, end: datetime, limit: int) -> Iterator[datetime]:
        """Fire times in ``[start, end]`` in order, at most ``limit`` of them."""
        cursor = start - timedelta(microseconds=1)
        produced = 0
        while produced < limit:
            fire = self.next_fire_after(cursor)
            if fire > end:
                return
            yield fire
            produced += 1
            cursor = fire


def parse_schedule_spec(raw: Any) -> ScheduleSpec:
    """Validate the ``spec`` object of a create/update request.

    Raises :class:`FieldErrors` keyed by ``spec.<field>`` paths, so the caller can return a 422 that
    names exactly what to fix.
    """
    errors = FieldErrors()
    if not isinstance(raw, Mapping):
        raise FieldErrors.single("spec", "The spec must be an object with cron_expressions and/or intervals.")
    for key in raw:
        if key not in _SPEC_KEYS:
            errors.add(
                f"spec.{key}", f"Unknown spec field {key!r}; allowed: cron_expressions, intervals, timezone."
            )

    tz_name = raw.get("timezone")
    if tz_name is not None:
        if not isinstance(tz_name, str) or not tz_name.strip() or len(tz_name) > 64:
            errors.add("spec.timezone", "The timezone must be an IANA name ≤ 64 chars, e.g. 'UTC'.")
            tz_name = None
        elif tz_name.upper() != "UTC":
            try:
                ZoneInfo(tz_name)
            except (ZoneInfoNotFoundError, ValueError):
                errors.add(
                    "spec.timezone", f"Unknown timezone {tz_name!r}; use an IANA name (e.g. 'Asia/Tokyo')."
                )
                tz_name = None

    crons: list[str] = []
    raw_crons = raw.get("cron_expressions")
    if raw_crons is not None:
        if not isinstance(raw_crons, list) or len(raw_crons) > _MAX_CRON_EXPRESSIONS:
            errors.add(
                "spec.cron_expressions",
                f"cron_expressions must be a list of at most {_MAX_CRON_EXPRESSIONS} strings.",
            )
        else:
            for index, expression in enumerate(raw_crons):
                if not isinstance(expression, str) or not croniter.is_valid(expression.strip()):
                    errors.add(
                        f"spec.cron_expressions.{index}",
                        f"{expression!r} is not a valid cron expression "
                        "(5 fields: minute hour day-of-month month day-of-week).",
                    )
                else:
                    crons.append(expression.strip())

    intervals: list[IntervalSpec] = []
    raw_intervals = raw.get("intervals")
    if raw_intervals is not None:
        if not isinstance(raw_intervals, list) or len(raw_intervals) > _MAX_INTERVALS:
            errors.add("spec.intervals", f"intervals must be a list of at most {_MAX_INTERVALS} objects.")
        else:
            for index, item in enumerate(raw_intervals):
                interval = _parse_interval(item, f"spec.intervals.{index}", errors)
                if interval is not None:
                    intervals.append(interval)

    if not errors.errors and not crons and not intervals:
        errors.add("spec", "The spec needs at least one cron expression or interval.")
    errors.raise_if_any()
    return ScheduleSpec(tuple(crons), tuple(intervals), tz_name)


def _parse_interval(item: Any, field: str, errors: FieldErrors) -> IntervalSpec | None:
    if not isinstance(item, Mapping):
        errors.add(field, "Each interval must be an object like {'every': 'PT30M'}.")
        return None
    unknown = [key for key in item if key not in ("every", "offset")]
    for key in unknown:
        errors.add(f"{field}.{key}", f"Unknown interval field {key!r}; allowed: every, offset.")
    every = item.get("every")
    if not isinstance(every, str) or len(every) > 64:
        errors.add(f"{field}.every", "every is required: an ISO-8601 duration (≤ 64 chars), e.g. 'PT30M'.")
        return None
    try:
        every_seconds = parse_iso_duration(every)
    except ValueError as exc:
        errors.add(f"{field}.every", str(exc))
        return None
    if every_seconds < 1:
        errors.add(f"{field}.every", "every must be at least one second.")
        return None
    offset = item.get("offset")
    offset_seconds = 0
    if offset is not None:
        if not isinstance(offset, str) or len(offset) > 64:
            errors.add(f"{field}.offset", "offset must be an ISO-8601 duration of at most 64 characters.")
            return None
        try:
            offset_seconds = parse_iso_duration(offset)
        except ValueError as exc:
            errors.add(f"{field}.offset", str(exc))
            return None
    if unknown:
        return None
    return IntervalSpec(every, every_seconds, offset, offset_seconds % every_seconds)
