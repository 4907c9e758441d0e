"""Limits: an oversized frame, a flood of unknown channels or tables, and a venue's subscription limit each
get a clear status or a counted rejection, never memory growth or a crash."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from finxtui.feeds import session
from finxtui.feeds.bitfinex import LEFT_MEMORY, BitfinexFeed
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.session import Backoff
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from tests.feeds.replayer import CaptureServer
from tests.feeds.runner import FeedRunner

INFO = '{"event":"info","version":2,"serverId":"x","platform":{"status":1}}'
WELCOME = '{"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z","limit":{"remaining":39}}'


def capture(tmp_path: Path, frames: list[str]) -> Path:
    path = tmp_path / "script.ws"
    path.write_text("ws://test <-> 0\n" + "".join(f"0: {f}\n" for f in frames))
    return path


async def test_oversized_frame_closes_with_a_clear_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "MAX_FRAME", 64 * 1024)
    big = orjson.dumps([1, "x" * (100 * 1024), 1]).decode()
    async with CaptureServer(capture(tmp_path, [INFO, big])) as server:
        feed = BitfinexFeed(server.url, ["BTC:USD"], backoff=Backoff(base=5, cap=5))
        async with FeedRunner(feed) as run:
            gone = await run.status("reconnecting")
    assert "over the 0.0625 MiB limit" in gone.detail


async def test_flood_of_unknown_channels_is_counted_not_kept(tmp_path: Path) -> None:
    frames = [INFO] + [f"[{10_000 + i},[1,1,1],{i + 1}]" for i in range(3000)]
    async with CaptureServer(capture(tmp_path, frames)) as server:
        feed = BitfinexFeed(server.url, ["BTC:USD"])
        async with FeedRunner(feed) as run:
            await run.until(lambda: feed.frames >= len(frames))
    assert feed.rejections["frame for a channel we never subscribed"] == 3000
    assert not feed.channels and feed.remembered_channels <= LEFT_MEMORY


async def test_flood_of_unknown_bitmex_tables_is_not_stored(tmp_path: Path) -> None:
    frames = [WELCOME] + [orjson.dumps({"table": f"junk{i}", "action": "partial", "keys": ["id"],
                                        "data": [{"id": i, "blob": "x" * 50}]}).decode() for i in range(2000)]
    async with CaptureServer(capture(tmp_path, frames)) as server:
        feed = BitmexFeed(server.url, ["BTC:USD"])
        async with FeedRunner(feed) as run:
            await run.until(lambda: feed.frames >= len(frames))
    assert feed.rejections["table we did not subscribe"] == 2000
    assert not any(t.startswith("junk") for t in feed.store.keys)


async def test_venue_subscription_limit_is_reported() -> None:
    # The venue allows 25 channels a socket; three makes a small test of it.
    async with Simulator(seed=2, settings=SimSettings(bitfinex_channel_limit=3)) as sim:
        feed = BitfinexFeed(sim.base_url("bitfinex"), ["BTC:USD", "ETH:USD"])
        async with FeedRunner(feed) as run:
            live = await run.status("live")
    assert "subscribe: limit (10305)" in live.detail
