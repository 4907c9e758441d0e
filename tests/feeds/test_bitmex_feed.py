"""The BitMEX feed against the simulator: books, trades, the account, and every fault."""

from __future__ import annotations

import logging

import pytest

from finxtui.config import Credentials
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.session import Backoff
from finxtui.model.events import Margin, Position, Trade
from finxtui.sim.credentials import DEMO_BITMEX_KEY, DEMO_BITMEX_SECRET
from finxtui.sim.server import Simulator
from tests.feeds.runner import FeedRunner, a_trade, backoff_window, frames_sent, market_moves

PAIRS = ["BTC:USD", "SOL:USD"]
DEMO = Credentials(bitmex_key=DEMO_BITMEX_KEY, bitmex_secret=DEMO_BITMEX_SECRET)


def feed_for(sim: Simulator, *, credentials: Credentials | None = None, full_book: bool = False,
             pairs: list[str] = PAIRS) -> BitmexFeed:
    return BitmexFeed(sim.base_url("bitmex"), pairs, credentials=credentials, full_book=full_book,
                      backoff=Backoff(base=0.1, cap=0.5))


def matches_sim(feed: BitmexFeed, sim: Simulator, pair: str, depth: int | None = 25) -> bool:
    book = sim.market.books[("bitmex", pair)]
    mine = feed.books[pair]
    if depth is None:
        return mine.top(10_000) == (book.levels("bid"), book.levels("ask"))
    return mine.top(depth) == (book.levels("bid", depth), book.levels("ask", depth))


@pytest.mark.parametrize("full_book", [False, True])
async def test_books_equal_the_venue(paused_sim: Simulator, full_book: bool) -> None:
    async with FeedRunner(feed_for(paused_sim, full_book=full_book)) as run:
        await run.status("live")
        for _ in range(4):
            paused_sim.step(400)
            for pair in PAIRS:
                await run.until(lambda p=pair: matches_sim(run.feed, paused_sim, p, None if full_book else 25))
        if not full_book:
            assert all(len(b.bids) <= 26 and len(b.asks) <= 26 for b in run.feed.books.values())


async def test_trades_and_bins(sim: Simulator) -> None:
    async with FeedRunner(feed_for(sim)) as run:
        await run.until(lambda: len([e for e in run.events if isinstance(e, Trade)]) >= 5, timeout=20)
        trades = [e for e in run.events if isinstance(e, Trade)]
        assert all(t.pair in PAIRS and t.size > 0 and t.ts > 1_600_000_000 for t in trades)
        assert len({t.trade_id for t in trades}) == len(trades)


async def test_without_credentials_the_account_says_what_to_set(sim: Simulator) -> None:
    async with FeedRunner(feed_for(sim)) as run:
        await run.status("live")
        account = await run.status("off", scope="account")  # public data live; no key is not a fault
        assert "BITMEX_API_KEY" in account.detail and "BITMEX_API_SECRET" in account.detail
        assert "error" not in run.states("account")


async def test_positions_and_margin_with_the_demo_account(sim: Simulator) -> None:
    async with FeedRunner(feed_for(sim, credentials=DEMO)) as run:
        await run.status("live", scope="account")
        await run.until(lambda: {e.symbol for e in run.events if isinstance(e, Position)} >= {"XBTUSD", "SOLUSDT"})
        positions = {e.symbol: e for e in run.events if isinstance(e, Position)}
        xbt = positions["XBTUSD"]
        assert xbt.pair == "BTC:USD" and xbt.currency == "XBT" and xbt.qty > 0
        assert xbt.mark_price and xbt.entry_price and xbt.leverage
        # Inverse contract: a long gains when the mark is above the entry.
        assert (xbt.unrealised_pnl > 0) == (xbt.mark_price > xbt.entry_price)
        assert xbt.base_qty == pytest.approx(xbt.qty / xbt.mark_price)
        sol = positions["SOLUSDT"]
        assert sol.currency == "USDT" and sol.qty < 0 and sol.base_qty == pytest.approx(sol.qty / 10_000)
        assert (sol.unrealised_pnl > 0) == (sol.mark_price < sol.entry_price)
        assert sol.liq_price > sol.mark_price, "a short is liquidated above the mark"
        margins = {e.currency for e in run.events if isinstance(e, Margin)}
        assert {"XBT", "USDT"} <= margins


