"""The FinX feed and function client against the simulator: ticks of several pairs over several sockets, one
aggregated status, a refused key or pair, faults, keepAlive, and tick history paged through whole days."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from finxtui.feeds.finx import (
    PAGE_ROWS,
    FinxAuthError,
    FinxClient,
    FinxError,
    FinxFeed,
    FinxStream,
    HistoryPage,
    HistoryRow,
    collect,
    format_clock,
    page_through,
    parse_clock,
    parse_row,
)
from finxtui.feeds.merge import MergedFeed, aggregate
from finxtui.feeds.session import Backoff
from finxtui.model.events import Status, Tick
from finxtui.model.pairs import PairTable
from finxtui.sim.credentials import DEMO_FINX_KEY
from finxtui.sim.instruments import FINX_EXCHANGES
from finxtui.sim.market import SimTick
from finxtui.sim.server import Simulator
from tests.feeds.runner import FeedRunner, a_tick, backoff_window, market_moves

PAIRS = ["BTC:USD", "ETH:USD", "SOL:USD"]
BAD_KEY = "not-the-finx-key-4711"


def fast_backoff() -> Backoff:
    return Backoff(base=0.1, cap=0.5)


def finx_feed(sim: Simulator, pairs: list[str] = PAIRS, **kwargs: Any) -> FinxFeed:
    kwargs.setdefault("api_key", DEMO_FINX_KEY)
    return FinxFeed(sim.base_url("finx"), pairs, backoff=fast_backoff, **kwargs)


def ticks(run: FeedRunner, pair: str | None = None, after: int = 0) -> list[Tick]:
    return [e for e in run.events[after:] if isinstance(e, Tick) and (pair is None or e.pair == pair)]


def every_pair_ticks(run: FeedRunner, pairs: list[str], n: int, after: int = 0) -> bool:
    return all(len(ticks(run, p, after)) >= n for p in pairs)


def utc_ms(day_text: str, time_text: str) -> int:
    """A FinX row's instant in epoch ms, computed here without project code."""
    at = datetime.fromisoformat(f"{day_text}T{time_text.rstrip('Z')}+00:00")
    return round(at.timestamp() * 1000)


def sim_rows(sim: Simulator, pair: str, day: date) -> list[tuple[int, str, float]]:
    """The simulator's own full day, as (epoch ms, exchange, price), in its time order."""
    return [(utc_ms(r["date"], r["time"]), r["exchange"], float(r["price"]))
            for r in sim.finx.history.rows(pair, day)]


def past_day(sim: Simulator, days: int = 2) -> date:
    return sim.finx.history.today() - timedelta(days=days)


