"""Market data from a hub, the BitMEX account from BitMEX itself: a monitor with keys on a shared hub.

An account's data never goes on the shared hub; so a monitor with BitMEX keys reading a hub also opens its
own private BitMEX connection, subscribed to nothing public (no books, no trades), and takes only the
account's events from it: positions, margins, orders, executions and the account's status. The market rows
(BitMEX's public state included) are the hub's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date

from finxtui.config import Config
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.model.events import ERROR, Bar, BookUpdate, Event, Instrument, Status, Tick, Trade
from finxtui.sources.base import Playback, cancel_all
from finxtui.sources.hub import HubSource
from finxtui.wire.venues import BITMEX

log = logging.getLogger("finxtui.sources")

QUEUE_SIZE = 10_000
_MARKET = (BookUpdate, Trade, Tick, Bar, Instrument)


class HubWithAccount:
    """``hub`` for the market, plus a private BitMEX connection (keys from ``config``) for the account."""

    kind = "hub"
    recorded = False
    has_account = True
    playback: Playback | None = None

    def __init__(self, hub: HubSource, config: Config, *, clock: Callable[[], float] | None = None) -> None:
        self.hub = hub
        self.config = config
        self.clock = clock or hub.clock
        self.venues = hub.venues
        pairs = config.pairs.pairs_on(BITMEX.tag)
        self.account = BitmexFeed(config.endpoints[BITMEX.tag], pairs, credentials=config.credentials,
                                  table=config.pairs, books=False, trades=False, clock=self.clock)
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    def badge(self) -> str:
        return self.hub.badge()

    async def start(self) -> None:
        if self._tasks:
            return
        await self.hub.start()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._pump_hub(), name="hub-market"),
                       loop.create_task(self._pump_account(), name="hub-account")]

    async def _pump_hub(self) -> None:
        async for event in self.hub:
            await self._queue.put(event)

    async def _pump_account(self) -> None:
        try:
            async for event in self.account:
                # The account's own rows only: the public state and data of BitMEX are the hub's.
                if isinstance(event, _MARKET) or (isinstance(event, Status) and not event.scope):
                    continue
                await self._queue.put(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the BitMEX account feed failed")
            await self._queue.put(Status(BITMEX.tag, ERROR, f"account: internal error ({type(exc).__name__})",
                                         self.clock(), scope="account"))

    def follow(self, pairs: Iterable[str]) -> None:
        self.hub.follow(pairs)

    def reconnect(self, reason: str = "reconnect requested") -> None:
        self.hub.reconnect(reason)
        self.account.reconnect(reason)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await cancel_all(self._tasks)
        await self.hub.stop()
        with contextlib.suppress(Exception):
            await self.account.aclose()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if not self._tasks:
            await self.start()
        while True:
            if self._stopped and self._queue.empty():
                raise StopAsyncIteration
            item = await self._queue.get()
            if item is not None:
                return item

    def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        return self.hub.history(pair, day)
