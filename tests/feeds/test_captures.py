"""Real exchange captures replayed over loopback: the final books must equal books computed here, level by
level, straight from the raw frames (README of the captures: "What a correct client ends with")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.session import Feed
from finxtui.model.events import BookUpdate, Trade
from finxtui.model.pairs import PairTable
from tests.conftest import CAPTURES
from tests.feeds.replayer import CaptureServer, server_frames

BITFINEX = Path(CAPTURES) / "bitfinex-2021-04-17.ws"
BITMEX = Path(CAPTURES) / "bitmex-2021-07-22.ws"


def expected_bitfinex_books(path: Path) -> dict[str, tuple[dict, dict]]:
    """Plain dict code over the frames: P0 rules, per book channel."""
    chans: dict[int, str] = {}
    books: dict[str, tuple[dict, dict]] = {}
    for text in server_frames(path):
        msg = orjson.loads(text)
        if isinstance(msg, dict):
            if msg.get("event") == "subscribed" and msg["channel"] == "book":
                chans[msg["chanId"]] = msg["symbol"]
                books[msg["symbol"]] = ({}, {})
            continue
        symbol = chans.get(msg[0])
        if symbol is None or msg[1] == "hb":
            continue
        bids, asks = books[symbol]
        entries = msg[1] if isinstance(msg[1][0], list) else [msg[1]]
        for price, count, amount in entries:
            if count > 0:
                (bids if amount > 0 else asks)[price] = abs(amount)
            else:
                (bids if amount == 1 else asks).pop(price, None)
    return books


def expected_bitmex_books(path: Path) -> dict[str, tuple[dict, dict]]:
    """Per symbol and side: id -> (price, size), with price looked up from the id where a row lacks it."""
    levels: dict[str, dict[int, list]] = {}
    for text in server_frames(path):
        msg = orjson.loads(text)
        if not isinstance(msg, dict) or msg.get("table") != "orderBookL2":
            continue
        for row in msg["data"]:
            book = levels.setdefault(row["symbol"], {})
            if msg["action"] in ("partial", "insert"):
                book[row["id"]] = [row["side"], row["price"], row["size"]]
            elif msg["action"] == "update":
                book[row["id"]][2] = row["size"]
            else:
                del book[row["id"]]
    out = {}
    for symbol, book in levels.items():
        bids = {p: s for side, p, s in book.values() if side == "Buy"}
        asks = {p: s for side, p, s in book.values() if side == "Sell"}
        out[symbol] = (bids, asks)
    return out


async def drain(feed: Feed, server: CaptureServer, total: int) -> list:
    """Run the feed until it has read every frame the server sent."""
    events: list = []

    async def consume() -> None:
        async for event in feed:
            events.append(event)

    task = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(30):
            while feed.frames < total:  # the reader hands out a frame's events before it reads the next
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await feed.aclose()
    return events


async def test_bitfinex_capture_final_books_match() -> None:
    expected = expected_bitfinex_books(BITFINEX)
    table = PairTable([])
    for symbol in expected:
        table.extend(symbol[1:], kind="crypto", tick=0.00001, symbols={"bitfinex": symbol})
    total = len(server_frames(BITFINEX))
    async with CaptureServer(BITFINEX) as server:
        feed = BitfinexFeed(server.url, [s[1:] for s in expected], depth=100, table=table)
        events = await drain(feed, server, total)
    assert feed.rejected_frames == 0
    assert feed.resyncs == 0, "the capture has continuous sequence numbers"
    for symbol, (bids, asks) in expected.items():
        book = feed.books[symbol[1:]]
        assert dict(book.bids) == bids, symbol
        assert dict(book.asks) == asks, symbol
        assert not book.is_crossed()
    assert sum(1 for e in events if isinstance(e, BookUpdate) and not e.snapshot) > 1000
    trades = [e for e in events if isinstance(e, Trade)]
    assert trades and all(t.side in ("buy", "sell") and t.size > 0 for t in trades)


async def test_bitmex_capture_final_books_match() -> None:
    expected = expected_bitmex_books(BITMEX)
    assert len(expected) == 10
    table = PairTable([])
    for symbol in expected:
        table.extend(f"CAP:{symbol}", kind="crypto", tick=0.00000001, symbols={"bitmex": symbol})
    total = len(server_frames(BITMEX))
    async with CaptureServer(BITMEX) as server:
        feed = BitmexFeed(server.url, [f"CAP:{s}" for s in expected], full_book=True, table=table)
        events = await drain(feed, server, total)
    assert feed.rejected_frames == 0
    assert feed.resyncs == 0
    for symbol, (bids, asks) in expected.items():
        book = feed.books[f"CAP:{symbol}"]
        assert dict(book.bids) == bids, symbol
        assert dict(book.asks) == asks, symbol
    rows = sum(len(m["data"]) for m in map(orjson.loads, server_frames(BITMEX))
               if isinstance(m, dict) and m.get("table") == "orderBookL2" and m["action"] != "partial")
    updates = [e for e in events if isinstance(e, BookUpdate) and not e.snapshot]
    assert sum(len(u.changes) for u in updates) == rows, "every delta row of the capture was applied"
    assert len([e for e in events if isinstance(e, BookUpdate) and e.snapshot]) == 10
