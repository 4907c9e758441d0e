"""The Finazon feed against the simulator over loopback: bars, interpolation, auth, and every fault.

Each test is bounded by ``asyncio.timeout``; the thresholds that would make a test wait a venue's real
silence (15 s for a ticker, 10 s for the socket) are lowered on the feed instance, never the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from finxtui.feeds.finazon import FinazonFeed, interpolation_points, is_auth_error
from finxtui.feeds.session import Backoff
from finxtui.model.events import Bar, Status, Tick
from finxtui.model.pairs import PairTable
from finxtui.sim.bars import BarBuilder, BarState
from finxtui.sim.credentials import DEMO_FINAZON_KEY
from finxtui.sim.server import Simulator
from tests.feeds.runner import FeedRunner, backoff_window

EQUITIES = ["AAPL", "MSFT", "NVDA"]
BAD_KEY = "not-the-key-7f3a9c"


class Run(FeedRunner):
    """The shared runner, with the bar lookups these tests use."""

    def bars(self, pair: str | None = None) -> list[Bar]:
        return self.of(Bar, pair)

    async def bar_after(self, pair: str, index: int, timeout: float = 5.0) -> Bar:
        """A bar for ``pair`` among the events from ``index`` on."""
        return await self.until(lambda: next((e for e in self.events[index:]
                                              if isinstance(e, Bar) and e.pair == pair), None), timeout)


def make_feed(sim: Simulator, pairs: list[str] = EQUITIES, key: str = DEMO_FINAZON_KEY,
              **kwargs: Any) -> FinazonFeed:
    kwargs.setdefault("backoff", Backoff(base=0.1, cap=0.5))
    return FinazonFeed(sim.base_url("finazon"), pairs, api_key=key, **kwargs)


def trade_all(sim: Simulator) -> None:
    """Step a paused simulator until every equity has a forming bar."""
    for _ in range(200):
        if all(sim.finazon.bars[p].current is not None for p in EQUITIES):
            return
        sim.step(20)
    raise AssertionError("the simulated equities never traded")


def sim_bar(builder: BarBuilder, t: float) -> BarState | None:
    """The simulator's bar that opened at ``t`` (forming or just closed), if it had a trade."""
    for bar in (builder.current, builder.closed):
        if bar is not None and bar.t == t:
            return bar
    return None


def bar_groups(events: list[Any]) -> Iterator[tuple[Bar, list[Tick]]]:
    """Each bar with the interpolated ticks that follow it."""
    current: tuple[Bar, list[Tick]] | None = None
    for event in events:
        if isinstance(event, Bar):
            if current is not None:
                yield current
            current = (event, [])
        elif isinstance(event, Tick) and current is not None:
            current[1].append(event)
    if current is not None:
        yield current


@pytest.fixture
def feed_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the feeds log, at debug level, even when the app's logging stopped propagation."""
    logger = logging.getLogger("finxtui.feeds")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(old)


# -- bars and status ----------------------------------------------------------------------------------


async def test_bars_match_the_simulator_and_status_goes_live(paused_sim: Simulator) -> None:
    trade_all(paused_sim)
    async with asyncio.timeout(10), Run(make_feed(paused_sim, ["AAPL", "MSFT"])) as run:
        live = await run.status("live")
        assert live.detail == ""
        assert run.statuses()[0].state == "connecting"
        assert [s.state for s in run.statuses()] == ["connecting", "live"]
        await run.until(lambda: len(run.bars("AAPL")) >= 2 and len(run.bars("MSFT")) >= 2)
        for bar in run.bars():
            assert bar.pair in ("AAPL", "MSFT") and bar.source == "finazon"
            assert bar.l <= min(bar.o, bar.c) and max(bar.o, bar.c) <= bar.h
            assert bar.ts == int(bar.ts) and int(bar.ts) % 60 == 0
            assert bar.interval == 60
            assert abs(bar.ts - time.time()) < 120  # seconds, not milliseconds
            state = sim_bar(paused_sim.finazon.bars[bar.pair], bar.ts)
            if state is None:  # a new minute with no trade yet repeats the last close
                assert bar.v == 0 and bar.o == bar.h == bar.l == bar.c
            else:
                assert (bar.o, bar.h, bar.l, bar.c, bar.v) == (state.o, state.h, state.l, state.c, round(state.v))
        assert not [e for e in run.events if isinstance(e, Tick)], "interpolation is off by default"
        assert run.feed.rejected_frames == 0