async def test_bad_signature_is_an_account_error_without_retries(sim: Simulator,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="finxtui")
    wrong = Credentials(bitmex_key=DEMO_BITMEX_KEY, bitmex_secret="not-the-secret-at-all-000000000000000000")
    async with FeedRunner(feed_for(sim, credentials=wrong)) as run:
        error = await run.status("error", scope="account")
        assert "Signature not valid" in error.detail and "BITMEX_API_SECRET" in error.detail
        await run.status("live")  # the market data keeps flowing
        await backoff_window()  # a feed with this backoff that reconnected over the rejected key did so meanwhile
        assert run.feed.attempts == 1, "no reconnect storm"
        assert run.states("account").count("error") == 1
        assert [s for s in run.statuses() if s.state == "error"] == []
        # The feed's own reconnects do not retry a rejected key...
        sim.faults.drop("bitmex")
        await run.status("reconnecting", after=0)
        await run.until(lambda: run.feed.attempts == 2)
        await run.status("live", after=len(run.statuses()) - 1)
        assert run.states("account").count("error") == 1
        # ...but the user's reconnect (the r key) tries it once more.
        run.feed.reconnect()
        await run.until(lambda: run.states("account").count("error") == 2)
    text = caplog.text + "".join(str(e.to_dict()) for e in run.events)
    assert "not-the-secret" not in text


async def test_unknown_id_resyncs_the_book(sim: Simulator) -> None:
    async with FeedRunner(feed_for(sim)) as run:
        await run.status("live")
        n = len(run.statuses())
        assert sim.faults.apply("unknown_id", "bitmex") >= 1
        resync = await run.status("resyncing", after=n)
        assert "unknown level id" in resync.detail
        await run.status("live", after=n + 1)
        sim.set_rate(0)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_deltas_before_the_partial_are_dropped(sim: Simulator) -> None:
    sim.faults.arm("early_deltas", "bitmex", count=2)
    async with FeedRunner(feed_for(sim)) as run:
        await run.status("live")
        await run.until(lambda: run.feed.store.dropped_before_partial > 0)
        assert run.feed.resyncs == 0 and run.feed.rejected_frames == 0
        sim.set_rate(0)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_drop_stall_and_garbage_are_survived(manual_sim: Simulator) -> None:
    sim = manual_sim
    feed = feed_for(sim)
    feed.book_silence = 1.0
    # The market moves by hand, both pairs trading at every step, so only a stall silences a book; the venue's
    # clock stands still, so the stall lasts until the test ends it.
    both_trade = market_moves(sim, a_trade("bitmex", "BTC:USD"), a_trade("bitmex", "SOL:USD"))
    async with FeedRunner(feed) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.drop("bitmex")
        await run.status("reconnecting", after=n, step=both_trade)
        await run.status("live", after=n + 1, step=both_trade)
        n = len(run.statuses())
        sim.faults.stall("bitmex", seconds=2.0, pair="SOL:USD")
        stale = await run.status("stale", after=n, step=both_trade)
        assert "SOL:USD" in stale.detail
        await run.status("live", after=n + 1, step=both_trade)
        sim.faults.garbage("bitmex", 10)
        await run.until(lambda: run.feed.rejected_frames > 0)
        sim.advance(2.0)  # the stall is over: SOL:USD's held changes go out
        sim.step(100)
        for pair in PAIRS:
            await run.until(lambda p=pair: matches_sim(run.feed, sim, p))


async def test_silent_socket_is_pinged_and_kept(manual_sim: Simulator) -> None:
    # The venue's clock stands still: no instrument refresh, nothing at all unless the client asks. So the one
    # frame that follows the subscription's is the venue's answer to the ping the feed sends (on its own, real
    # clock) after 5 s of silence.
    sim = manual_sim
    async with FeedRunner(feed_for(sim)) as run:
        await run.status("live")
        await run.read_all(sim, "bitmex")
        quiet = run.feed.frames
        await run.until(lambda: run.feed.frames > quiet, timeout=15, what="the pong")
        assert run.feed.frames == frames_sent(sim, "bitmex") == quiet + 1
        assert run.feed.rejected_frames == 0, "the pong is read as one, not as a bad frame"
        assert run.feed.ws is not None and run.feed.attempts == 1
        assert "reconnecting" not in run.states()
