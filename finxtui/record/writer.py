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
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import io
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
    Instrument,
    Margin,
    Position,
    Status,
    Tick,
    Trade,
)
from finxtui.record.schema import (
    COLUMNS,
    SNAPSHOT_CHECKPOINT,
    SNAPSHOT_VENUE,
    STATUS_MARKET_KEY,
    IsoClock,
    RecordingError,
    file_path,
    header_line,
    text,
    venue_iso,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("finxtui.record")

LOCK_NAME = ".finx-tui-record.lock"
CHECKPOINT_EVERY = 60.0  # seconds of receive time between book checkpoints
BUFFER_LIMIT = 1 << 20  # bytes buffered for one file before it is written regardless of the timer
_TAIL_CHUNK = 1 << 16

Writer = Callable[[int, bytes | memoryview], int]


class RecordError(RecordingError):
    """The recorder cannot write (unwritable directory, full disk, foreign file): stop and say so."""


def _describe(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{exc.strerror} (disk full)"
    return exc.strerror or str(exc)


class _File:
    """One open CSV file: its descriptor, its size on disk, and the rows not yet written."""

    __slots__ = ("buf", "day", "fd", "kind", "path", "size", "writer")

    def __init__(self, kind: str, path: Path, day: str, fd: int, size: int) -> None:
        self.kind = kind
        self.path = path
        self.day = day
        self.fd = fd
        self.size = size
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="\n")

    def take(self) -> bytes:
        data = self.buf.getvalue()
        if not data:
            return b""
        self.buf.seek(0)
        self.buf.truncate()
        return data.encode("utf-8")


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
        self._write = write
        self._secrets: list[str] = []
        self.add_secrets(secrets)
        self._files: dict[tuple[str, str, str], _File] = {}
        self._retired: list[_File] = []
        self._books: dict[tuple[str, str], _BookStream] = {}
        self._iso = IsoClock()
        self._venue_iso = IsoClock()
        self._last = -math.inf
        self._lock_fd: int | None = None
        self._syncing: asyncio.Future | None = None
        self._closed = False
        #: events recorded, and files opened (including the next day's) by this run
        self.events = 0
        self.files_opened = 0
        #: one line per file repaired on open (an unfinished row cut off)
        self.repairs: list[str] = []

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Text that must never reach a file (keys): replaced by ``***`` in free-text cells."""
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(known, key=len, reverse=True)

    # -- life -----------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create ``out`` if needed and take its lock; RecordError (worded for the user) when it cannot."""
        out = self.out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RecordError(f"{out} exists and is not a directory") from None
        except OSError as exc:
            raise RecordError(f"cannot create {out}: {_describe(exc)}") from None
        if not out.is_dir():
            raise RecordError(f"{out} is not a directory")
        try:
            fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write to {out}: {_describe(exc)}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RecordError(f"another 'finx-tui record' is writing to {out}") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            os.close(fd)
            raise RecordError(f"cannot write to {out}: {_describe(exc)}") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Write and sync everything, then close every file (blocking)."""
        if self._closed:
            return
        try:
            self.sync()
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
            pending = self._syncing
            if pending is not None:
                await asyncio.wait([pending])
                if not pending.cancelled() and pending.exception() is not None:
                    errors.append(pending.exception())  # type: ignore[arg-type]
            try:
                await asyncio.shield(self._start_sync())
            except RecordError as exc:
                errors.append(exc)
        finally:
            self._release()
        if errors:
            raise errors[0]

    def _release(self) -> None:
        self._closed = True
        for f in [*self._files.values(), *self._retired]:
            with contextlib.suppress(OSError):
                os.close(f.fd)
        self._files.clear()
        self._retired.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

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
        kind = event.type
        if kind == "book":
            self._book(event, now, stamp, day)  # type: ignore[arg-type]
        elif kind == "trade":
            ev: Trade = event  # type: ignore[assignment]
            self._row("trades", ev.source, ev.pair, day, (
                stamp, now, ev.source, ev.pair, venue_iso(ev.ts, self._venue_iso), ev.ts, ev.price, ev.size,
                ev.side, text(ev.trade_id)))
        elif kind == "tick":
            tk: Tick = event  # type: ignore[assignment]
            self._row("ticks", tk.source, tk.pair, day, (
                stamp, now, tk.source, tk.pair, venue_iso(tk.ts, self._venue_iso), tk.ts, tk.price,
                text(tk.exchange)))
        elif kind == "bar":
            bar: Bar = event  # type: ignore[assignment]
            self._row("bars", bar.source, bar.pair, day, (
                stamp, now, bar.source, bar.pair, venue_iso(bar.ts, self._venue_iso), bar.ts, bar.interval,
                bar.o, bar.h, bar.l, bar.c, bar.v))
        elif kind == "position":
            pos: Position = event  # type: ignore[assignment]
            self._row("positions", pos.source, pos.pair or pos.symbol, day, (
                stamp, now, pos.source, pos.pair or "", venue_iso(pos.ts, self._venue_iso), pos.ts,
                text(pos.symbol), pos.qty, pos.base_qty, text(pos.currency), pos.entry_price, pos.mark_price,
                pos.liq_price, pos.unrealised_pnl, pos.realised_pnl, pos.leverage))
        elif kind == "margin":
            mg: Margin = event  # type: ignore[assignment]
            self._row("margin", mg.source, mg.currency or "-", day, (
                stamp, now, mg.source, "", venue_iso(mg.ts, self._venue_iso), mg.ts, text(mg.currency),
                mg.wallet_balance, mg.margin_balance, mg.available, mg.unrealised_pnl))
        elif kind == "status":
            st: Status = event  # type: ignore[assignment]
            self._row("status", st.source, st.scope or STATUS_MARKET_KEY, day, (
                stamp, now, st.source, "", st.ts, text(st.scope), st.state, self._redact(text(st.detail))))
        elif kind == "instrument":
            ins: Instrument = event  # type: ignore[assignment]
            self._row("instruments", ins.source, ins.pair, day, (
                stamp, now, ins.source, ins.pair, text(ins.symbol), "true" if ins.inverse else "false",
                ins.contract_value, text(ins.unit), ins.tick, ins.lot))
        else:
            log.warning("not recording an event of unknown type %r", kind)
            return
        self.events += 1

    def _redact(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value

    def _row(self, kind: str, source: str, key: str, day: str, row: tuple) -> None:
        f = self._file(kind, source, key, day)
        f.writer.writerow(row)
        if f.buf.tell() > self.buffer_limit:
            self._flush(f)

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
        f = self._file("book_deltas", ev.source, ev.pair, day)
        seq, source, pair, ts = stream.seq, ev.source, ev.pair, ev.ts
        f.writer.writerows([(stamp, now, source, pair, ts, seq, side, price, size)
                            for side, price, size in ev.changes])
        if stream.snap_day != day or now - stream.snap_recv >= self.checkpoint_every:
            # The book as it is now is the state after this update: the feed applies nothing more
            # before we take its next event.
            self._snapshot(ev, stream, SNAPSHOT_CHECKPOINT, now, stamp, day)
        elif f.buf.tell() > self.buffer_limit:
            self._flush(f)

    def _snapshot(self, ev: BookUpdate, stream: _BookStream, reason: str, now: float, stamp: str,
                  day: str) -> None:
        nbids, nasks, bids, asks = levels_json(ev.book)
        stream.snap_recv = now
        stream.snap_day = day
        self._row("book_snapshots", ev.source, ev.pair, day, (
            stamp, now, ev.source, ev.pair, ev.ts, stream.seq, reason, nbids, nasks, bids, asks))

    # -- files ----------------------------------------------------------------------------------------

    def _file(self, kind: str, source: str, key: str, day: str) -> _File:
        slot = (kind, source, key)
        f = self._files.get(slot)
        if f is not None and f.day == day:
            return f
        if f is not None:
            self._retired.append(f)  # midnight: written and closed at the next sync
        f = self._files[slot] = self._open_file(kind, file_path(self.out, kind, source, key, day), day)
        return f

    def _open_file(self, kind: str, path: Path, day: str) -> _File:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write {path}: {_describe(exc)}") from None
        try:
            size = self._prepare(kind, path, fd)
            if size == 0:
                header = header_line(kind).encode()
                self._write_all(fd, header, path, 0)
                size = len(header)
        except BaseException:
            os.close(fd)
            raise
        self.files_opened += 1
        return _File(kind, path, day, fd, size)

    def _prepare(self, kind: str, path: Path, fd: int) -> int:
        """Check an existing file's header and cut an unfinished last row; returns the size to append at."""
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return 0
            head = os.pread(fd, min(size, _TAIL_CHUNK), 0)
            newline = head.find(b"\n")
            if newline < 0:
                # Not even a whole header: an interrupted first write. Start the file again.
                os.ftruncate(fd, 0)
                self._repaired(path, size, "an unfinished header")
                return 0
            found = head[:newline].decode("utf-8", "replace").strip().split(",")
            if tuple(found) != COLUMNS[kind]:
                raise RecordError(f"{path} has other columns than finx-tui writes for {kind} "
                                  f"({','.join(found)[:120]}); move it away or record to another directory")
            if os.pread(fd, 1, size - 1) == b"\n":
                return size
            end = _last_newline(fd, size)
            os.ftruncate(fd, end)
            self._repaired(path, size - end, "an unfinished row")
            return end
        except OSError as exc:
            raise RecordError(f"cannot read {path}: {_describe(exc)}") from None

    def _repaired(self, path: Path, cut: int, what: str) -> None:
        note = f"{path}: cut {what} ({cut} bytes) left by an interrupted run"
        self.repairs.append(note)
        log.warning("%s", note)

    def _write_all(self, fd: int, data: bytes, path: Path, size: int) -> None:
        """Write every byte or restore the file to ``size`` (its last whole line) and raise RecordError."""
        view = memoryview(data)
        try:
            while view:
                n = self._write(fd, view)
                if n <= 0:
                    raise OSError(errno.EIO, "the write made no progress")
                view = view[n:]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise RecordError(f"cannot write {path}: {_describe(exc)}") from None

    def _flush(self, f: _File) -> bool:
        data = f.take()
        if not data:
            return False
        self._write_all(f.fd, data, f.path, f.size)
        f.size += len(data)
        return True

    def write(self) -> list[int]:
        """Hand every buffered row to the OS (whole lines, one write per file); returns the fds written."""
        written = [f.fd for f in self._retired if self._flush(f)]
        written += [f.fd for f in self._files.values() if self._flush(f)]
        return written

    def sync(self) -> None:
        """Write, then fsync every open file (blocking), then close files retired at midnight."""
        self.write()
        retired, self._retired = self._retired, []
        _fsync_all([f.fd for f in [*self._files.values(), *retired]], self.out)
        for f in retired:
            with contextlib.suppress(OSError):
                os.close(f.fd)

    async def sync_async(self) -> None:
        """:meth:`sync` with the fsyncs in a worker thread (writes stay on the loop, in order).

        At most one runs at a time (a call while one runs returns at once: the next timer tick syncs). The
        fsync is shielded: cancelling the caller does not abandon a thread working on our descriptors.
        """
        if self._syncing is not None:
            return
        await asyncio.shield(self._start_sync())

    def _start_sync(self) -> asyncio.Future:
        self.write()
        retired, self._retired = self._retired, []
        fds = [f.fd for f in [*self._files.values(), *retired]]
        future = asyncio.get_running_loop().run_in_executor(None, _fsync_all, fds, self.out)
        self._syncing = future

        def finished(_: asyncio.Future) -> None:
            if self._syncing is future:
                self._syncing = None
            for f in retired:
                with contextlib.suppress(OSError):
                    os.close(f.fd)

        future.add_done_callback(finished)
        return future


def _fsync_all(fds: list[int], out: Path) -> None:
    for fd in fds:
        try:
            os.fsync(fd)
        except OSError as exc:
            raise RecordError(f"cannot sync a file in {out}: {_describe(exc)}") from None


def _last_newline(fd: int, size: int) -> int:
    """The offset just after the last ``\\n`` before ``size`` (0 if none)."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        end = start
    return 0