async def test_new_trades_show_in_the_next_bar(paused_sim: Simulator) -> None:
    trade_all(paused_sim)
    async with asyncio.timeout(10), Run(make_feed(paused_sim, ["AAPL"])) as run:
        await run.bar_after("AAPL", 0)
        before = paused_sim.finazon.bars["AAPL"].current
        assert before is not None
        volume = before.v
        while paused_sim.finazon.bars["AAPL"].current is before and before.v == volume:
            paused_sim.step(10)
        state = paused_sim.finazon.bars["AAPL"].current
        assert state is not None
        target = (state.t, state.c, round(state.v))
        await run.until(lambda: any((b.ts, b.c, b.v) == target for b in run.bars("AAPL")), timeout=4)


async def test_pairs_not_on_finazon_are_skipped_and_named(sim: Simulator) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, ["AAPL", "BTC:USD"])) as run:
        live = await run.status("live")
        assert "not on Finazon: BTC:USD" in live.detail
        assert run.feed.subscription()["tickers"] == ["AAPL"]
        await run.bar_after("AAPL", 0)
        assert {b.pair for b in run.bars()} == {"AAPL"}


async def test_a_refused_ticker_is_reported_not_fatal(sim: Simulator) -> None:
    table = PairTable()
    table.extend("TSLA", kind="equity", tick=0.01, symbols={"finazon": "TSLA"})
    async with asyncio.timeout(10), Run(make_feed(sim, ["AAPL", "TSLA"], table=table)) as run:
        live = await run.status("live")
        assert "TSLA" in live.detail and "unrecognized" in live.detail
        assert set(run.feed.rejected_tickers) == {"TSLA"}
        await run.bar_after("AAPL", 0)
        assert run.statuses()[-1].state == "live"


async def test_only_refused_tickers_is_a_fatal_error(sim: Simulator) -> None:
    table = PairTable()
    table.extend("TSLA", kind="equity", tick=0.01, symbols={"finazon": "TSLA"})
    async with asyncio.timeout(10), Run(make_feed(sim, ["TSLA"], table=table)) as run:
        error = await run.status("error")
        assert "TSLA" in error.detail
        await backoff_window()  # a feed with this backoff that retried the refusal did so meanwhile
        assert run.feed.attempts == 1
        assert [s.state for s in run.statuses()] == ["connecting", "error"]


# -- interpolation ------------------------------------------------------------------------------------


async def test_interpolation_walks_open_to_close_once_per_new_frame(sim: Simulator) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, EQUITIES, interpolate=90)) as run:
        await run.until(lambda: len(run.bars()) >= 6, timeout=8)
        seen: dict[str, tuple[float, float, float]] = {}
        new_frames = 0
        for bar, ticks in bar_groups(run.events):
            key = (bar.ts, bar.o, bar.c)
            if seen.get(bar.pair) == key:
                assert ticks == [], "the same bar re-sent is not interpolated again"
                continue
            seen[bar.pair] = key
            new_frames += 1
            assert len(ticks) == 90
            assert {t.pair for t in ticks} == {bar.pair}
            assert all(t.exchange == "interpolated" and t.source == "finazon" for t in ticks)
            assert ticks[0].price == bar.o and ticks[-1].price == bar.c
            lo, hi = min(bar.o, bar.c), max(bar.o, bar.c)
            assert all(lo <= t.price <= hi for t in ticks)
            stamps = [t.ts for t in ticks]
            assert stamps[0] == bar.ts
            assert stamps == sorted(stamps) and stamps[-1] <= bar.ts + 60
            assert stamps[-1] <= time.time() + 0.01  # up to the frame's arrival, in seconds
            gaps = [b - a for a, b in itertools.pairwise(stamps)]
            assert max(gaps) - min(gaps) < 0.003  # evenly spaced (to the millisecond)
        assert new_frames >= 2


