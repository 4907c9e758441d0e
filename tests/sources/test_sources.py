"""Every source behind the one protocol: the venues (against the simulator), a recording, and a script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from finxtui.config import Config
from finxtui.model.book import OrderBook
from finxtui.model.events import BookUpdate, Event, Status, Tick, Trade
from finxtui.sim.server import Simulator
from finxtui.sources import DemoSource, HistoryUnavailable, LiveSource, ReplaySource, ScriptedSource, Source
from finxtui.sources.demo import DEMO_CHECKSUM_INTERVAL, demo_config
from tests.record.helpers import make_recording


class Reader:
    """Reads a source in the background; bounded waits for what it has read."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.events: list[Event] = []
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Reader:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.source.stop()
        assert self._task is not None
        await asyncio.wait_for(self._task, 10)

    async def _read(self) -> None:
        try:
            async for event in self.source:
                self.events.append(event)
        finally:
            self.ended.set()

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)

    def live(self, venue: str) -> bool:
        return any(type(e) is Status and e.source == venue and e.state == "live" for e in self.events)


async def test_a_live_source_merges_every_venue_it_carries(sim: Simulator) -> None:
    cfg = demo_config(Config(), sim)
    source = LiveSource(cfg, venues=["bitfinex", "bitmex", "finx"], pairs=["BTC:USD", "ETH:USD"])
    assert source.kind == "live" and not source.recorded and source.playback is None
    async with Reader(source) as reader:
        await reader.until(lambda: all(reader.live(v) for v in ("bitfinex", "bitmex", "finx")), 15)
        await reader.until(lambda: {("bitfinex", "BTC:USD"), ("bitmex", "ETH:USD")} <= {
            (e.source, e.pair) for e in reader.events if type(e) is BookUpdate})
        books = {(e.source, e.pair) for e in reader.events if type(e) is BookUpdate}
        assert {p for _, p in books} <= {"BTC:USD", "ETH:USD"}
        assert not any(e.source == "finazon" for e in reader.events), "a venue not asked for is not carried"
    assert reader.ended.is_set(), "stop ends the iteration"


async def test_follow_gives_only_the_changed_venues_a_new_feed(sim: Simulator) -> None:
    cfg = demo_config(Config(), sim)
    source = LiveSource(cfg, venues=["bitfinex", "finazon"], pairs=["BTC:USD", "AAPL"])
    async with Reader(source) as reader:
        await reader.until(lambda: reader.live("bitfinex") and reader.live("finazon"), 15)
        before = dict(source.feeds)
        source.follow(["BTC:USD", "AAPL", "SOL:USD"])  # SOL is on Bitfinex, not on Finazon
        assert source.feeds["finazon"] is before["finazon"], "a venue whose pairs did not change carries on"
        assert source.feeds["bitfinex"] is not before["bitfinex"]
        await reader.until(lambda: any(type(e) is BookUpdate and e.pair == "SOL:USD" for e in reader.events), 15)


async def test_a_venue_with_nothing_to_carry_opens_no_connection(sim: Simulator) -> None:
    cfg = demo_config(Config(), sim)
    source = LiveSource(cfg, venues=["bitfinex", "finazon"], pairs=["BTC:USD"])  # no equity: nothing for Finazon
    async with Reader(source) as reader:
        await reader.until(lambda: reader.live("bitfinex"), 15)
        assert set(source.feeds) == {"bitfinex"}
        assert not any(e.source == "finazon" for e in reader.events), "no error either: it is simply not in use"
        source.follow(["BTC:USD", "NVDA"])  # the user picks an equity: now Finazon has work
        await reader.until(lambda: reader.live("finazon"), 15)


async def test_one_venue_passes_its_feed_through_book_by_book(sim: Simulator) -> None:
    """With one venue nothing stands between the feed and the reader: a book event's book is as of its frame."""
    cfg = demo_config(Config(), sim)
    source = LiveSource(cfg, venues=["bitfinex"], pairs=["BTC:USD"])
    mirror = OrderBook()
    checked = 0
    async for event in source:
        if type(event) is BookUpdate:
            if event.snapshot:
                mirror.load([(p, s) for side, p, s in event.changes if side == "bid"],
                            [(p, s) for side, p, s in event.changes if side == "ask"])
            else:
                for side, price, size in event.changes:
                    mirror.set(side, price, size)
            assert mirror == event.book, "the book moved past its own event"
            checked += 1
            if checked >= 300:
                break
    await source.stop()
    assert checked >= 300


