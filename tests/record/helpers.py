"""Helpers for the recorder tests: a movable clock, a book that emits updates as a feed does, CSV checks."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import BookUpdate, Event, Status, Tick, Trade
from finxtui.record.schema import COLUMNS, KINDS
from finxtui.record.writer import Recorder

AFTERNOON = 1_795_357_800.0  # 2026-11-22 14:30:00 UTC
BEFORE_MIDNIGHT = 1_795_391_998.0  # 2026-11-22 23:59:58 UTC: two seconds before a midnight


class Clock:
    def __init__(self, start: float = BEFORE_MIDNIGHT) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LiveBook:
    """Applies changes to one book and returns the BookUpdate a feed would emit (same live-book contract)."""

    def __init__(self, source: str = "bitfinex", pair: str = "BTC:USD") -> None:
        self.source = source
        self.pair = pair
        self.book = OrderBook(source, pair)

    def snapshot(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]], ts: float) -> BookUpdate:
        self.book.load(bids, asks)
        changes = [(BID, p, s) for p, s in bids] + [(ASK, p, s) for p, s in asks]
        return BookUpdate(self.source, self.pair, self.book, True, changes, ts)

    def delta(self, changes: list[tuple[str, float, float]], ts: float) -> BookUpdate:
        for side, price, size in changes:
            self.book.set(side, price, size)
        return BookUpdate(self.source, self.pair, self.book, False, list(changes), ts)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a recorded file, asserting the file is whole: one header, whole lines, full rows."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path} ends inside a row"
    kind = path.parent.parent.name
    header_text = ",".join(COLUMNS[kind])
    lines = data.decode("utf-8").split("\n")[:-1]
    assert lines[0] == header_text, f"{path}: header {lines[0]!r}"
    assert lines.count(header_text) == 1, f"{path}: a second header"
    rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    for n, row in enumerate(body, start=2):
        assert len(row) == len(header), f"{path}:{n}: {len(row)} cells, header has {len(header)}: {row}"
        float(row[1])  # recv_ts
    return header, body


def recorded_files(root: Path) -> list[Path]:
    return sorted(p for kind in KINDS for p in (root / kind).glob("*/*.csv"))


async def collect(events: AsyncIterator[Event]) -> list[Any]:
    """Every event of a replay, with books copied (the replay's book is live, like a feed's)."""
    out: list[Any] = []
    async for event in events:
        if isinstance(event, BookUpdate):
            out.append(("book", event.source, event.pair, event.snapshot, event.book.top(1000)))
        else:
            out.append(event)
    return out


def final_books(events: list[Any]) -> dict[tuple[str, str], Any]:
    books: dict[tuple[str, str], Any] = {}
    for e in events:
        if isinstance(e, tuple) and e[0] == "book":
            books[(e[1], e[2])] = e[4]
    return books


def make_recording(root: Path, *, steps: int = 200, checkpoint_every: float = 5.0) -> list:
    """A session of ``steps`` 0.1 s apart from AFTERNOON on: book updates, trades, ticks, a resync half way.

    Returns (receive time, book top) after each step.
    """
    clock = Clock(AFTERNOON)
    rec = Recorder(root, clock=clock, checkpoint_every=checkpoint_every)
    rec.open()
    live = LiveBook()
    rec.record(Status("bitfinex", "connecting", "ws://127.0.0.1:1/bitfinex/ws/2", clock.now))
    rec.record(Status("bitfinex", "live", "", clock.now))
    rec.record(live.snapshot([(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 2.0)], clock.now))
    history = [(clock.now, live.book.top(1000))]
    for i in range(steps):
        clock.advance(0.1)
        if i == steps // 2:
            rec.record(Status("bitfinex", "resyncing", "checksum mismatch", clock.now))
            rec.record(live.snapshot([(90.0 + i / 100, 1.0)], [(110.0, 1.0)], clock.now))
        else:
            side = BID if i % 3 else ASK
            price = (95.0 + (i % 7)) if side == BID else (105.0 + (i % 5))
            rec.record(live.delta([(side, price, 0.0 if i % 4 == 0 else 1.0 + i)], clock.now))
        if i % 5 == 0:
            rec.record(Trade("bitfinex", "BTC:USD", 100.0 + i, 0.5, "buy", clock.now, str(i)))
            rec.record(Tick("finx", "BTC:USD", 100.0 + i, "GEMINI", clock.now))
        history.append((clock.now, live.book.top(1000)))
    rec.close()
    return history