async def test_interpolation_skips_identical_frames(paused_sim: Simulator) -> None:
    trade_all(paused_sim)
    async with asyncio.timeout(10), Run(make_feed(paused_sim, ["AAPL"], interpolate=90)) as run:
        await run.until(lambda: len(run.bars()) >= 3, timeout=6)
        counts = [len(ticks) for _, ticks in bar_groups(run.events)]
        assert counts[0] == 90
        assert 0 in counts[1:3], "a paused market re-sends the same bar, which adds no ticks"
        assert all(n in (0, 90) for n in counts)


async def test_interpolated_times_stop_at_the_end_of_the_minute(paused_sim: Simulator) -> None:
    trade_all(paused_sim)
    late = lambda: time.time() + 3600.0  # noqa: E731 - the feed's clock: frames "arrive" long after their minute
    async with asyncio.timeout(10), Run(make_feed(paused_sim, ["MSFT"], interpolate=4, clock=late)) as run:
        await run.until(lambda: run.bars(), timeout=5)
        bar, ticks = next(bar_groups(run.events))
        assert [t.ts for t in ticks] == [bar.ts, bar.ts + 20, bar.ts + 40, bar.ts + 60]


def test_interpolation_points() -> None:
    assert interpolation_points(10.0, 11.0, 600, 606.0, 3, 4) == [(10.0, 600.0), (10.5, 603.0), (11.0, 606.0)]
    assert interpolation_points(10.0, 11.0, 600, 590.0, 2, 4) == [(10.0, 600.0), (11.0, 600.0)]
    assert interpolation_points(10.0, 11.0, 600, 605.0, 1, 4) == [(11.0, 605.0)]
    assert interpolation_points(10.0, 11.0, 600, 605.0, 0, 4) == []
    points = interpolation_points(232.51, 232.44, 1_700_000_040, 1_700_000_051.5, 90, 4)
    assert len(points) == 90 and points[0] == (232.51, 1_700_000_040) and points[-1] == (232.44, 1_700_000_051.5)
    assert all(p == round(p, 4) for p, _ in points)


# -- parsing ------------------------------------------------------------------------------------------


async def test_malformed_bars_are_rejected_and_counted(paused_sim: Simulator) -> None:
    feed = make_feed(paused_sim, ["AAPL"], interpolate=2)
    good = (b'{"d":"us_stocks_essential","p":"finazon","ch":"bars","f":"1s","aggr":"1m","s":"AAPL",'
            b'"t":1699540020,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":4572}')
    bad = [
        b'{"s":"AAPL","t":1699540020,"o":220.06,"h":220.13,"l":219.92,"v":4572}',  # no close
        b'{"s":"AAPL","t":1699540020,"o":"220.06","h":220.13,"l":219.92,"c":219.96,"v":4572}',
        b'{"s":"AAPL","t":1699540020,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":true}',
        b'{"s":"AAPL","t":null,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":4572}',
        b'{"s":"TSLA","t":1699540020,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":4572}',
        b'{"s":"AAPL","t":1699540020000,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":4572}',
        b'{"s":"AAPL","t":1699540020,"o":220.06,"h":220.0,"l":219.92,"c":219.96,"v":4572}',
        b'{"s":7,"t":1699540020,"o":220.06,"h":220.13,"l":219.92,"c":219.96,"v":4572}',
        b'{"status":"weird"}', b'{"hello":1}', b"[1,2]", b"", b"\xff\x00", b"{",
    ]
    for frame in bad:
        feed.on_frame(frame)
    assert feed.rejected_frames == len(bad)
    feed.on_frame(good)
    feed.on_frame(good)  # the same data again: a bar, no new ticks
    async with asyncio.timeout(2):
        events = [await anext(feed) for _ in range(6)]  # queued before any connection
    assert events[0] == Bar("finazon", "AAPL", 220.06, 220.13, 219.92, 219.96, 4572.0, 1699540020.0)
    assert [(e.price, e.exchange) for e in events[1:3]] == [(220.06, "interpolated"), (219.96, "interpolated")]
    assert isinstance(events[3], Status) and events[3].state == "live"  # a bar proves the subscription
    assert events[4] == events[0]
    assert isinstance(events[5], Status) and events[5].state == "connecting"  # only now does it connect
    await feed.aclose()


