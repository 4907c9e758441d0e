"""The venues' clock: seconds that heartbeats, stalls, bar cadence, idle and rate limits are measured in.

Live, it is the event loop's monotonic time. In manual mode (``SimSettings.manual_time``) it starts at zero and
moves only when the simulator is advanced, so a test decides exactly when a heartbeat or the end of a stall
happens. Timestamps on the wire come from the wall clock instead (``Simulator(clock=...)``).
"""

from __future__ import annotations

import asyncio
import time


class VenueClock:
    """``now()`` in seconds; ``advance()`` moves a manual clock (a live one follows the event loop)."""

    def __init__(self, *, manual: bool = False) -> None:
        self.manual = manual
        self._loop: asyncio.AbstractEventLoop | None = None
        self._now = 0.0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Follow ``loop``'s time from now on (a live clock; a manual one ignores the loop)."""
        self._loop = loop

    def now(self) -> float:
        if self.manual:
            return self._now
        return self._loop.time() if self._loop is not None else time.monotonic()

    def advance_to(self, when: float) -> None:
        """Set a manual clock to ``when`` (never back)."""
        if not self.manual:
            raise RuntimeError("only a manual venue clock can be advanced (SimSettings(manual_time=True))")
        if when < self._now:
            raise ValueError("the venue clock never goes back")
        self._now = when
