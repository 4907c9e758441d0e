"""``finx-tui hub``: each venue read once, its books kept, every normalized event published on NATS.

One source per venue (one feed, nothing between its socket and the hub), so each ``BookUpdate``'s book is
the book as of its frame: a delta carries the frame's exact changes and ``seq`` (+1 a frame), a snapshot the
whole book at that ``seq``. A snapshot goes out when the venue sent one (a resync), when the NATS side
comes back, and every :data:`SNAPSHOT_EVERY` seconds of change, so a joiner never replays much. Last values
(status, last trade/tick/bar, instruments) go to the KV bucket, the heartbeat every second.

Public data only: the hub's configuration carries no BitMEX account key, so no account stream is opened and
nothing private can be published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from finxtui.config import Config
from finxtui.hub.publisher import NatsPublisher
from finxtui.hub.registry import HubBook, Registry
from finxtui.model.events import ERROR, Bar, BookUpdate, Event, Instrument, Status, Tick, Trade
from finxtui.sources import LiveSource
from finxtui.sources.base import cancel_all
from finxtui.wire import hub as wire
from finxtui.wire.lines import encode, encode_dict

log = logging.getLogger("finxtui.hub")

SNAPSHOT_EVERY = 2.0  # seconds: a changed book is snapshotted at least this often
LAST_EVERY = 0.25  # seconds between KV writes of one last value (the stream has every one)


def public_config(cfg: Config) -> Config:
    """``cfg`` without the BitMEX account: the hub carries public market data only."""
    return replace(cfg, credentials=replace(cfg.credentials, bitmex_key="", bitmex_secret=""))


def book_line(hb: HubBook, depth: int | None, epoch: str) -> dict[str, Any]:
    """The tail line of a book (every level when ``depth`` is None) with the hub's ``seq``, ``epoch``, ``ts``."""
    line = BookUpdate(hb.source, hb.pair, hb.book, True, [], hb.ts).to_dict(len(hb.book) if depth is None else depth)
    line["seq"] = hb.seq
    line["epoch"] = epoch
    line["ts"] = hb.ts
    return line


