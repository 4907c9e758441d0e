"""The venues themselves: one feed per venue, as one source.

Each venue's feed (``feeds/``) keeps its own connection, backoff and health. With one venue the source is
that feed, passed straight through: nothing between the socket and the consumer, and every ``BookUpdate``'s
book is exactly as of its frame (what ``tail`` and ``record`` need). With several, each feed runs in a pump
task of its own and the events meet in one bounded queue, in the order they were read; a consumer that
falls behind makes the pumps wait, and so the sockets, rather than grow memory.

:meth:`LiveSource.follow` changes the pairs carried: a venue whose pairs changed gets a new feed (a new
connection subscribing to the new set); the others carry on untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import date
from types import MappingProxyType

from finxtui.config import Config
from finxtui.feeds.factory import AnyFeed, make_feed
from finxtui.feeds.finx import FinxClient, FinxError
from finxtui.model.events import ERROR, Event, Status, Tick
from finxtui.sources.base import HistoryUnavailable, Pacer, Playback
from finxtui.wire.venues import FINX, SOURCES

log = logging.getLogger("finxtui.sources")

QUEUE_SIZE = 10_000  # events waiting for the consumer before the pumps wait too (their sockets then buffer)


class _End:
    """Queue item that wakes the consumer when the source stops."""


_END = _End()


class LiveSource:
    """Events from the venues of ``config`` (``venues``: a subset; default every enabled one).

    ``pairs`` are carried from the start (default: the watchlist); ``depth`` is the book depth asked of the
    venues (a Bitfinex length, BitMEX's 25-level table up to 25).
    """

    kind = "live"
    recorded = False
    playback: Playback | None = None

    def __init__(self, config: Config, *, venues: Iterable[str] | None = None, pairs: Iterable[str] | None = None,
                 depth: int = 25, clock: Callable[[], float] = time.time) -> None:
        chosen = list(venues) if venues is not None else [s for s in SOURCES if config.enabled.get(s, True)]
        self.config = config
        self.venues: tuple[str, ...] = tuple(chosen)
        self.clock = clock
        self.depth = depth
        self.has_account = config.credentials.bitmex and "bitmex" in self.venues
        self._wanted = tuple(pairs) if pairs is not None else tuple(config.watchlist)
        self._feeds: dict[str, AnyFeed] = {}
        self._feed_pairs: dict[str, tuple[str, ...]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._closing: set[asyncio.Task[None]] = set()  # feeds replaced by ``follow``, closing in the background
        self._queue: asyncio.Queue[Event | _End] | None = None
        self._pacer = Pacer()
        self._started = False
        self._stopped = False

    # -- what a source offers -------------------------------------------------------------------------

    @property
    def feeds(self) -> Mapping[str, AnyFeed]:
        """The feed of each venue now (read-only; a venue whose pairs change gets a new one)."""
        return MappingProxyType(self._feeds)

    def badge(self) -> str:
        return ""

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._queue = asyncio.Queue(QUEUE_SIZE)
        self._apply_pairs()

    def follow(self, pairs: Iterable[str]) -> None:
        self._wanted = tuple(dict.fromkeys(pairs))
        if self._started and not self._stopped:
            self._apply_pairs()

    def reconnect(self, reason: str = "reconnect requested") -> None:
        for feed in self._feeds.values():
            feed.reconnect(reason)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        pumps = list(self._pumps.values())
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        for feed in list(self._feeds.values()):
            with contextlib.suppress(Exception):
                await feed.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self._queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            await self.start()
        if len(self.venues) == 1:
            return await self._next_direct()
        queue = self._queue
        assert queue is not None
        while True:
            if self._stopped and queue.empty():
                raise StopAsyncIteration
            item = await queue.get()
            if not isinstance(item, _End):
                await self._pacer.pace()
                return item

    async def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        """FinX tick history, page by page, from the FinX endpoint of the configuration."""
        key = self.config.credentials.finx_key
        if FINX.tag not in self.venues:
            raise HistoryUnavailable("FinX is not enabled: no tick history")
        if not key:
            raise HistoryUnavailable(f"no FinX API key: set {FINX.key_hint()} to see tick history")
        try:
            async with FinxClient(self.config.endpoints[FINX.tag], key, table=self.config.pairs) as client:
                async for page in client.history_pages(pair, day):
                    yield [row.tick() for row in page]
        except FinxError as exc:
            raise HistoryUnavailable(f"history unavailable: {exc}") from None

    # -- feeds ----------------------------------------------------------------------------------------

    def _pairs_for(self, venue: str) -> tuple[str, ...]:
        table = self.config.pairs
        return tuple(p for p in self._wanted if venue in table.sources_for(p))

    def _apply_pairs(self) -> None:
        """Give every venue whose pairs changed a new feed (and, with several venues, a pump)."""
        for venue in self.venues:
            pairs = self._pairs_for(venue)
            if not pairs or (venue in self._feeds and self._feed_pairs.get(venue) == pairs):
                continue  # nothing to carry (a feed that runs keeps running rather than go dark), or no change
            old = self._feeds.get(venue)
            pump = self._pumps.pop(venue, None)
            if pump is not None:
                pump.cancel()
            feed = make_feed(venue, self.config, pairs, depth=self.depth, clock=self.clock)
            self._feeds[venue] = feed
            self._feed_pairs[venue] = pairs
            if old is not None:
                closing = asyncio.get_running_loop().create_task(old.aclose(), name=f"close-{venue}")
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            if len(self.venues) > 1:
                self._pumps[venue] = asyncio.get_running_loop().create_task(self._pump(venue, feed),
                                                                            name=f"source-{venue}")

    async def _next_direct(self) -> Event:
        """One venue: its feed is the source (a feed replaced by ``follow`` hands over to the new one)."""
        while True:
            feed = self._feeds[self.venues[0]]
            try:
                return await feed.__anext__()
            except StopAsyncIteration:
                if self._stopped or self._feeds[self.venues[0]] is feed:
                    raise

    async def _pump(self, venue: str, feed: AnyFeed) -> None:
        queue = self._queue
        assert queue is not None
        try:
            async for event in feed:
                await queue.put(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a feed must not end the others: say so where the user looks
            log.exception("%s feed failed", venue)
            await queue.put(Status(venue, ERROR, f"internal error ({type(exc).__name__}); see the log",
                                   self.clock()))
