"""The durable CSV recorder: normalized events in, whole lines on disk (format: :mod:`finxtui.record.schema`).

How it stays durable:

* :meth:`Recorder.record` only encodes rows into per-file memory buffers (cheap, synchronous, on the feed's
  task). :meth:`Recorder.write` hands each file's buffered rows to the OS in one ``write`` of whole lines;
  :meth:`Recorder.sync` also ``fsync``\\ s them. The CLI writes four times a second and syncs every second, so a
  ``kill -9`` loses at most the rows of the last quarter second (the OS keeps what was written) and a power
  cut at most the last second. A buffer that grows past ``buffer_limit`` is written at once.
* On start, an existing file is checked: its header must be this version's (otherwise a clear error: the
  recorder never mixes formats in one file), and an unfinished last line (a crash inside a write) is cut off
  before anything is appended. A restart therefore appends to the same files with no second header.
* A failed write (disk full, I/O error) truncates the file back to its last whole line and raises
  :class:`RecordError` at once: nothing is lost silently.
* Files roll over at UTC midnight of the receive time. Each book also gets a ``checkpoint`` snapshot every
  ``checkpoint_every`` seconds and as the first row of each day's file, so a reader can start anywhere.
* A lock file (``DIR/.finx-tui-record.lock``) keeps two recorders out of one directory.

This module turns events into rows (and keeps each book's update counter and checkpoints);
:mod:`finxtui.record.files` keeps the files, the lock and the writes that make the above true.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

from finxtui.model.book import OrderBook
from finxtui.model.events import (
    Bar,
    BookUpdate,
    Event,
    ExecutionEvent,
    Instrument,
    Margin,
    OrderEvent,
    Position,
    Status,
    Tick,
    Trade,
)
from finxtui.record.files import RecorderFiles, RecordError, Writer
from finxtui.record.schema import (
    SNAPSHOT_CHECKPOINT,
    SNAPSHOT_VENUE,
    STATUS_MARKET_KEY,
    IsoClock,
    text,
    venue_iso,
)

__all__ = ["BUFFER_LIMIT", "CHECKPOINT_EVERY", "RecordError", "Recorder", "levels_json"]

log = logging.getLogger("finxtui.record")

CHECKPOINT_EVERY = 60.0  # seconds of receive time between book checkpoints
BUFFER_LIMIT = 1 << 20  # bytes buffered for one file before it is written regardless of the timer


class _BookStream:
    """Per (source, pair): the update counter and when the last snapshot row was written."""

    __slots__ = ("seq", "snap_day", "snap_recv")

    def __init__(self) -> None:
        self.seq = 0
        self.snap_recv = -math.inf
        self.snap_day = ""


def levels_json(book: OrderBook) -> tuple[int, int, str, str]:
    """(bid count, ask count, bids JSON, asks JSON), best first."""
    bids = book.top_bids(len(book.bids))
    asks = book.top_asks(len(book.asks))
    return len(bids), len(asks), orjson.dumps(bids).decode(), orjson.dumps(asks).decode()


class Recorder:
    """Append normalized events to ``out`` (see the module docstring for the guarantees).

    Call :meth:`open` first (it fails at once for an unwritable directory), :meth:`record` per event,
    :meth:`write`/:meth:`sync` on a timer, and :meth:`close` (or :meth:`aclose`) at the end. ``clock`` gives
    the receive time (UNIX seconds; injectable for tests); ``write`` is ``os.write`` unless a test injects a
    failing one.
    """

    def __init__(self, out: Path, *, clock: Callable[[], float] = time.time,
                 checkpoint_every: float = CHECKPOINT_EVERY, secrets: Iterable[str] = (),
                 buffer_limit: int = BUFFER_LIMIT, write: Writer = os.write) -> None:
        self.out = Path(out)
        self.clock = clock
        self.checkpoint_every = checkpoint_every
        self.buffer_limit = buffer_limit
        self._files = RecorderFiles(self.out, write=write)
        self._secrets: list[str] = []
        self.add_secrets(secrets)
        self._books: dict[tuple[str, str], _BookStream] = {}
        self._iso = IsoClock()
        self._venue_iso = IsoClock()
        self._last = -math.inf
        self._closed = False
        #: events recorded by this run
        self.events = 0

    @property
    def files_opened(self) -> int:
        """Files opened (including the next day's) by this run."""
        return self._files.files_opened

    @property
    def repairs(self) -> list[str]:
        """One line per file repaired on open (an unfinished row cut off)."""
        return self._files.repairs

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Text that must never reach a file (keys): replaced by ``***`` in free-text cells."""
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(known, key=len, reverse=True)

    # -- life -----------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create ``out`` if needed and take its lock; RecordError (worded for the user) when it cannot."""
        self._files.lock()

    def close(self) -> None:
        """Write and sync everything, then close every file (blocking)."""
        if self._closed:
            return
        try:
            self._files.sync()
        finally:
            self._release()

    async def aclose(self) -> None:
        """:meth:`close` for the event loop: waits for a sync in progress, fsyncs off the loop, closes.

        Raises RecordError if that last sync, or one still running, failed (an fsync error means lost data).
        """
        if self._closed:
            return
        errors: list[BaseException] = []
        try:
            pending = self._files.syncing
            if pending is not None:
                await asyncio.wait([pending])
                if not pending.cancelled() and (failure := pending.exception()) is not None:
                    errors.append(failure)
            try:
                await asyncio.shield(self._files.start_sync())
            except RecordError as exc:
                errors.append(exc)
        finally:
            self._release()
        if errors:
            raise errors[0]

    def _release(self) -> None:
        self._closed = True
        self._files.release()

    # -- recording ------------------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Encode one event into its file's buffer (RecordError if a file cannot be opened or written)."""
        if self._closed:
            raise RecordError("the recorder is closed")
        now = self.clock()
        if now <= self._last:
            # Receive times strictly increase within a run (a wall clock that stepped back, or two events in
            # one clock tick), so a replay's merge of the files restores exactly the order they came in.
            now = math.nextafter(self._last, math.inf)
        self._last = now
        stamp = self._iso(now)
        day = stamp[:10]
        if isinstance(event, BookUpdate):
            self._book(event, now, stamp, day)
        elif isinstance(event, Trade):
            self._row("trades", event.source, event.pair, day, (
                stamp, now, event.source, event.pair, venue_iso(event.ts, self._venue_iso), event.ts, event.price,
                event.size, event.side, text(event.trade_id)))
        elif isinstance(event, Tick):
            self._row("ticks", event.source, event.pair, day, (
                stamp, now, event.source, event.pair, venue_iso(event.ts, self._venue_iso), event.ts, event.price,
                text(event.exchange)))
        elif isinstance(event, Bar):
            self._row("bars", event.source, event.pair, day, (
                stamp, now, event.source, event.pair, venue_iso(event.ts, self._venue_iso), event.ts,
                event.interval, event.o, event.h, event.l, event.c, event.v))
        elif isinstance(event, Position):
            self._row("positions", event.source, event.pair or event.symbol, day, (
                stamp, now, event.source, event.pair or "", venue_iso(event.ts, self._venue_iso), event.ts,
                text(event.symbol), event.qty, event.base_qty, text(event.currency), event.entry_price,
                event.mark_price, event.liq_price, event.unrealised_pnl, event.realised_pnl, event.leverage))
        elif isinstance(event, Margin):
            self._row("margin", event.source, event.currency or "-", day, (
                stamp, now, event.source, "", venue_iso(event.ts, self._venue_iso), event.ts, text(event.currency),
                event.wallet_balance, event.margin_balance, event.available, event.unrealised_pnl))
        elif isinstance(event, Status):
            self._row("status", event.source, event.scope or STATUS_MARKET_KEY, day, (
                stamp, now, event.source, "", event.ts, text(event.scope), event.state,
                self._redact(text(event.detail))))
        elif isinstance(event, Instrument):
            self._row("instruments", event.source, event.pair, day, (
                stamp, now, event.source, event.pair, text(event.symbol), "true" if event.inverse else "false",
                event.contract_value, text(event.unit), event.tick, event.lot))
        elif isinstance(event, OrderEvent):
            self._row("orders", event.source, event.pair or event.symbol, day, (
                stamp, now, event.source, event.pair or "", venue_iso(event.ts, self._venue_iso), event.ts,
                text(event.symbol), text(event.order_id), event.side, event.price, event.qty, event.leaves_qty,
                event.filled_qty, event.avg_price, text(event.status), text(event.order_type),
                "true" if event.removed else "false"))
        elif isinstance(event, ExecutionEvent):
            self._row("executions", event.source, event.pair or event.symbol, day, (
                stamp, now, event.source, event.pair or "", venue_iso(event.ts, self._venue_iso), event.ts,
                text(event.symbol), text(event.order_id), text(event.exec_id), event.side, event.price, event.qty,
                event.leaves_qty, event.fee, text(event.currency), text(event.liquidity)))
        else:
            log.warning("not recording an event of unknown type %r", type(event).__name__)
            return
        self.events += 1

    def _redact(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value

    def _row(self, kind: str, source: str, key: str, day: str, row: tuple) -> None:
        f = self._files.get(kind, source, key, day)
        f.writer.writerow(row)
        if f.buf.tell() > self.buffer_limit:
            self._files.flush(f)

    def _book(self, ev: BookUpdate, now: float, stamp: str, day: str) -> None:
        key = (ev.source, ev.pair)
        stream = self._books.get(key)
        if stream is None:
            stream = self._books[key] = _BookStream()
        if ev.snapshot:
            stream.seq += 1
            self._snapshot(ev, stream, SNAPSHOT_VENUE, now, stamp, day)
            return
        if not ev.changes:
            return  # an update that changed nothing cannot be a row (feeds do not emit them)
        stream.seq += 1
        f = self._files.get("book_deltas", ev.source, ev.pair, day)
        seq, source, pair, ts = stream.seq, ev.source, ev.pair, ev.ts
        f.writer.writerows([(stamp, now, source, pair, ts, seq, side, price, size)
                            for side, price, size in ev.changes])
        if stream.snap_day != day or now - stream.snap_recv >= self.checkpoint_every:
            # The book as it is now is the state after this update: the feed applies nothing more
            # before we take its next event.
            self._snapshot(ev, stream, SNAPSHOT_CHECKPOINT, now, stamp, day)
        elif f.buf.tell() > self.buffer_limit:
            self._files.flush(f)

    def _snapshot(self, ev: BookUpdate, stream: _BookStream, reason: str, now: float, stamp: str,
                  day: str) -> None:
        nbids, nasks, bids, asks = levels_json(ev.book)
        stream.snap_recv = now
        stream.snap_day = day
        self._row("book_snapshots", ev.source, ev.pair, day, (
            stamp, now, ev.source, ev.pair, ev.ts, stream.seq, reason, nbids, nasks, bids, asks))

    # -- writing --------------------------------------------------------------------------------------

    def write(self) -> list[int]:
        """Hand every buffered row to the OS (whole lines, one write per file); returns the fds written."""
        return self._files.write()

    def sync(self) -> None:
        """Write, then fsync every open file (blocking), then close files retired at midnight."""
        self._files.sync()

    async def sync_async(self) -> None:
        """:meth:`sync` with the fsyncs in a worker thread (writes stay on the loop, in order).

        At most one runs at a time (a call while one runs returns at once: the next timer tick syncs). The
        fsync is shielded: cancelling the caller does not abandon a thread working on our descriptors.
        """
        if self._files.syncing is not None:
            return
        await asyncio.shield(self._files.start_sync())
