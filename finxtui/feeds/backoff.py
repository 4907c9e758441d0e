"""When to try a lost connection again: exponential backoff with full jitter, a cap, and a reset after health.

Its own module because two things retry: the session (:mod:`finxtui.feeds.session`) between connection
attempts, and the merged feed (:mod:`finxtui.feeds.merge`) before restarting a child that raised.
"""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with full jitter, a cap, and a reset after a healthy connection."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.5,
                 healthy_after: float = 20.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.healthy_after = healthy_after
        self.failures = 0
        self.rng = rng or random.Random()

    def delay(self) -> float:
        """The wait before the next attempt; each call counts one failure."""
        raw = min(self.cap, self.base * self.factor ** self.failures)
        self.failures += 1
        # Jitter spreads reconnects of many clients; never below half the nominal delay.
        return raw * (1 - self.jitter * self.rng.random())

    def bound(self) -> float:
        """The longest the next delay can be (for tests and status text)."""
        return min(self.cap, self.base * self.factor ** self.failures)

    def connected_for(self, seconds: float) -> None:
        """A connection ended after ``seconds``; a healthy one resets the backoff."""
        if seconds >= self.healthy_after:
            self.failures = 0