async def test_a_pair_change_on_a_single_venue_hands_over_to_the_new_feed(sim: Simulator) -> None:
    cfg = demo_config(Config(), sim)
    source = LiveSource(cfg, venues=["bitfinex"], pairs=["BTC:USD"])
    async with Reader(source) as reader:
        await reader.until(lambda: reader.live("bitfinex"), 15)
        source.follow(["ETH:USD"])
        await reader.until(lambda: any(type(e) is BookUpdate and e.pair == "ETH:USD" for e in reader.events), 15)
        assert not reader.ended.is_set(), "the iteration went on across the hand-over"


async def test_live_history_says_which_key_to_set(sim: Simulator) -> None:
    cfg = demo_config(Config(), sim)
    with_key = LiveSource(cfg)
    today = datetime.fromtimestamp(sim.clock(), UTC).date()
    pages = [page async for page in with_key.history("BTC:USD", today)]
    assert pages and all(type(t) is Tick and t.pair == "BTC:USD" for page in pages for t in page)
    keyless = LiveSource(Config(endpoints=cfg.endpoints))
    with pytest.raises(HistoryUnavailable, match="FINX_API_KEY"):
        async for _ in keyless.history("BTC:USD", date.today()):
            pass


async def test_the_demo_source_runs_its_own_simulator() -> None:
    source = DemoSource(Config(), seed=7)
    assert source.badge() == "DEMO" and source.has_account
    async with Reader(source) as reader:
        await reader.until(lambda: reader.live("bitfinex") and reader.live("bitmex"), 15)
        assert source.simulator.stats()["connections"]["bitfinex"] == 1
        # Checksums come at the live venue's cadence, not the test simulator's five a second, and every one
        # is still verified: the first of each book comes with its first update.
        assert source.simulator.settings.bitfinex_checksum_interval == DEMO_CHECKSUM_INTERVAL == 2.5
        feed = source.feeds["bitfinex"]
        await reader.until(lambda: getattr(feed, "checksums_ok", 0) >= 1, 15)


async def test_a_replay_plays_a_recording_and_says_when_it_ended(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=30)
    source = ReplaySource(tmp_path, speed=0, venues=["bitfinex"])
    assert source.recorded and source.playback is source.control
    assert source.venues == ("bitfinex",)
    events = [event async for event in source]
    assert events and all(e.source == "bitfinex" for e in events)
    assert any(type(e) is Trade for e in events) and any(type(e) is BookUpdate for e in events)
    assert source.ended and source.badge() == "REPLAY · ended"
    assert [page async for page in source.history("BTC:USD", date.today())] == []


async def test_a_script_delivers_what_it_is_given_and_says_when_it_was_taken() -> None:
    source = ScriptedSource([Status("bitfinex", "live")], mark="SCRIPT")
    taken: list[Event] = []

    async def read() -> None:
        async for event in source:
            taken.append(event)

    task = asyncio.create_task(read())
    await source.drained()
    assert [e.state for e in taken if type(e) is Status] == ["live"]
    source.push(Trade("bitfinex", "BTC:USD", 1.0, 2.0, "buy", 3.0), Trade("bitfinex", "BTC:USD", 1.5, 2.0, "sell", 4.0))
    await source.drained()
    assert len(taken) == 3, "drained returns only once everything pushed was taken"
    source.follow(["ETH:USD"])
    source.reconnect()
    assert source.followed == ("ETH:USD",) and source.reconnects == 1 and source.badge() == "SCRIPT"
    source.end()
    await asyncio.wait_for(task, 5)


async def test_a_scripted_history_or_why_there_is_none() -> None:
    tick = Tick("finx", "BTC:USD", 1.0, "GEMINI", 1.0)
    source = ScriptedSource(history={"BTC:USD": [[tick]]}, history_error="no key in this script")
    assert [list(p) async for p in source.history("BTC:USD", date.today())] == [[tick]]
    with pytest.raises(HistoryUnavailable, match="no key in this script"):
        await _first(source.history("ETH:USD", date.today()))


async def _first(pages: AsyncIterator[Any]) -> Any:
    async for page in pages:
        return page
    return None
