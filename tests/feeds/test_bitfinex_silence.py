"""When a quiet Bitfinex channel is stale (issue 10, 5a), judged against sessions replayed with their timing.

Bitfinex heartbeats each channel every 15 s but skips a channel's heartbeat when it had traffic since the
previous tick, so a healthy channel can go up to two periods between frames (reference A7: 20.6-24.6 s in a
real 2021 session). Three sessions: the real 2021 capture we keep (30 s, 21 channels; its longest wait on one
channel is one heartbeat period, 15.0 s), a scripted one in which a channel's heartbeats are skipped as A7
describes (24.6 s between its frames, twice: the old 20 s limit called it stale), and one in which a channel
really goes silent. Time is compressed ``SPEED`` times: the replayer keeps each line's recorded gap divided by
``SPEED``, and the feed is told a heartbeat period (and a health-check interval) divided by the same factor.
Nothing here asserts a time; waits are bounded and end on a condition.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.session import WAKE_INTERVAL
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import bitfinex as wire
from tests.conftest import CAPTURES
from tests.feeds.replayer import CaptureServer, parse_capture, server_frames
from tests.feeds.runner import FeedRunner

BITFINEX = Path(CAPTURES) / "bitfinex-2021-04-17.ws"
SPEED = 20.0  # recorded seconds per replayed second


def scaled_feed(url: str, pairs: list[str], table: PairTable = DEFAULT_PAIRS, **kwargs: Any) -> BitfinexFeed:
    """A feed told the venue's heartbeat period, and its own health-check interval, ``SPEED`` times shorter."""
    return BitfinexFeed(url, pairs, table=table, heartbeat=wire.HEARTBEAT_SECONDS / SPEED,
                        health_interval=WAKE_INTERVAL / SPEED, **kwargs)


@contextlib.asynccontextmanager
async def replayed(path: Path, pairs: list[str], table: PairTable = DEFAULT_PAIRS,
                   **kwargs: Any) -> AsyncIterator[tuple[CaptureServer, FeedRunner]]:
    """The session at ``path`` served with its recorded timing, compressed, and a feed scaled alike reading it."""
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(CaptureServer(path, speed=SPEED))
        run = await stack.enter_async_context(FeedRunner(scaled_feed(server.url, pairs, table, **kwargs)))
        yield server, run


def capture_table(path: Path) -> tuple[list[str], PairTable]:
    """The pairs of the capture's book channels, and a pair table that maps them to their symbols."""
    table = PairTable([])
    pairs: list[str] = []
    for text in server_frames(path):
        msg = orjson.loads(text)
        if isinstance(msg, dict) and msg.get("event") == "subscribed" and msg["channel"] == "book":
            pair = msg["symbol"][1:]
            table.extend(pair, kind="crypto", tick=0.00001, symbols={"bitfinex": msg["symbol"]})
            pairs.append(pair)
    return pairs, table


def largest_channel_gap(path: Path) -> float:
    """Recorded seconds of the longest wait between two frames of one channel (from its ack on)."""
    last: dict[int, float] = {}
    gap = 0.0
    for line in parse_capture(path):
        if line.who != "server":
            continue
        msg = orjson.loads(line.text)
        if isinstance(msg, dict):
            if msg.get("event") == "subscribed":
                last[msg["chanId"]] = line.at
            continue
        if msg[0] in last:
            gap = max(gap, line.at - last[msg[0]])
        last[msg[0]] = line.at
    return gap


def script(tmp_path: Path, frames: list[tuple[float, object]]) -> Path:
    """A capture of ``(recorded second, frame)`` pairs; channel frames (lists) get the next sequence number."""
    lines = ["ws://test <-> 0"]
    seq = 0
    for at, frame in frames:
        if isinstance(frame, list):
            seq += 1
            frame = [*frame, seq]
        lines.append(f"{at}: {orjson.dumps(frame).decode()}")
    path = tmp_path / "session.ws"
    path.write_text("\n".join(lines) + "\n")
    return path


