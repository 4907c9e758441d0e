"""Run a feed in the background and wait for what it reports (bounded waits only).

Also the pieces that let a feed test do without wall-clock sleeps: how many frames the simulator sent a venue's
sockets (``frames_sent``), a market moved by hand while a feed's own watchdogs run (``market_moves``), and an
observation window measured in a control feed's retries rather than in seconds (``backoff_window``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.session import Backoff, Feed
from finxtui.model.events import Status
from finxtui.sim.market import SimTick, SimTrade
from finxtui.sim.server import Simulator

POLL = 0.05  # seconds between two checks of a condition when no event woke the waiter


class FeedRunner:
    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.events: list[Any] = []
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Event()
        self.ended = asyncio.Event()  # set when the feed's iteration finishes (an error it will not retry)

    async def __aenter__(self) -> FeedRunner:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.feed.aclose()

    async def _run(self) -> None:
        try:
            async for event in self.feed:
                self.events.append(event)
                self._changed.set()
        finally:
            self.ended.set()
            self._changed.set()

    def statuses(self, scope: str = "") -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and e.scope == scope]

    def states(self, scope: str = "") -> list[str]:
        return [s.state for s in self.statuses(scope)]

    def of(self, kind: type, pair: str | None = None) -> list[Any]:
        """The events of one type so far (of one pair, if given)."""
        return [e for e in self.events if isinstance(e, kind) and pair in (None, getattr(e, "pair", None))]

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "",
                    step: Callable[[], object] | None = None) -> Any:
        """Wait until ``predicate()`` is truthy (checked after each event and every 50 ms).

        ``step``, if given, is called after the first failed check and then at most every 50 ms: it moves a paused
        simulator by hand (``market_moves``) while the feed's own watchdogs run on the real clock.
        """
        loop = asyncio.get_running_loop()
        next_step = loop.time()
        async with asyncio.timeout(timeout):
            while True:
                value = predicate()
                if value:
                    return value
                if step is not None and loop.time() >= next_step:
                    step()
                    next_step = loop.time() + POLL
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), POLL)
                except TimeoutError:
                    pass

    async def status(self, state: str, after: int = 0, timeout: float = 10.0, scope: str = "",
                     step: Callable[[], object] | None = None) -> Status:
        """The first status in ``state`` at or after index ``after`` of ``statuses(scope)`` (``step``: as in
        :meth:`until`)."""
        def find() -> Status | None:
            return next((s for s in self.statuses(scope)[after:] if s.state == state), None)

        try:
            return await self.until(find, timeout, step=step)
        except TimeoutError:
            raise AssertionError(f"no {state!r} status in {timeout}s; saw {self.statuses(scope)[after:]}") from None

    async def read_all(self, sim: Simulator, venue: str, timeout: float = 10.0) -> None:
        """Wait until the feed has read every frame the simulator sent it (for a feed that has had one socket,
        and no binary frames: the garbage fault's binary ones are not in ``frames_sent``)."""
        await self.until(lambda: self.feed.frames == frames_sent(sim, venue), timeout,
                         what=f"every frame the {venue} venue sent read")


def frames_sent(sim: Simulator, venue: str) -> int:
    """Text frames the simulator has written to the open sockets of ``venue``."""
    return sum(conn.frames_sent for conn in sim.connections[venue])


def a_trade(venue: str, pair: str) -> Callable[[object], bool]:
    """A market event test: a trade of ``pair`` on ``venue`` (its book and its trades both change)."""
    return lambda e: isinstance(e, SimTrade) and e.venue == venue and e.pair == pair


def a_tick(pair: str) -> Callable[[object], bool]:
    """A market event test: a FinX tick of ``pair``."""
    return lambda e: isinstance(e, SimTick) and e.pair == pair


def market_moves(sim: Simulator, *wanted: Callable[[object], bool]) -> Callable[[], None]:
    """A ``step`` for :meth:`FeedRunner.until` on a paused simulator: each call steps the market until every test
    in ``wanted`` matched one of its events (``a_trade("bitfinex", "BTC:USD")``: that pair's channels talk)."""
    def move() -> None:
        left = list(wanted)
        for _ in range(100_000):
            events = sim.step(1)
            left = [w for w in left if not any(w(e) for e in events)]
            if not left:
                return
        raise AssertionError("the simulated market never made the events asked for")
    return move


async def backoff_window(retries: int = 3, backoff: Callable[[], Backoff] = lambda: Backoff(base=0.1, cap=0.5),
                         timeout: float = 10.0) -> None:
    """An observation window for an absence, measured in retries rather than in seconds.

    Returns once a control feed with ``backoff`` (the feed tests' fast one), pointed at a port where nothing
    listens, has been refused and has tried again ``retries`` times: a feed under test with the same backoff that
    would retry in a storm has had at least as long to do it, so its attempts can be counted afterwards.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: each connection is refused at once
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}"
        async with FeedRunner(BitfinexFeed(url, ["BTC:USD"], backoff=backoff())) as control:
            await control.until(lambda: control.feed.attempts > retries, timeout, what=f"{retries} retries")
            assert all("refused" in s.detail for s in control.statuses() if s.state == "reconnecting")
