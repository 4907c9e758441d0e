"""The Bitfinex feed against the simulator: correct books, and recovery from every fault the venue makes."""

from __future__ import annotations

import pytest

from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.session import Backoff
from finxtui.model.events import BookUpdate, Trade
from finxtui.sim.market import SimTrade
from finxtui.sim.server import Simulator
from tests.feeds.runner import FeedRunner, a_trade, market_moves

PAIRS = ["BTC:USD", "ETH:USD"]


def sim_top(sim: Simulator, pair: str, depth: int = 25) -> tuple[list, list]:
    book = sim.market.books[("bitfinex", pair)]
    return book.levels("bid", depth), book.levels("ask", depth)


def matches_sim(feed: BitfinexFeed, sim: Simulator, pair: str) -> bool:
    return feed.books[pair].top(25) == sim_top(sim, pair)


def fast_feed(sim: Simulator, pairs: list[str] = PAIRS, **kwargs) -> BitfinexFeed:
    return BitfinexFeed(sim.base_url("bitfinex"), pairs, backoff=Backoff(base=0.1, cap=0.5), **kwargs)


async def test_books_follow_the_venue_exactly(paused_sim: Simulator) -> None:
    async with FeedRunner(fast_feed(paused_sim, [*PAIRS, "AAPL"])) as run:
        live = await run.status("live")
        assert "not on Bitfinex: AAPL" in live.detail
        assert run.states()[0] == "connecting"
        for _ in range(5):
            paused_sim.step(300)
            for pair in PAIRS:
                await run.until(lambda p=pair: matches_sim(run.feed, paused_sim, p), what=pair)
        assert run.feed.checksums_ok > 0
        books = [e for e in run.events if isinstance(e, BookUpdate)]
        assert books[0].snapshot and len(books[0].changes) == 50
        assert any(not b.snapshot for b in books)


async def test_trades_come_from_te_once(manual_sim: Simulator) -> None:
    sim = manual_sim
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        made: list[SimTrade] = []
        while len(made) < 10:
            made += [e for e in sim.step(20) if isinstance(e, SimTrade) and e.venue == "bitfinex" and e.pair in PAIRS]
        await run.read_all(sim, "bitfinex")
        before = run.feed.frames
        sim.advance(1.5)  # the venue's clock passes the 1 s after which each "te" comes again as "tu"
        await run.read_all(sim, "bitfinex")
        assert run.feed.frames - before >= len(made), "a tu for every te"
        assert run.feed.rejected_frames == 0
        trades = [e for e in run.events if isinstance(e, Trade)]
        ids = [t.trade_id for t in trades]
        assert len(ids) == len(set(ids)), "tu updates are not second trades"
        assert ids == [str(t.id) for t in made], "every trade the venue made, once, in order"
        assert all(t.pair in PAIRS and t.size > 0 and t.side in ("buy", "sell") for t in trades)