OPENING: list[tuple[float, object]] = [
    (0.0, {"event": "info", "version": 2, "serverId": "x", "platform": {"status": 1}}),
    (0.0, {"event": "conf", "status": "OK", "flags": wire.FLAG_SEQ_ALL}),
    (0.0, {"event": "subscribed", "channel": "book", "chanId": 1, "symbol": "tBTCUSD", "prec": "P0", "len": "25"}),
    (0.0, {"event": "subscribed", "channel": "trades", "chanId": 2, "symbol": "tBTCUSD"}),
    (0.0, [1, [[100, 1, 1.5], [101, 1, -2.0]]]),
    (0.0, [2, [[5, 1_618_677_543_000, 0.1, 100]]]),
]


def trades_heartbeats(until: float) -> list[tuple[float, object]]:
    """The trades channel's heartbeat on every 15 s tick up to ``until`` (it has no traffic to skip one)."""
    ticks = int(until // wire.HEARTBEAT_SECONDS)
    return [(k * wire.HEARTBEAT_SECONDS, [2, wire.HEARTBEAT]) for k in range(1, ticks + 1)]


def resubscribed(server: CaptureServer, chan_id: int) -> bool:
    frames = [orjson.loads(f) for f in server.client_frames]
    left = any(f.get("event") == "unsubscribe" and f.get("chanId") == chan_id for f in frames)
    books = [f for f in frames if f.get("event") == "subscribe" and f.get("channel") == "book"]
    return left and len(books) >= 2


async def test_a_real_session_with_its_recorded_timing_is_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert 14.9 < largest_channel_gap(BITFINEX) < 15.1, "one heartbeat period: hb at 3.96 s and 18.96 s"
    caplog.set_level(logging.WARNING, logger="finxtui")
    pairs, table = capture_table(BITFINEX)
    total = len(server_frames(BITFINEX))
    async with replayed(BITFINEX, pairs, table, depth=100) as (server, run):
        await run.until(lambda: run.feed.frames >= total, timeout=30, what="every frame read")
        await run.status("live")
    assert run.states() == ["connecting", "live"], run.statuses()
    assert run.feed.resyncs == 0 and run.feed.rejected_frames == 0
    assert not any(orjson.loads(f).get("event") == "unsubscribe" for f in server.client_frames)
    warnings = [r for r in caplog.records if r.name.startswith("finxtui") and r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == []


async def test_a_channel_whose_heartbeats_are_skipped_is_not_stale(tmp_path: Path) -> None:
    # The book has traffic just after a tick, so its next heartbeat is skipped: 24.6 s between its frames, twice
    # (the longest gap the reference saw), while the trades channel heartbeats on every tick.
    book = [(0.1, [1, [100, 2, 1.0]]), (24.7, [1, wire.HEARTBEAT]), (49.3, [1, [101, 0, -1]])]
    path = script(tmp_path, sorted(OPENING + book + trades_heartbeats(50.0), key=lambda f: f[0]))
    total = len(server_frames(path))
    async with replayed(path, ["BTC:USD"]) as (server, run):
        await run.until(lambda: run.feed.frames >= total, timeout=15, what="every frame read")
    assert run.states() == ["connecting", "live"], run.statuses()
    assert run.feed.resyncs == 0 and not resubscribed(server, 1)
    assert run.feed.books["BTC:USD"].top(5) == ([(100, 1.0)], [])


async def test_a_channel_that_goes_silent_is_stale_and_resubscribed(tmp_path: Path) -> None:
    # After its snapshot the book says nothing, heartbeat included; the trades channel keeps the socket busy.
    path = script(tmp_path, OPENING + trades_heartbeats(120.0))
    async with replayed(path, ["BTC:USD"]) as (server, run):
        await run.status("live")
        stale = await run.status("stale", after=len(run.statuses()))
        await run.until(lambda: resubscribed(server, 1), what="book resubscribed")
    assert "BTC:USD book silent" in stale.detail
    assert run.feed.resyncs == 1, "only the silent book: the heartbeating trades channel is healthy"