def test_auth_errors_are_told_apart() -> None:
    assert is_auth_error("Invalid API key")
    assert is_auth_error("Unauthorized")
    assert not is_auth_error("Too many connections: up to 3 active connections are allowed for each API key.")
    assert not is_auth_error("The ticker TSLA you have specified is unrecognized or unsupported.")


# -- credentials --------------------------------------------------------------------------------------


async def test_no_key_reports_once_and_never_connects(sim: Simulator) -> None:
    feed = make_feed(sim, key="")
    async with asyncio.timeout(5):
        events = [event async for event in feed]
    assert len(events) == 1 and isinstance(events[0], Status)
    assert events[0].state == "off" and "FINAZON_API_KEY" in events[0].detail  # a choice, not a fault
    assert feed.attempts == 0 and not sim.connections["finazon"]


async def test_bad_key_is_one_error_without_retries(sim: Simulator, feed_logs: pytest.LogCaptureFixture) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, key=BAD_KEY)) as run:
        error = await run.status("error")
        assert "FINAZON_API_KEY" in error.detail and "401" in error.detail
        await backoff_window()  # a feed with this backoff that retried the key did so meanwhile
        assert run.feed.attempts == 1
        assert [s.state for s in run.statuses()] == ["connecting", "error"]
        assert not sim.connections["finazon"]
    assert all(BAD_KEY not in s.detail for s in run.statuses())
    assert BAD_KEY not in feed_logs.text


async def test_key_refused_by_an_error_frame_is_fatal(sim: Simulator) -> None:
    sim.faults.finazon_soft_auth = True
    async with asyncio.timeout(10), Run(make_feed(sim, key=BAD_KEY)) as run:
        error = await run.status("error")
        assert "FINAZON_API_KEY" in error.detail and "Invalid API key" in error.detail
        await backoff_window()  # a feed with this backoff that retried the key did so meanwhile
        assert run.feed.attempts == 1
        assert "reconnecting" not in [s.state for s in run.statuses()]


async def test_the_key_is_never_shown_or_logged(sim: Simulator, feed_logs: pytest.LogCaptureFixture) -> None:
    feed = make_feed(sim)
    assert feed.display_url() == sim.base_url("finazon") + "/v1?apikey=***"
    assert DEMO_FINAZON_KEY in feed.url()
    async with asyncio.timeout(10), Run(feed) as run:
        live = await run.status("live")
        sim.faults.drop("finazon")
        await run.status("live", after=run.statuses().index(live) + 1)
        sim.faults.garbage("finazon", 4)
        await run.until(lambda: feed.rejected_frames >= 4)
    assert feed_logs.records, "the feed logged nothing: this test would prove nothing"
    assert DEMO_FINAZON_KEY not in feed_logs.text
    assert all(DEMO_FINAZON_KEY not in s.detail for s in run.statuses())


async def test_no_pair_on_finazon_reports_and_ends(sim: Simulator) -> None:
    feed = make_feed(sim, ["BTC:USD"])
    async with asyncio.timeout(5):
        events = [event async for event in feed]
    assert [(e.state, e.detail) for e in events] == [("error", "none of the pairs is on Finazon (BTC:USD)")]
    assert feed.attempts == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "ws://127.0.0.1:port", "ws://[::1", "ws://h/x?apikey=1"])
def test_a_bad_url_is_refused_up_front(url: str) -> None:
    with pytest.raises(ValueError, match="Finazon URL"):
        FinazonFeed(url, ["AAPL"], api_key=DEMO_FINAZON_KEY)


# -- faults -------------------------------------------------------------------------------------------


async def test_dropped_connection_reconnects_and_bars_resume(sim: Simulator) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, ["AAPL", "MSFT"])) as run:
        await run.status("live")
        await run.bar_after("AAPL", 0)
        n = len(run.statuses())
        sim.faults.drop("finazon")
        gone = await run.status("reconnecting", after=n)
        assert "dropped" in gone.detail and "retrying in" in gone.detail
        await run.status("live", after=n + 1)
        mark = len(run.events)
        await run.bar_after("AAPL", mark)
        await run.bar_after("MSFT", mark)
        assert run.feed.attempts == 2