async def test_wrong_checksum_resyncs_that_book(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.arm("bad_checksum", "bitfinex")
        resync = await run.status("resyncing", after=n)
        assert "checksum mismatch" in resync.detail
        await run.status("live", after=n + 1)
        assert run.feed.resyncs == 1
        sim.set_rate(0)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_sequence_gap_resyncs_every_book(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.arm("skip_seq", "bitfinex")
        resync = await run.status("resyncing", after=n)
        assert "sequence gap" in resync.detail
        await run.status("live", after=n + 1)
        assert run.feed.resyncs == len(PAIRS)


async def test_dropped_connection_reconnects_with_a_reason(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.drop("bitfinex")
        gone = await run.status("reconnecting", after=n)
        assert "dropped" in gone.detail and "retrying in" in gone.detail
        await run.status("live", after=n + 1)
        sim.set_rate(0)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_stalled_channel_is_stale_then_resubscribed(manual_sim: Simulator) -> None:
    sim = manual_sim
    feed = fast_feed(sim)
    feed.channel_silence = 1.0
    async with FeedRunner(feed) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.stall("bitfinex", seconds=2.5, pair="ETH:USD")
        # The venue's clock stands still, so the stall lasts until the test ends it. Meanwhile the market moves by
        # hand, both pairs trading at every step, while the feed's own watchdog (real time) sees ETH:USD fall silent.
        both_trade = market_moves(sim, a_trade("bitfinex", "BTC:USD"), a_trade("bitfinex", "ETH:USD"))
        stale = await run.status("stale", after=n, step=both_trade)
        assert "ETH:USD" in stale.detail
        await run.status("live", after=n + 1, step=both_trade)
        sim.advance(2.5)  # the stall is over
        sim.step(50)
        await run.read_all(sim, "bitfinex")  # one socket throughout: resubscribing keeps it
        for pair in PAIRS:
            assert matches_sim(run.feed, sim, pair), pair


async def test_garbage_frames_are_counted_not_fatal(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        sim.faults.garbage("bitfinex", 12)
        await run.until(lambda: run.feed.rejected_frames > 0)
        sim.set_rate(0)
        sim.step(100)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_info_20051_reconnects_and_maintenance_pauses(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.apply("info", "bitfinex", code=20051)
        again = await run.status("reconnecting", after=n)
        assert "20051" in again.detail
        await run.status("live", after=n + 1)
        n = len(run.statuses())
        sim.faults.apply("info", "bitfinex", code=20060, seconds=1.0)
        paused = await run.status("stale", after=n)
        assert "20060" in paused.detail
        resumed = await run.status("resyncing", after=n + 1)
        assert "20061" in resumed.detail
        await run.status("live", after=n + 2)


async def test_server_restart_is_survived(sim: Simulator) -> None:
    async with FeedRunner(fast_feed(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        await sim.faults.restart(downtime=1.0)
        await run.status("reconnecting", after=n)
        await run.status("live", after=n + 1, timeout=15)
        reasons = [s.detail for s in run.statuses()[n:] if s.state == "reconnecting"]
        assert any("refused" in r or "503" in r or "dropped" in r for r in reasons), reasons


async def test_unreachable_venue_reports_reconnecting_never_raises() -> None:
    feed = BitfinexFeed("ws://127.0.0.1:9", PAIRS, backoff=Backoff(base=0.05, cap=0.2), open_timeout=1)
    async with FeedRunner(feed) as run:
        await run.until(lambda: run.states().count("reconnecting") >= 3, timeout=10)
        assert all("refused" in s.detail for s in run.statuses() if s.state == "reconnecting")


def test_backoff_grows_to_its_cap_with_jitter_and_resets_when_healthy() -> None:
    backoff = Backoff(base=1.0, cap=8.0, jitter=0.5, healthy_after=10.0)
    delays = [backoff.delay() for _ in range(8)]
    nominal = [1, 2, 4, 8, 8, 8, 8, 8]
    for got, want in zip(delays, nominal, strict=True):
        assert want * 0.5 <= got <= want
    backoff.connected_for(3.0)
    assert backoff.bound() == 8.0, "a short-lived connection keeps the backoff"
    backoff.connected_for(12.0)
    assert backoff.bound() == 1.0


@pytest.mark.parametrize("depth", [1, 100])
async def test_other_book_lengths(paused_sim: Simulator, depth: int) -> None:
    async with FeedRunner(BitfinexFeed(paused_sim.base_url("bitfinex"), ["SOL:USD"], depth=depth)) as run:
        await run.status("live")
        paused_sim.step(500)
        book = paused_sim.market.books[("bitfinex", "SOL:USD")]
        await run.until(lambda: run.feed.books["SOL:USD"].top(depth) == (book.levels("bid", depth),
                                                                         book.levels("ask", depth)))
        assert len(run.feed.books["SOL:USD"].bids) <= depth