class ClientLogs:
    """What the client side logs, down to DEBUG (the simulator's own loggers left out: it is the venue)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    @property
    def text(self) -> str:
        return "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in self.caplog.records
                         if not r.name.startswith("finxtui.sim"))


@pytest.fixture
def finx_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> ClientLogs:
    # Propagate even if another test set up the app's own handlers (which stop propagation).
    monkeypatch.setattr(logging.getLogger("finxtui"), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="finxtui")
    return ClientLogs(caplog)


# -- streaming ------------------------------------------------------------------------------------------


async def test_ticks_of_three_pairs_come_over_three_sockets(sim: Simulator, finx_logs) -> None:
    feed = finx_feed(sim)
    async with FeedRunner(feed) as run:
        await run.status("live", timeout=15)
        await run.until(lambda: every_pair_ticks(run, PAIRS, 3), timeout=15)
        assert len(sim.connections["finx"]) == 3
        assert {p: s.connects for p, s in feed.streams.items()} == dict.fromkeys(PAIRS, 1)
    got = ticks(run)
    recorded = {p: set(sim_rows(sim, p, sim.finx.history.today())) for p in PAIRS}
    now = time.time()
    for tick in got:
        assert type(tick) is Tick and tick.source == "finx" and tick.pair in PAIRS
        assert type(tick.price) is float and tick.price > 0 and type(tick.ts) is float
        assert tick.exchange in FINX_EXCHANGES
        assert now - 60 < tick.ts <= now + 1
        # The very tick the venue sent: same millisecond, exchange and price as it recorded.
        assert (round(tick.ts * 1000), tick.exchange, tick.price) in recorded[tick.pair], tick
    # One aggregated status stream: connecting first, and one live, once every pair had ticked.
    statuses = run.statuses()
    assert all(s.source == "finx" for s in statuses)
    assert statuses[0].state == "connecting"
    assert [s.state for s in statuses].count("live") == 1
    first_live = next(i for i, e in enumerate(run.events) if isinstance(e, Status) and e.state == "live")
    assert {e.pair for e in run.events[:first_live] if isinstance(e, Tick)} == set(PAIRS)
    # The key is in the URL FinX wants, but never in what is shown or logged.
    for stream in feed.streams.values():
        assert DEMO_FINX_KEY in stream.url() and DEMO_FINX_KEY not in stream.display_url()
        assert stream.display_url().endswith(f"/streaming/***/{stream.pair}")
    assert not any(DEMO_FINX_KEY in s.detail for s in statuses)
    assert "streaming/***/" in finx_logs.text and DEMO_FINX_KEY not in finx_logs.text


async def test_no_key_is_off_naming_the_variable_and_never_connects(sim: Simulator) -> None:
    feed = FinxFeed(sim.base_url("finx"), PAIRS, api_key="")
    async with asyncio.timeout(5):
        events = [e async for e in feed]
    assert len(events) == 1 and isinstance(events[0], Status)
    assert events[0].state == "off" and "FINX_API_KEY" in events[0].detail  # a choice, not a fault
    assert feed.streams == {} and feed.attempts == 0, "no socket to open, none tried"
    assert not sim.connections["finx"]


async def test_bad_key_is_one_error_naming_the_variable_and_no_retry_storm(sim: Simulator, finx_logs) -> None:
    feed = finx_feed(sim, api_key=BAD_KEY)
    async with FeedRunner(feed) as run:
        error = await run.until(lambda: next((s for s in run.statuses() if s.state == "error"
                                              and s.detail.startswith(", ".join(PAIRS) + ": ")), None), timeout=10)
        assert "FINX_API_KEY" in error.detail and "rejected" in error.detail and ";" not in error.detail
        attempts = {p: s.connects for p, s in feed.streams.items()}
        n = len(run.statuses())
        await backoff_window()  # streams with this backoff that retried the key did so meanwhile
        assert {p: s.connects for p, s in feed.streams.items()} == attempts == dict.fromkeys(PAIRS, 1)
        assert run.statuses()[n:] == []
        assert feed.state == "error" and all(p in feed.detail for p in PAIRS)
    assert not ticks(run)
    assert not any(BAD_KEY in s.detail for s in run.statuses())
    assert BAD_KEY not in finx_logs.text


async def test_unknown_pair_is_reported_and_the_other_pairs_stream(sim: Simulator) -> None:
    table = PairTable()
    table.extend("DOGE:USD", symbols={"finx": "DOGE:USD"})  # in our table, not on the venue
    pairs = ["BTC:USD", "ETH:USD", "DOGE:USD"]
    feed = finx_feed(sim, pairs, table=table)
    async with FeedRunner(feed) as run:
        # Every pair but DOGE:USD is live, so the detail names DOGE:USD alone, with FinX's own words.
        error = await run.until(lambda: next((s for s in run.statuses() if s.state == "error"
                                              and s.detail.startswith("DOGE:USD: ") and ";" not in s.detail), None),
                                timeout=15)
        assert "unknown pair" in error.detail and feed.state == "error"
        assert feed.child_states["BTC:USD"][0] == feed.child_states["ETH:USD"][0] == "live"
        n = len(run.events)
        await run.until(lambda: every_pair_ticks(run, ["BTC:USD", "ETH:USD"], 1, after=n), timeout=15)
        assert feed.streams["DOGE:USD"].connects == 1  # not retried
    assert not ticks(run, "DOGE:USD")


async def test_garbage_is_counted_not_fatal_and_dropped_sockets_reconnect_every_pair(sim: Simulator) -> None:
    feed = finx_feed(sim)
    async with FeedRunner(feed) as run:
        await run.status("live", timeout=15)
        n = len(run.statuses())
        sim.faults.garbage("finx", 8)
        await run.until(lambda: feed.rejected_frames >= 8, timeout=10)
        after = len(run.events)
        await run.until(lambda: every_pair_ticks(run, PAIRS, 1, after=after), timeout=15)
        assert run.statuses()[n:] == [] and feed.state == "live"
        assert {p: s.connects for p, s in feed.streams.items()} == dict.fromkeys(PAIRS, 1)

        assert sim.faults.drop("finx") == 3
        gone = await run.status("reconnecting", after=n)
        assert "dropped" in gone.detail and "retrying in" in gone.detail
        await run.status("live", after=n + 1, timeout=15)
        assert {p: s.connects for p, s in feed.streams.items()} == dict.fromkeys(PAIRS, 2)
        after = len(run.events)
        await run.until(lambda: every_pair_ticks(run, PAIRS, 1, after=after), timeout=15)
        reconnecting = [s for s in run.statuses()[n:] if s.state == "reconnecting"]
        assert all(p in " ".join(s.detail for s in reconnecting) for p in PAIRS)


async def test_unlisted_pairs_are_named_and_reconnect_and_aclose_reach_every_stream(sim: Simulator) -> None:
    feed = finx_feed(sim, [*PAIRS, "AAPL"])
    assert list(feed.streams) == PAIRS and feed.skipped == ["AAPL"]
    async with FeedRunner(feed) as run:
        live = await run.status("live", timeout=15)
        assert live.detail == "not on FinX: AAPL"
        n = len(run.statuses())
        feed.reconnect("asked by the test")
        await run.status("live", after=n + 1, timeout=15)
        assert {p: s.connects for p, s in feed.streams.items()} == dict.fromkeys(PAIRS, 2)
        assert all("not on FinX: AAPL" in s.detail for s in run.statuses()[n:])
    # FeedRunner's exit called aclose: every socket is closed and the iteration is over.
    async with asyncio.timeout(5):
        while sim.connections["finx"]:
            await asyncio.sleep(0.05)
        async for _ in feed:
            pass


async def test_keepalive_keeps_a_stream_open_past_the_idle_limit(manual_sim: Simulator) -> None:
    sim = manual_sim
    sim.settings.finx_idle_limit = 1.5  # FinX's 300 s, shortened
    kept = finx_feed(sim, ["BTC:USD"])
    stream = kept.streams["BTC:USD"]
    stream.keepalive_every = 0.3
    silent = finx_feed(sim, ["ETH:USD"])  # the default 270 s: never sends one in this test
    async with FeedRunner(kept) as run, FeedRunner(silent) as control:
        await run.status("live", timeout=10, step=market_moves(sim, a_tick("BTC:USD")))  # live with its first tick
        # The venue's clock moves by hand, a second at a time, each second after the venue answered a keepAlive of
        # the kept stream: twice the idle limit in all.
        for _ in range(3):
            acks = stream.keepalive_acks
            await run.until(lambda a=acks: stream.keepalive_acks > a, what="a keepAlive answered")
            sim.advance(1.0)
        await control.status("reconnecting", timeout=10)  # without keepAlive the venue lets go
        assert stream.connects == 1 and "reconnecting" not in run.states()
        assert stream.keepalives_sent >= 3 and stream.keepalive_acks >= 3
    closed = next(s for s in control.statuses() if s.state == "reconnecting")
    assert "1001" in closed.detail and "idle timeout" in closed.detail


class _CrashOnce(FinxStream):
    """A stream whose first connection fails inside our own code (a bug, not a network fault)."""

    crashed = False

    async def on_connected(self, ws: Any) -> None:
        await super().on_connected(ws)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError(f"boom in {self.url()}")


async def test_a_child_that_raises_is_reported_and_restarted(sim: Simulator, finx_logs) -> None:
    base = sim.base_url("finx")
    children = {"BTC:USD": _CrashOnce(base, "BTC:USD", "BTC:USD", DEMO_FINX_KEY),
                "ETH:USD": FinxStream(base, "ETH:USD", "ETH:USD", DEMO_FINX_KEY)}
    feed = MergedFeed("finx", children, backoff=fast_backoff, redact=lambda t: t.replace(DEMO_FINX_KEY, "***"))
    async with FeedRunner(feed) as run:
        failed = await run.status("reconnecting", timeout=10)
        assert "BTC:USD: internal error (RuntimeError: boom in" in failed.detail and "restarting in" in failed.detail
        await run.status("live", timeout=15)
        await run.until(lambda: every_pair_ticks(run, ["BTC:USD", "ETH:USD"], 1), timeout=15)
    assert feed.restarts == {"BTC:USD": 1, "ETH:USD": 0}
    assert DEMO_FINX_KEY not in failed.detail and DEMO_FINX_KEY not in finx_logs.text


def test_aggregate_is_live_only_when_every_child_is() -> None:
    assert aggregate({"A": ("live", ""), "B": ("live", "")}) == ("live", "")
    assert aggregate({"A": ("live", ""), "B": ("connecting", "")}) == ("connecting", "B: connecting")
    state, detail = aggregate({"A": ("stale", "no data for 31s"), "B": ("error", "bad key"),
                               "C": ("error", "bad key"), "D": ("live", ""), "E": ("reconnecting", "dropped")})
    assert state == "error"
    assert detail == "B, C: bad key; E: dropped; A: no data for 31s"
    assert aggregate({"A": ("resyncing", "x"), "B": ("stale", "y")})[0] == "stale"
    assert aggregate({"A": ("live", ""), "B": ("weird", "?")}) == ("weird", "B: ?")  # unknown: the worst


# -- rows and times -------------------------------------------------------------------------------------


def test_rows_in_every_form_give_epoch_milliseconds() -> None:
    row = {"pair": "BTC:USD", "date": "2022-06-15", "time": "21:27:40.453Z", "exchange": "COINBASE",
           "price": "21865.010000000002"}
    assert parse_row(row) == (utc_ms("2022-06-15", "21:27:40.453"), "COINBASE", 21865.010000000002)
    flat = {"pair": "BTC:USDC", "unixDate": 1659897295, "UTCDate": "2022-08-07T18:34:55.000Z",
            "exchange": "BINANCE", "price": "23233.684999999998"}
    assert parse_row(flat) == (1659897295000, "BINANCE", 23233.684999999998)
    del flat["UTCDate"]
    assert parse_row(flat)[0] == 1659897295000
    for bad in ({**row, "price": "n/a"}, {**row, "price": "-1"}, {**row, "price": "nan"}, {**row, "price": True},
                {**row, "time": "25:00:00.000Z"}, {**row, "date": "2022-6-15"}, {**row, "exchange": ""}, "row"):
        with pytest.raises(ValueError):
            parse_row(bad)
    assert parse_clock("09:15") == 33_300_000 and parse_clock("09:15:01.5Z") == 33_301_500
    assert format_clock(parse_clock("23:59:59.999")) == "23:59:59.999"


# -- functions ------------------------------------------------------------------------------------------


async def test_authenticate_and_snap_share_one_socket(paused_sim: Simulator) -> None:
    async with FinxClient(paused_sim.base_url("finx"), DEMO_FINX_KEY) as client:
        await client.authenticate()
        snap = await client.tick_snap("ETH:USD")
        latest = paused_sim.finx.history.latest("ETH:USD")
        assert latest is not None and snap is not None
        assert (round(snap.ts * 1000), snap.exchange, snap.price) == (latest.ms, latest.exchange, float(latest.price))
        assert snap.source == "finx" and snap.pair == "ETH:USD"
        assert len(paused_sim.connections["finx"]) == 1 and client.requests == 2
        day = past_day(paused_sim)
        noon = await client.tick_snap("ETH:USD", day, parse_clock("12:00"))
        assert noon is not None and noon.ts <= datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
        assert await client.tick_snap("DOGE:USD") is None
        assert await client.tick_history("DOGE:USD", day) == []


async def test_history_pages_through_a_whole_past_day(paused_sim: Simulator) -> None:
    day = past_day(paused_sim, 3)
    full = sim_rows(paused_sim, "BTC:USD", day)
    assert len(full) > 5 * PAGE_ROWS
    async with FinxClient(paused_sim.base_url("finx"), DEMO_FINX_KEY) as client:
        pages = [page async for page in client.history_pages("BTC:USD", day)]
        assert len(pages) > len(full) // PAGE_ROWS and client.requests == len(pages)
        whole = await client.tick_history("BTC:USD", day)
        first = await client.tick_history("BTC:USD", day, all_pages=False)
    got = [row for page in pages for row in page]
    assert len(got) == len({r.key for r in got}) == len(full)  # each row exactly once
    assert [r.key for r in whole] == full  # sorted by time, every row of the day, nothing else
    assert all(r.pair == "BTC:USD" and r.date_text == day.isoformat() for r in whole)
    assert [r.key for r in first] == full[:PAGE_ROWS]


async def test_history_keeps_every_tick_sharing_a_page_boundary_millisecond(paused_sim: Simulator) -> None:
    day = past_day(paused_sim, 4)
    history = paused_sim.finx.history
    base = history.rows("SOL:USD", day)
    boundary = base[PAGE_ROWS - 3]  # the first page will end in the middle of this millisecond's ticks
    ms = utc_ms(boundary["date"], boundary["time"])
    for i in range(6):
        history.record(SimTick("SOL:USD", FINX_EXCHANGES[i % 4], 180.0 + i, repr(180.0 + i), ms / 1000))
    full = sim_rows(paused_sim, "SOL:USD", day)
    assert [t for t, _, _ in full[PAGE_ROWS - 3:PAGE_ROWS + 4]] == [ms] * 7
    async with FinxClient(paused_sim.base_url("finx"), DEMO_FINX_KEY) as client:
        rows = await client.tick_history("SOL:USD", day)
        # Asking strictly after the last time of a page, as a naive client would, loses some of them.
        first = await client.history_page("SOL:USD", day)
        naive = await client.history_page("SOL:USD", day, max(r.ms for r in first.rows) % 86_400_000)
    assert [r.key for r in rows] == sorted(full)  # by time; ties by exchange and price
    at_boundary = {k for k in full if k[0] == ms}
    assert at_boundary - ({r.key for r in first.rows} | {r.key for r in naive.rows})


async def test_pager_on_equal_timestamps_is_exact_and_terminates() -> None:
    """The paging logic alone, against a server in a list: strictly-after, earliest 1000, shuffled."""
    def server(rows: list[HistoryRow]):
        async def fetch(after: int | None) -> HistoryPage:
            later = [r for r in rows if after is None or r.ms % 86_400_000 > after][:PAGE_ROWS]
            return HistoryPage(list(reversed(later)), len(later))
        return fetch

    day0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
    rows = [HistoryRow("BTC:USD", day0 + 1000 + i // 7, FINX_EXCHANGES[i % 4], 100.0 + i) for i in range(3500)]
    got = await collect(page_through(server(rows)))
    assert got == sorted(rows, key=lambda r: r.key)
    # 1500 ticks in one millisecond: paging cannot move past it, and stops instead of asking forever.
    same = [HistoryRow("BTC:USD", day0 + 5, "KRAKEN", 1.0 + i) for i in range(1500)]
    pages = [p async for p in page_through(server(same))]
    assert len(pages) == 2 and len(pages[0]) == PAGE_ROWS and pages[1] == []


async def test_function_failures_are_clear_errors_without_the_key(sim: Simulator) -> None:
    url = sim.base_url("finx")
    day = past_day(sim)
    async with FinxClient(url, BAD_KEY) as client:
        with pytest.raises(FinxAuthError, match="FINX_API_KEY") as bad:
            await client.tick_history("BTC:USD", day)
    assert BAD_KEY not in str(bad.value)
    with pytest.raises(FinxAuthError, match="FINX_API_KEY"):
        await FinxClient(url, "").authenticate()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    with pytest.raises(FinxError, match="connection refused") as refused:
        await FinxClient(f"ws://127.0.0.1:{port}/finx", BAD_KEY).authenticate()
    assert BAD_KEY not in str(refused.value) and f"127.0.0.1:{port}/finx/backend/" in str(refused.value)
    async with FinxClient(url, DEMO_FINX_KEY, timeout=0.5) as client:
        await client.authenticate()
        sim.faults.stall("finx", seconds=3)
        with pytest.raises(FinxError, match=r"no reply to tickHistory within 0\.5 s"):
            await client.history_page("BTC:USD", day)


async def test_client_reopens_a_socket_the_venue_let_go(paused_sim: Simulator) -> None:
    paused_sim.settings.finx_idle_limit = 0.4
    async with FinxClient(paused_sim.base_url("finx"), DEMO_FINX_KEY) as client:
        await client.authenticate()
        async with asyncio.timeout(5):
            while paused_sim.connections["finx"]:
                await asyncio.sleep(0.05)  # closed for idling (1001)
        assert await client.tick_snap("BTC:USD") is not None
        assert client.requests == 2

