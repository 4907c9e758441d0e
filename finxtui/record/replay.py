"""Play a recording back as normalized events, in receive order, paced like the original (or faster).

``replay_events(DIR, …)`` is the source for ``finx-tui tail --replay`` and for ``finx-tui replay`` (the TUI).
Books are rebuilt from the recording's last snapshot at or before the start plus the deltas after it; each
``BookUpdate`` carries the replay's own book, which (as with a live feed) must be read before the next event.

The pieces: :mod:`~finxtui.record.recording` (the files and their time span), :mod:`~finxtui.record.rows`
(rows to records, merged in order), :mod:`~finxtui.record.pacing` (the clock the viewer pauses and speeds up);
this module turns records into events and keeps the books. It also names everything a caller of the replay
needs (``__all__``), so ``from finxtui.record.replay import …`` stays the one import.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import BookUpdate, Event
from finxtui.record.pacing import ReplayControl
from finxtui.record.recording import RecordedFile, Recording, ReplayError
from finxtui.record.rows import ReplayStats, RowReader, merged_records

__all__ = ["RecordedFile", "Recording", "ReplayControl", "ReplayError", "ReplayStats", "replay_events"]

# The replay's modules share one logger, so a warning reads the same whichever module raises it.
log = logging.getLogger("finxtui.record.replay")

YIELD_EVERY = 0.005  # seconds of replay work between yields to the event loop (speed 0)
_YIELD_CHECK = 64  # events between looks at the clock for YIELD_EVERY (a clock read per event costs)


class _Player:
    """Turns merged records into events, keeping the books; handles the part before ``start``."""

    def __init__(self, start: float | None, stats: ReplayStats) -> None:
        self.start = start
        self.stats = stats
        self.books: dict[tuple[str, str], OrderBook] = {}
        self.based: set[tuple[str, str]] = set()
        # Before the start: the latest state-like event per key, emitted (in order) when the start is reached.
        self.latest: dict[tuple, tuple[float, Event]] = {}

    def book(self, source: str, pair: str) -> OrderBook:
        key = (source, pair)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(source, pair)
        return book

    def apply(self, kind: str, payload: Any, quiet: bool) -> Event | None:
        """Apply one record; the event to emit (None when there is none or ``quiet``)."""
        if kind == "book_deltas":
            key = (payload.source, payload.pair)
            if key not in self.based:
                self.stats.orphan_deltas += 1
                return None
            book = self.books[key]
            for side, price, size in payload.changes:
                book.set(side, price, size)
            return None if quiet else BookUpdate(payload.source, payload.pair, book, False, payload.changes,
                                                 payload.ts)
        if kind == "book_snapshots":
            key = (payload.source, payload.pair)
            book = self.book(payload.source, payload.pair)
            if payload.checkpoint and key in self.based:
                if dict(book.bids) == dict(payload.bids) and dict(book.asks) == dict(payload.asks):
                    return None
                self.stats.repaired_books += 1
                log.warning("%s %s: the replayed book differs from the recorded checkpoint (rows lost?); "
                            "continuing from the checkpoint", payload.source, payload.pair)
            book.load(payload.bids, payload.asks)
            self.based.add(key)
            if quiet:
                return None
            changes = [(BID, p, s) for p, s in payload.bids] + [(ASK, p, s) for p, s in payload.asks]
            return BookUpdate(payload.source, payload.pair, book, True, changes, payload.ts)
        return None if quiet else payload

    def remember(self, recv: float, kind: str, event: Event) -> None:
        """Before the start: keep the latest of each kind of state."""
        e: Any = event
        if kind == "status":
            key: tuple = (kind, e.source, e.scope)
        elif kind == "positions":
            key = (kind, e.source, e.symbol)
        elif kind == "margin":
            key = (kind, e.source, e.currency)
        elif kind == "orders":
            key = (kind, e.source, e.order_id)  # each order's last state: the ones open at the start show
        elif kind == "executions":
            key = (kind, e.source, e.exec_id)  # every fill before the start: the recent fills list
        else:
            key = (kind, e.source, e.pair)
        self.latest[key] = (recv, event)

    def prologue(self) -> list[Event]:
        """The state at the start: the latest of everything, then every rebuilt book as a snapshot."""
        out: list[Event] = [ev for _, ev in sorted(self.latest.values(), key=lambda item: item[0])]
        for key in sorted(self.based):
            book = self.books[key]
            changes = [(BID, p, s) for p, s in book.top_bids(len(book.bids))]
            changes += [(ASK, p, s) for p, s in book.top_asks(len(book.asks))]
            out.append(BookUpdate(key[0], key[1], book, True, changes, self.start or 0.0))
        self.latest.clear()
        return out


def _bases(files: list[RecordedFile], start: float, pairs: set[str] | None,
           stats: ReplayStats) -> dict[tuple[str, str], tuple[float, int, str]]:
    """Per book: the (recv_ts, seq, day) of its last snapshot at or before ``start``."""
    start_day = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d")
    bases: dict[tuple[str, str], tuple[float, int, str]] = {}
    for f in files:
        if f.kind != "book_snapshots" or f.day > start_day:
            continue
        for recv, seq, _rank, _kind, snap in RowReader(f, pairs, stats):
            if recv > start:
                break
            key = (snap.source, snap.pair)
            if key not in bases or (recv, seq) >= bases[key][:2]:
                bases[key] = (recv, seq, f.day)
    return bases


async def replay_events(path: Path | str | Recording, sources: Iterable[str] | None = None,
                        pairs: Iterable[str] | None = None, speed: float = 0.0, *,
                        start: float | str | None = None, control: ReplayControl | None = None,
                        stats: ReplayStats | None = None) -> AsyncIterator[Event]:
    """The recorded events of ``sources`` and ``pairs`` (None: all) in receive order.

    ``speed``: times real time, 0 as fast as possible (ignored when a ``control`` is given: its speed rules).
    ``start``: UNIX seconds or ``--from`` text; the state before it is summarised first (the latest status,
    instrument, position, margin, bar, trade and tick of each kind, each order's last state, every fill, then
    every book rebuilt from its last snapshot and later deltas), then events follow from ``start`` on.
    """
    recording = path if isinstance(path, Recording) else Recording(path)
    pair_set = set(pairs) if pairs else None
    files = recording.select(sources, pairs)
    start_ts = recording.parse_start(start) if isinstance(start, str) else start
    ctl = control or ReplayControl(speed)
    stats = stats if stats is not None else ReplayStats()
    bases = _bases(files, start_ts, pair_set, stats) if start_ts is not None else {}
    if start_ts is not None:
        # Whole days of deltas before a book's base snapshot cannot matter.
        files = [f for f in files if not (f.kind == "book_deltas" and f.day < bases.get((f.source, f.key), ("",))[-1])]
    player = _Player(start_ts, stats)
    started = start_ts is None
    cutoff = start_ts if start_ts is not None else -math.inf  # records at or before it only build the prologue
    last_yield = time.monotonic()
    work = 0
    try:
        for recv, seq, rank, kind, payload in merged_records(files, pair_set, stats):
            if not started:
                if recv <= cutoff:
                    if rank or kind == "book_deltas":
                        base = bases.get((payload.source, payload.pair))
                        # Only the last snapshot at or before the start and the deltas after it matter.
                        if base is None or (recv, seq) < base[:2] or (not rank and (recv, seq) == base[:2]):
                            continue
                        player.apply(kind, payload, quiet=True)
                    else:
                        player.remember(recv, kind, payload)
                    continue
                started = True
                ctl.begin(cutoff)
                for state in player.prologue():
                    stats.events += 1
                    yield state
            event = player.apply(kind, payload, quiet=False)
            if event is None:
                continue
            if ctl.speed > 0 or ctl.paused:
                await ctl.wait_until(recv)
            else:
                ctl.begin(recv)
                work += 1
                if work >= _YIELD_CHECK:
                    work = 0
                    now = time.monotonic()
                    if now - last_yield > YIELD_EVERY:
                        await asyncio.sleep(0)  # speed 0: never starve the loop (timers, signals, the UI)
                        last_yield = time.monotonic()
            stats.events += 1
            yield event
        if not started:
            for state in player.prologue():  # the start is after the last event: show the final state
                stats.events += 1
                yield state
    finally:
        if stats.skipped or stats.orphan_deltas or stats.repaired_books:
            log.warning("replay of %s: %d malformed rows skipped, %d book updates without a snapshot before "
                        "them, %d books repaired from checkpoints", recording.root, stats.skipped,
                        stats.orphan_deltas, stats.repaired_books)
