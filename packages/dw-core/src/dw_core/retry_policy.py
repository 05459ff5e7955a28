"""Retry policies: HTTP transport retries of SDK calls, and durable retries of activities/children.

``TransportRetryPolicy`` only decides whether an SDK HTTP call is tried again; it never applies to
workflow or activity code. ``ActivityRetryPolicy`` / ``ChildWorkflowRetryPolicy`` are sent to the
server with the command and snapshotted into history, where the server enforces them.

Core does not import ``httpx``: httpx exceptions are recognised by their class names along the MRO
(``ConnectError``, ``TimeoutException``, ``NetworkError``, ``HTTPStatusError``), and a client with other
transports can plug a :class:`TransportErrorClassifier`.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from dw_core.errors import ServerError

__all__ = [
    "ActivityRetryPolicy",
    "ChildWorkflowRetryPolicy",
    "RetryPolicy",
    "RetryPolicyError",
    "TransportErrorClassifier",
    "TransportRetryPolicy",
    "parse_retry_after",
    "retry_after_from_exception",
]

T = TypeVar("T")
_PolicyT = TypeVar("_PolicyT", bound="ActivityRetryPolicy")

RETRYABLE_STATUS_CODES_FLOOR = 500
TOO_MANY_REQUESTS = 429

_HTTPX_RETRYABLE_CLASS_NAMES = frozenset({"ConnectError", "TimeoutException", "NetworkError"})
_HTTPX_STATUS_ERROR_CLASS_NAME = "HTTPStatusError"


class RetryPolicyError(ValueError):
    """A retry policy was configured with an invalid value; the message names the field and the rule."""


@runtime_checkable
class TransportErrorClassifier(Protocol):
    """Decides whether a transport error is worth retrying.

    Return ``True`` (retry), ``False`` (do not retry) or ``None`` (no opinion: let the next classifier
    or the built-in rules decide).
    """

    def __call__(self, exc: BaseException) -> bool | None: ...


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):
        return code
    status = getattr(exc, "status", None)  # dw_core.errors.ServerError
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _is_httpx_class(cls: type, names: frozenset[str] | str) -> bool:
    module = getattr(cls, "__module__", "") or ""
    wanted = {names} if isinstance(names, str) else names
    return cls.__name__ in wanted and (module == "httpx" or module.startswith("httpx."))


def _retryable_status(code: int) -> bool:
    return code >= RETRYABLE_STATUS_CODES_FLOOR or code == TOO_MANY_REQUESTS


def _builtin_classification(exc: BaseException) -> bool:
    mro = type(exc).__mro__
    if any(_is_httpx_class(cls, _HTTPX_RETRYABLE_CLASS_NAMES) for cls in mro):
        return True
    if any(_is_httpx_class(cls, _HTTPX_STATUS_ERROR_CLASS_NAME) for cls in mro) or isinstance(
        exc, ServerError
    ):
        code = _status_code(exc)
        return code is not None and _retryable_status(code)
    return False


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value (delta-seconds or HTTP-date).

    Returns ``None`` for a missing or unparsable value, and never a negative number.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def retry_after_from_exception(exc: BaseException) -> float | None:
    """The ``Retry-After`` delay carried by an HTTP error's response headers, if any."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    raw = headers.get("Retry-After")
    return parse_retry_after(raw) if isinstance(raw, str) else None


