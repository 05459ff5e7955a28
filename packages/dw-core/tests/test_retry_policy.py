from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dw_core.errors import ServerError
from dw_core.retry_policy import (
    ActivityRetryPolicy,
    ChildWorkflowRetryPolicy,
    RetryPolicy,
    RetryPolicyError,
    TransportRetryPolicy,
    parse_retry_after,
    retry_after_from_exception,
)


def _status_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "http://127.0.0.1/api/health")
    response = httpx.Response(status, headers=headers, request=request)
    return httpx.HTTPStatusError(f"status {status}", request=request, response=response)


# -- TransportRetryPolicy: validation ---------------------------------------------------------------


def test_alias_is_the_same_class() -> None:
    assert RetryPolicy is TransportRetryPolicy


def test_defaults() -> None:
    policy = TransportRetryPolicy()
    assert (policy.max_attempts, policy.initial_backoff_seconds, policy.max_backoff_seconds) == (3, 0.1, 5.0)
    assert policy.backoff_multiplier == 2.0 and policy.jitter is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"initial_backoff_seconds": -1}, "initial_backoff_seconds"),
        ({"initial_backoff_seconds": float("nan")}, "initial_backoff_seconds"),
        ({"max_backoff_seconds": -0.5}, "max_backoff_seconds"),
        ({"backoff_multiplier": 0.5}, "backoff_multiplier"),
        ({"backoff_multiplier": "2"}, "backoff_multiplier"),
        ({"initial_backoff_seconds": 10, "max_backoff_seconds": 1}, "max_backoff_seconds"),
        ({"jitter": "yes"}, "jitter"),
        ({"max_retry_after_seconds": -1}, "max_retry_after_seconds"),
    ],
)
def test_invalid_fields_raise_typed_error_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(RetryPolicyError, match=field) as info:
        TransportRetryPolicy(**kwargs)
    assert isinstance(info.value, ValueError)


# -- backoff ------------------------------------------------------------------------------------------


def test_backoff_without_jitter_is_capped_exponential() -> None:
    policy = TransportRetryPolicy(jitter=False)
    assert [policy.backoff_seconds(n) for n in range(8)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )
    assert policy.backoff_seconds(10_000) == 5.0  # no overflow for huge attempt numbers


def test_backoff_jitter_stays_within_25_percent() -> None:
    policy = TransportRetryPolicy()
    for attempt in range(8):
        base = min(0.1 * 2**attempt, 5.0)
        samples = [policy.backoff_seconds(attempt) for _ in range(300)]
        assert all(0.75 * base <= s <= 1.25 * base for s in samples)
        assert max(samples) - min(samples) > 0.2 * base  # jitter actually spreads the delays


def test_negative_attempt_is_rejected() -> None:
    with pytest.raises(RetryPolicyError):
        TransportRetryPolicy().backoff_seconds(-1)


# -- classification -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.PoolTimeout("pool"),
        httpx.ReadError("reset"),
        _status_error(500),
        _status_error(503),
        _status_error(429),
        ServerError(502, {"reason": "bad_gateway"}),
    ],
)
def test_transient_errors_are_retried(exc: Exception) -> None:
    assert TransportRetryPolicy().should_retry(exc, 1) is True


@pytest.mark.parametrize(
    "exc",
    [
        _status_error(400),
        _status_error(404),
        _status_error(409),
        _status_error(422),
        ServerError(403, {}),
        ValueError("bad"),
        RuntimeError("boom"),
        ConnectionError("not httpx"),
        httpx.RemoteProtocolError("eof"),  # a protocol error, not a network error, in httpx
    ],
)
def test_permanent_errors_are_not_retried(exc: Exception) -> None:
    assert TransportRetryPolicy().should_retry(exc, 1) is False


def test_class_named_like_httpx_outside_httpx_is_not_trusted() -> None:
    class ConnectError(Exception):
        pass

    assert TransportRetryPolicy().should_retry(ConnectError(), 1) is False