class Hub:
    """Reads ``plan`` (venue → pairs) from the venues of ``cfg``; publishes through ``publisher`` (None: HTTP only).

    ``line_depth`` is how many levels a delta's tail line shows (the ``changes`` are what a reader applies).
    """

    def __init__(self, cfg: Config, plan: dict[str, list[str]], *, publisher: NatsPublisher | None = None,
                 depth: int = 25, line_depth: int = 10, clock: Callable[[], float] = time.time,
                 snapshot_every: float = SNAPSHOT_EVERY) -> None:
        self.config = public_config(cfg)
        self.plan = plan
        self.publisher = publisher
        self.depth = depth
        self.line_depth = line_depth
        self.clock = clock
        self.snapshot_every = snapshot_every
        self.epoch = f"{int(time.time())}-{secrets.token_hex(3)}"
        self.started = clock()
        self.registry = Registry(plan, clock=clock)
        self.events = 0
        self.sources: dict[str, LiveSource] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last: dict[str, bytes] = {}  # KV key → newest body not yet written
        self._gen = 0  # publisher generation the bucket was last filled in
        self._stopped = False

    # -- running --------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.publisher is not None:
            await self.publisher.start()
            self._tasks.append(loop.create_task(self._housekeeping(), name="hub-housekeeping"))
        for venue, pairs in self.plan.items():
            source = LiveSource(self.config, venues=[venue], pairs=pairs, depth=self.depth, clock=self.clock)
            self.sources[venue] = source
            self._tasks.append(loop.create_task(self._pump(venue, source), name=f"hub-{venue}"))

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await cancel_all(self._tasks)
        for source in self.sources.values():
            with contextlib.suppress(Exception):
                await source.stop()
        if self.publisher is not None:
            if self.publisher.ready:  # readers show "hub stopped" at once rather than after a silence
                await self.publisher.put(wire.HEARTBEAT_KEY, encode_dict(self.heartbeat(state="stopped")))
            await self.publisher.close()

    async def _pump(self, venue: str, source: LiveSource) -> None:
        try:
            async for event in source:
                await self.on_event(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in one venue must not end the others; say so where users look
            log.exception("%s pump failed", venue)
            await self.on_event(Status(venue, ERROR, f"hub internal error ({type(exc).__name__}); see its log",
                                       self.clock()))

    # -- events ---------------------------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        self.events += 1
        source = event.source
        self.registry.heard(source)
        pub = self.publisher
        if isinstance(event, BookUpdate):
            key = (source, event.pair)
            hb = self.registry.books.get(key)
            if hb is None:
                hb = self.registry.books[key] = HubBook(source, event.pair, event.book)
            hb.book = event.book
            hb.seq += 1
            hb.ts = self.clock()
            if pub is None or not pub.ready:
                return
            if event.snapshot or hb.gen != pub.generation:
                await self._snapshot(hb)
                return
            line = event.to_dict(self.line_depth)
            line["seq"] = hb.seq
            line["epoch"] = self.epoch
            line["ts"] = hb.ts
            line["changes"] = [[side, price, size] for side, price, size in event.changes]
            await pub.publish(wire.subject(source, event.pair, wire.DELTA), encode_dict(line), self._headers(hb))
        elif isinstance(event, Trade | Tick | Bar):
            if pub is None:
                return
            body = encode(event)
            await pub.publish(wire.subject(source, event.pair, event.type), body)
            self._last[wire.last_key(source, event.pair, event.type)] = body
        elif isinstance(event, Instrument):
            if pub is None:
                return
            body = encode(event)
            await pub.publish(wire.subject(source, event.pair, "instrument"), body)
            await pub.put(wire.instrument_key(source, event.pair), body)
        elif isinstance(event, Status) and self.registry.status(event) and pub is not None:
            await pub.put(wire.status_key(source), encode(event))
        # Positions and margins cannot arrive (no account key); they would never be published anyway.

    def _headers(self, hb: HubBook) -> dict[str, str]:
        return {wire.H_SEQ: str(hb.seq), wire.H_EPOCH: self.epoch}

    async def _snapshot(self, hb: HubBook) -> None:
        pub = self.publisher
        assert pub is not None
        headers = self._headers(hb)
        headers[wire.H_ROLLUP] = "sub"
        body = encode_dict(book_line(hb, None, self.epoch))
        if await pub.publish_stored(wire.subject(hb.source, hb.pair, wire.SNAP), body, headers):
            hb.snap_seq, hb.snap_at, hb.gen = hb.seq, self.clock(), pub.generation

    # -- periodic -------------------------------------------------------------------------------------

    def heartbeat(self, state: str = "live") -> dict[str, Any]:
        """The ``hub`` KV value: who publishes, each book's seq, each venue's state with its age."""
        now = self.clock()
        venues = {}
        for venue, health in self.registry.health.items():
            age = self.registry.age(venue)
            venues[venue] = {"state": health.state, "detail": health.detail,
                             "age": None if age is None else round(age, 3)}
        return {"type": "hub", "state": state, "epoch": self.epoch, "ts": now, "started": self.started,
                "books": {wire.book_key(s, p): hb.seq for (s, p), hb in self.registry.books.items()},
                "venues": venues, "pairs": self.plan}

    async def _housekeeping(self) -> None:
        """Snapshots of changed books, last values to KV, the heartbeat; a fresh snapshot after a reconnection."""
        pub = self.publisher
        assert pub is not None
        last_beat = 0.0
        while True:
            await asyncio.sleep(LAST_EVERY)
            if not pub.ready:
                continue
            now = self.clock()
            fresh = self._gen != pub.generation
            for hb in list(self.registry.books.values()):
                if hb.gen != pub.generation or (hb.seq != hb.snap_seq and now - hb.snap_at >= self.snapshot_every):
                    await self._snapshot(hb)
            if fresh:
                self._gen = pub.generation
                for venue, health in self.registry.health.items():  # the bucket may be new: fill it again
                    await pub.put(wire.status_key(venue),
                                  encode(Status(venue, health.state, health.detail, now)))
            last, self._last = self._last, {}
            for key, body in last.items():
                await pub.put(key, body)
            if now - last_beat >= wire.HEARTBEAT_EVERY or fresh:
                last_beat = now
                await pub.put(wire.HEARTBEAT_KEY, encode_dict(self.heartbeat()))