async def test_stalled_ticker_is_stale_by_name_then_live(sim: Simulator) -> None:
    feed = make_feed(sim, ["AAPL", "MSFT"])
    async with asyncio.timeout(12), Run(feed) as run:
        await run.status("live")
        await run.until(lambda: run.bars("AAPL") and run.bars("MSFT"))
        feed.ticker_silence = 1.5
        n = len(run.statuses())
        before = len(run.events)
        sim.faults.stall("finazon", seconds=3.0, pair="AAPL")
        stale = await run.status("stale", after=n)
        assert "AAPL" in stale.detail and "MSFT" not in stale.detail
        mark = len(run.events)
        assert "MSFT" in [e.pair for e in run.events[before:mark] if isinstance(e, Bar)], \
            "MSFT kept flowing during the AAPL stall"
        await run.status("live", after=run.statuses().index(stale) + 1, timeout=6)
        await run.bar_after("AAPL", mark)
        assert feed.attempts == 1, "a quiet ticker is not a dead socket"


async def test_stalled_socket_goes_stale_then_reconnects(sim: Simulator) -> None:
    feed = make_feed(sim, ["AAPL"])
    feed.stale_after = 1.0
    feed.dead_after = 2.5
    async with asyncio.timeout(12), Run(feed) as run:
        await run.status("live")
        n = len(run.statuses())
        sim.faults.stall("finazon", seconds=8)
        stale = await run.status("stale", after=n)
        assert "no data" in stale.detail
        assert feed.heartbeats_sent >= 1, "a quiet socket is probed with a heartbeat"
        gone = await run.status("reconnecting", after=n)
        assert "no data" in gone.detail
        await run.status("live", after=run.statuses().index(gone) + 1)
        await run.bar_after("AAPL", len(run.events))


async def test_heartbeats_go_out_and_are_answered(sim: Simulator) -> None:
    feed = make_feed(sim, ["AAPL"])
    feed.heartbeat_every = 0.5
    async with asyncio.timeout(10), Run(feed) as run:
        await run.status("live")
        await run.until(lambda: feed.heartbeat_replies >= 2)
        assert feed.heartbeats_sent >= feed.heartbeat_replies
        assert feed.rejected_frames == 0
        assert run.statuses()[-1].state == "live"


async def test_garbage_frames_are_counted_and_the_feed_goes_on(sim: Simulator) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, ["AAPL"])) as run:
        await run.status("live")
        sim.faults.garbage("finazon", 8)
        await run.until(lambda: run.feed.rejected_frames == 8)
        await run.bar_after("AAPL", len(run.events))
        assert run.feed.rejected_frames == 8
        assert run.statuses()[-1].state == "live"
        assert not run.ended.is_set()


async def test_aclose_ends_the_iteration(sim: Simulator) -> None:
    async with asyncio.timeout(10), Run(make_feed(sim, ["AAPL"])) as run:
        await run.status("live")
        await run.feed.aclose()
        await asyncio.wait_for(run.ended.wait(), 3)
        count = len(run.events)
        await run.until(lambda: not sim.connections["finazon"], what="the venue saw the socket close")
        assert [e async for e in run.feed] == [], "a closed feed yields nothing more"
        assert len(run.events) == count and run.feed.attempts == 1


async def test_a_fourth_connection_is_refused_then_retried(sim: Simulator) -> None:
    async with asyncio.timeout(10), contextlib.AsyncExitStack() as stack:
        first = [await stack.enter_async_context(Run(make_feed(sim, ["AAPL"]))) for _ in range(3)]
        for run in first:
            await run.status("live")
        fourth = await stack.enter_async_context(Run(make_feed(sim, ["AAPL"])))
        refused = await fourth.status("reconnecting")
        assert "Too many connections" in refused.detail
        assert "live" not in [s.state for s in fourth.statuses()]
        await first[0].feed.aclose()  # one socket freed: the next retry gets in
        await fourth.status("live")
        await fourth.bar_after("AAPL", len(fourth.events))