def test_attempt_budget_ends_retries() -> None:
    policy = TransportRetryPolicy(max_attempts=3)
    exc = httpx.ConnectError("x")
    assert policy.should_retry(exc, 2) is True
    assert policy.should_retry(exc, 3) is False
    assert TransportRetryPolicy(max_attempts=1).should_retry(exc, 1) is False


def test_pluggable_classifier_takes_precedence_and_can_abstain() -> None:
    class GrpcUnavailable(Exception):
        pass

    def classify(exc: BaseException) -> bool | None:
        if isinstance(exc, GrpcUnavailable):
            return True
        if isinstance(exc, httpx.ConnectError):
            return False
        return None

    policy = TransportRetryPolicy(classifiers=[classify])
    assert policy.should_retry(GrpcUnavailable(), 1) is True
    assert policy.should_retry(httpx.ConnectError("x"), 1) is False
    assert policy.should_retry(_status_error(503), 1) is True  # abstained → built-in rules


# -- Retry-After ----------------------------------------------------------------------------------------


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


def test_retry_delay_honours_retry_after_within_cap() -> None:
    policy = TransportRetryPolicy(jitter=False, max_retry_after_seconds=10)
    assert policy.retry_delay_seconds(0) == pytest.approx(0.1)
    assert policy.retry_delay_seconds(0, retry_after=3) == 3
    assert policy.retry_delay_seconds(0, retry_after=3600) == 10  # a huge header cannot stall us
    assert policy.retry_delay_seconds(5, retry_after=0.01) == pytest.approx(3.2)  # never shorter


def test_retry_after_from_exception_reads_response_header() -> None:
    assert retry_after_from_exception(_status_error(429, {"Retry-After": "2"})) == 2.0
    assert retry_after_from_exception(_status_error(503)) is None
    assert retry_after_from_exception(ValueError()) is None


# -- execute ---------------------------------------------------------------------------------------------


async def test_execute_retries_transient_failures_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", record_sleep)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused")
        return "ok"

    assert await TransportRetryPolicy(jitter=False).execute(flaky) == "ok"
    assert calls == 3
    assert delays == pytest.approx([0.1, 0.2])


async def test_execute_reraises_last_error_after_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    errors = [httpx.ConnectError(f"e{i}") for i in range(5)]
    calls = 0

    async def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise errors[calls - 1]

    with pytest.raises(httpx.ConnectError) as info:
        await TransportRetryPolicy(max_attempts=4).execute(always_fails)
    assert calls == 4 and info.value is errors[3]


async def test_execute_does_not_retry_permanent_errors() -> None:
    calls = 0

    async def bad_request() -> None:
        nonlocal calls
        calls += 1
        raise _status_error(400)

    with pytest.raises(httpx.HTTPStatusError):
        await TransportRetryPolicy().execute(bad_request)
    assert calls == 1


async def test_execute_waits_for_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", record_sleep)
    calls = 0

    async def throttled() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise _status_error(429, {"Retry-After": "4"})
        return calls

    assert await TransportRetryPolicy(jitter=False).execute(throttled) == 2
    assert delays == [4.0]


# -- ActivityRetryPolicy / ChildWorkflowRetryPolicy --------------------------------------------------


def test_activity_policy_default_wire_form() -> None:
    assert ActivityRetryPolicy().to_dict() == {
        "max_attempts": 3,
        "backoff_seconds": [1, 2],
        "non_retryable_error_types": [],
    }


def test_activity_policy_capped_ceiled_steps_and_blank_types_dropped() -> None:
    policy = ActivityRetryPolicy(
        max_attempts=5,
        initial_interval_seconds=1.5,
        backoff_coefficient=3,
        maximum_interval_seconds=10,
        non_retryable_error_types=["ValueError", " ", " KeyError "],
    )
    assert policy.to_dict() == {
        "max_attempts": 5,
        "backoff_seconds": [2, 5, 10, 10],
        "non_retryable_error_types": ["ValueError", "KeyError"],
    }