def _check_number(name: str, value: object, *, minimum: float, inclusive: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise RetryPolicyError(f"{name} must be a number, got {value!r}")
    if (value < minimum) if inclusive else (value <= minimum):
        rule = ">=" if inclusive else ">"
        raise RetryPolicyError(f"{name} must be {rule} {minimum}, got {value!r}")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RetryPolicyError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise RetryPolicyError(f"{name} must be >= {minimum}, got {value!r}")


@dataclass
class TransportRetryPolicy:
    """Retries of SDK HTTP calls on connection errors, timeouts, 5xx and 429.

    ``max_attempts`` counts every attempt including the first. The delay before retry ``n`` (0-based)
    is ``min(initial_backoff_seconds * backoff_multiplier**n, max_backoff_seconds)``, multiplied by a
    uniform factor in [0.75, 1.25] when ``jitter`` is on. A ``Retry-After`` the server sent is honoured
    up to ``max_retry_after_seconds``.
    """

    max_attempts: int = 3
    initial_backoff_seconds: float = 0.1
    max_backoff_seconds: float = 5.0
    backoff_multiplier: float = 2.0
    jitter: bool = True
    max_retry_after_seconds: float = field(default=60.0, kw_only=True)
    classifiers: Sequence[TransportErrorClassifier] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        _check_int("max_attempts", self.max_attempts, minimum=1)
        _check_number("initial_backoff_seconds", self.initial_backoff_seconds, minimum=0)
        _check_number("max_backoff_seconds", self.max_backoff_seconds, minimum=0)
        _check_number("backoff_multiplier", self.backoff_multiplier, minimum=1)
        _check_number("max_retry_after_seconds", self.max_retry_after_seconds, minimum=0)
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise RetryPolicyError(
                f"max_backoff_seconds ({self.max_backoff_seconds}) must be >= initial_backoff_seconds "
                f"({self.initial_backoff_seconds})"
            )
        if not isinstance(self.jitter, bool):
            raise RetryPolicyError(f"jitter must be a bool, got {self.jitter!r}")
        self.classifiers = tuple(self.classifiers)

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transient transport failure, regardless of the attempt count."""
        for classify in self.classifiers:
            verdict = classify(exc)
            if verdict is not None:
                return verdict
        return _builtin_classification(exc)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether to try again after ``attempt`` attempts have failed with ``exc``."""
        if attempt >= self.max_attempts:
            return False
        return self.is_retryable(exc)

    def backoff_seconds(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based), capped and jittered."""
        if attempt < 0:
            raise RetryPolicyError(f"attempt must be >= 0, got {attempt}")
        try:
            raw = self.initial_backoff_seconds * self.backoff_multiplier**attempt
        except OverflowError:
            raw = math.inf
        delay = min(raw, self.max_backoff_seconds)
        if self.jitter:
            delay *= random.uniform(0.75, 1.25)
        return delay

    def retry_delay_seconds(self, attempt: int, retry_after: float | None = None) -> float:
        """Delay before retry ``attempt``: the backoff, or longer when the server asked via Retry-After.

        ``retry_after`` (seconds) is clamped to ``[0, max_retry_after_seconds]`` so a hostile or broken
        header cannot stall the caller indefinitely.
        """
        delay = self.backoff_seconds(attempt)
        if retry_after is not None and not math.isnan(retry_after):
            delay = max(delay, min(max(retry_after, 0.0), self.max_retry_after_seconds))
        return delay

    async def execute(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn``, retrying per this policy; the last error propagates unchanged."""
        attempt = 0
        while True:
            try:
                return await fn()
            except Exception as exc:
                attempt += 1
                if not self.should_retry(exc, attempt):
                    raise
                await asyncio.sleep(self.retry_delay_seconds(attempt - 1, retry_after_from_exception(exc)))


RetryPolicy = TransportRetryPolicy
"""Back-compatible alias of :class:`TransportRetryPolicy`."""


@dataclass
class ActivityRetryPolicy:
    """Durable retry policy sent with ``schedule_activity``; the server enforces it.

    Wire form (``to_dict``): ``max_attempts``, ``backoff_seconds`` (whole seconds before each retry)
    and ``non_retryable_error_types``. Without explicit ``backoff_seconds``, the list has
    ``max_attempts - 1`` entries ``ceil(min(initial * coefficient**i, maximum))``.
    """

    max_attempts: int = 3
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float | None = None
    non_retryable_error_types: list[str] = field(default_factory=list)
    backoff_seconds: list[int] | None = None

    def __post_init__(self) -> None:
        _check_int("max_attempts", self.max_attempts, minimum=1)
        _check_number("initial_interval_seconds", self.initial_interval_seconds, minimum=0)
        _check_number("backoff_coefficient", self.backoff_coefficient, minimum=1)
        if self.maximum_interval_seconds is not None:
            _check_number("maximum_interval_seconds", self.maximum_interval_seconds, minimum=0)
        types: object = self.non_retryable_error_types
        if not isinstance(types, (list, tuple)) or not all(isinstance(name, str) for name in types):
            raise RetryPolicyError(
                f"non_retryable_error_types must be a list of exception type names (strings), got {types!r}"
            )
        self.non_retryable_error_types = list(types)
        if self.backoff_seconds is not None:
            for value in self.backoff_seconds:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                    raise RetryPolicyError(
                        f"backoff_seconds must be a list of numbers of seconds, got {self.backoff_seconds!r}"
                    )

    def wire_backoff_seconds(self) -> list[int]:
        """Whole-second delays before each retry, as the server expects them."""
        if self.backoff_seconds is not None:
            return [max(0, int(value)) for value in self.backoff_seconds]
        steps: list[int] = []
        for index in range(self.max_attempts - 1):
            try:
                step = self.initial_interval_seconds * self.backoff_coefficient**index
            except OverflowError:
                step = math.inf
            if self.maximum_interval_seconds is not None:
                step = min(step, self.maximum_interval_seconds)
            if math.isinf(step):
                raise RetryPolicyError(
                    "backoff grows without bound: set maximum_interval_seconds or fewer max_attempts"
                )
            steps.append(max(0, math.ceil(step)))
        return steps

    def to_dict(self) -> dict[str, Any]:
        """The wire object attached to the command."""
        return {
            "max_attempts": self.max_attempts,
            "backoff_seconds": self.wire_backoff_seconds(),
            "non_retryable_error_types": [
                name.strip() for name in self.non_retryable_error_types if name.strip()
            ],
        }

    @classmethod
    def from_dict(cls: type[_PolicyT], data: Mapping[str, Any]) -> _PolicyT:
        """Rebuild a policy from its wire object (e.g. a snapshot returned by an activity poll)."""
        if not isinstance(data, Mapping):
            raise RetryPolicyError(f"a retry policy must be an object, got {type(data).__name__}")
        backoff = data.get("backoff_seconds")
        types = data.get("non_retryable_error_types") or []
        return cls(
            max_attempts=data.get("max_attempts", 3),
            non_retryable_error_types=list(types) if isinstance(types, (list, tuple)) else types,
            backoff_seconds=list(backoff) if isinstance(backoff, (list, tuple)) else backoff,
        )


@dataclass
class ChildWorkflowRetryPolicy(ActivityRetryPolicy):
    """Durable retry policy sent with ``start_child_workflow``; same fields and wire form."""
