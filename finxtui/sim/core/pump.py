"""The pump: moves the market at ``rate`` steps a second and runs the venues' timers ten times a second.

Live, two tasks do it on the event loop. With a manual venue clock there are no tasks: :meth:`Pump.advance`
moves the clock in timer-sized slices, stepping the market by ``rate`` per second of it and running the timers
at each slice, so what a test sees depends only on what it asked for.

``rate`` is total steps a second: 0 pauses the market (step it by hand), ``math.inf`` runs it as fast as the
clients read (for benchmarks: the pump waits for the slowest reader instead of cutting it off).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from finxtui.sim.core.clock import VenueClock
from finxtui.sim.core.dispatch import Dispatcher
from finxtui.sim.market import Market, MarketEvent

log = logging.getLogger("finxtui.sim")

TIMER_INTERVAL = 0.1  # seconds between timer runs (heartbeats, bars, stalls, idle limits)
MARKET_SLICE = 0.01  # seconds of market steps dispatched together at a finite rate (the default)
MAX_CATCH_UP = 0.25  # after a stall of the loop, at most this many seconds of steps at once
UNBOUNDED_BATCH = 64  # steps a batch at the unbounded rate
BACKLOG_HIGH = 1 << 20  # bytes unread by the slowest client before the unbounded pump waits...
BACKLOG_LOW = 1 << 18  # ...until it is below this


class Pump:
    def __init__(self, market: Market, dispatcher: Dispatcher, clock: VenueClock, rate: float,
                 on_timer: Callable[[float], None], backlog: Callable[[], int],
                 market_slice: Callable[[], float] = lambda: MARKET_SLICE) -> None:
        self.market = market
        self.dispatcher = dispatcher
        self.clock = clock
        self.rate = rate
        self.on_timer = on_timer  # called with the venue clock's time at every timer run
        self.backlog = backlog  # the largest unread backlog of any client, in bytes
        self.market_slice = market_slice  # seconds of steps dispatched together (read every slice)
        self._owed = 0.0  # fractional steps carried between slices

    @property
    def unbounded(self) -> bool:
        return self.rate == math.inf

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        if rate and math.isfinite(rate):
            self.market.set_rate(rate)

    def step(self, n: int = 1) -> list[MarketEvent]:
        """Advance the market ``n`` steps and publish them."""
        events = self.market.steps_n(n)
        self.dispatcher.dispatch(events)
        return events

    # -- manual time ----------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move a manual clock ``seconds`` forward, in timer slices: the market's steps, then the timers.

        The last slice ends exactly at the target, so a deadline a test computed (a heartbeat tick, the end of
        a stall) is reached by the ``advance`` that reaches its time.
        """
        if seconds < 0:
            raise ValueError("the venue clock never goes back")
        start = self.clock.now()
        target = start + seconds
        now = start
        while now < target:
            previous = now
            now = min(previous + TIMER_INTERVAL, target)
            if target - now < 1e-9:
                now = target
            self.clock.advance_to(now)
            dt = now - previous
            if self.rate and math.isfinite(self.rate):
                self._owed += dt * self.rate
                n = int(self._owed)
                if n > 0:
                    self._owed -= n
                    self.step(n)
            self.on_timer(now)

    # -- live time ------------------------------------------------------------------------------------

    async def run_market(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            rate = self.rate
            if rate == math.inf:
                self.step(UNBOUNDED_BATCH)
                await asyncio.sleep(0)
                if self.backlog() > BACKLOG_HIGH:
                    # Polling is right here: the transport has no "drained below N" event.
                    while self.backlog() > BACKLOG_LOW:  # noqa: ASYNC110
                        await asyncio.sleep(0.0005)
                continue
            await asyncio.sleep(self.market_slice())
            now = loop.time()
            if not rate:
                last = now
                continue
            self._owed += (now - last) * rate
            last = now
            n = int(self._owed)
            if n <= 0:
                continue
            n = min(n, max(1, int(rate * MAX_CATCH_UP)))
            self._owed -= int(self._owed)
            self.step(n)

    async def run_timers(self) -> None:
        while True:
            await asyncio.sleep(TIMER_INTERVAL)
            try:
                self.on_timer(self.clock.now())
            except Exception:  # a timer bug must not stop heartbeats for everyone else
                log.exception("simulator timers failed")