def test_explicit_backoff_list_clamps_negatives() -> None:
    policy = ActivityRetryPolicy(max_attempts=4, backoff_seconds=[3, -1, 2.7])  # type: ignore[list-item]
    assert policy.to_dict()["backoff_seconds"] == [3, 0, 2]


def test_single_attempt_has_no_backoff() -> None:
    assert ActivityRetryPolicy(max_attempts=1).to_dict()["backoff_seconds"] == []


def test_unbounded_growth_is_reported_not_overflowed() -> None:
    policy = ActivityRetryPolicy(max_attempts=2000, backoff_coefficient=10)
    with pytest.raises(RetryPolicyError, match="maximum_interval_seconds"):
        policy.to_dict()
    capped = ActivityRetryPolicy(max_attempts=2000, backoff_coefficient=10, maximum_interval_seconds=60)
    assert capped.to_dict()["backoff_seconds"][-1] == 60


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_interval_seconds": -1}, "initial_interval_seconds"),
        ({"backoff_coefficient": 0.9}, "backoff_coefficient"),
        ({"maximum_interval_seconds": -1}, "maximum_interval_seconds"),
        ({"non_retryable_error_types": "ValueError"}, "non_retryable_error_types"),
        ({"non_retryable_error_types": [ValueError]}, "non_retryable_error_types"),
        ({"backoff_seconds": ["1"]}, "backoff_seconds"),
    ],
)
def test_activity_policy_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ActivityRetryPolicy(**kwargs)


def test_child_policy_has_same_wire_form_and_round_trips() -> None:
    child = ChildWorkflowRetryPolicy(max_attempts=2, non_retryable_error_types=["Boom"])
    assert isinstance(child, ActivityRetryPolicy)
    wire = child.to_dict()
    assert wire == {"max_attempts": 2, "backoff_seconds": [1], "non_retryable_error_types": ["Boom"]}
    again = ChildWorkflowRetryPolicy.from_dict(wire)
    assert type(again) is ChildWorkflowRetryPolicy
    assert again.to_dict() == wire
    with pytest.raises(RetryPolicyError):
        ActivityRetryPolicy.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


# -- wire parity with the published SDK ------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[3]


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


_REFERENCE_WIRE_SCRIPT = """
import json, sys
from durable_workflow.workflow import ActivityRetryPolicy
print(json.dumps([ActivityRetryPolicy(**kwargs).to_dict() for kwargs in json.load(sys.stdin)]))
"""


def _policy_grid() -> list[dict[str, Any]]:
    grid: list[dict[str, Any]] = []
    for max_attempts in (1, 2, 3, 5, 8):
        for initial in (0, 0.25, 1, 1.5, 2.3):
            for coefficient in (1, 1.5, 2, 3):
                for maximum in (None, 0, 1, 4.5, 10):
                    grid.append(
                        {
                            "max_attempts": max_attempts,
                            "initial_interval_seconds": initial,
                            "backoff_coefficient": coefficient,
                            "maximum_interval_seconds": maximum,
                        }
                    )
    grid.append({"max_attempts": 4, "backoff_seconds": [5, -2, 7.9, 0]})
    grid.append({"non_retryable_error_types": ["ValueError", "", "  ", " KeyError"]})
    return grid


@pytest.mark.reference_sdk
def test_activity_retry_policy_wire_form_matches_published_sdk() -> None:
    grid = _policy_grid()
    result = subprocess.run(
        [_reference_python(), "-c", _REFERENCE_WIRE_SCRIPT],
        input=json.dumps(grid),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)
    ours = [ActivityRetryPolicy(**kwargs).to_dict() for kwargs in grid]
    mismatches = [(kwargs, o, t) for kwargs, o, t in zip(grid, ours, theirs, strict=True) if o != t]
    assert not mismatches, mismatches[:5]
