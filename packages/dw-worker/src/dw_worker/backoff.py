"""Backoff between failed polls, so a down or overloaded server is not hammered."""

from __future__ import annotations

import random


class PollBackoff:
    """Capped exponential backoff with full jitter; :meth:`reset` after a successful poll."""

    def __init__(self, *, initial: float = 0.1, maximum: float = 10.0, multiplier: float = 2.0) -> None:
        if initial <= 0 or maximum < initial or multiplier < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and multiplier >= 1")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.failures = 0

    def next_delay(self) -> float:
        """Delay before the next attempt after one more failure."""
        ceiling = min(self.maximum, self.initial * self.multiplier**self.failures)
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
