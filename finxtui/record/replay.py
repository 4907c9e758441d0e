"""Read a recording back as normalized events, in receive order, paced like the original (or faster).

``replay_events(DIR, …)`` is the source for ``finx-tui tail --replay`` and for ``finx-tui replay`` (the TUI).
Books are rebuilt from the recording's last snapshot at or before the start plus the deltas after it; each
``BookUpdate`` carries the replay's own book, which (as with a live feed) must be read before the next event.

Reading is tolerant where it can be and loud where it must be: a missing or empty directory, a file from an
unknown format (missing columns) or a ``--from`` outside the recording raise :class:`ReplayError`; a malformed
row is skipped and logged with its ``file:line``; an unfinished last line (a recorder killed mid-write) is
ignored.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import orjson

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import (
    Bar,
    BookChange,
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
    KINDS,
    PAIR_KINDS,
    SNAPSHOT_CHECKPOINT,
    RecordingError,
    boolean,
    number,
    parse_file_name,
    required,
)

log = logging.getLogger("finxtui.record.replay")

YIELD_EVERY = 0.005  # seconds of replay work between yields to the event loop (speed 0)
MAX_GAP = 5.0  # a silence longer than this (recording seconds: the recorder was stopped) ...
GAP_SHOWN = 1.0  # ... is replayed as this long

_SIDES = {"bid": BID, "ask": ASK}
_TRADE_SIDES = ("buy", "sell")


class ReplayError(RecordingError):
    """The recording cannot be replayed as asked (worded for the user)."""


# -- the files ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RecordedFile:
    path: Path
    kind: str
    source: str
    key: str  # the pair for PAIR_KINDS; pair or symbol, currency, scope for the others
    day: str


class Recording:
    """The CSV files of one recording directory (see :mod:`finxtui.record.schema` for the layout)."""

    def __init__(self, root: Path | str) -> None:
        self.root = root = Path(root)
        if not root.exists():
            raise ReplayError(f"{root}: no such directory")
        if not root.is_dir():
            raise ReplayError(f"{root} is not a directory")
        files: list[RecordedFile] = []
        for kind in KINDS:
            kind_dir = root / kind
            if not kind_dir.is_dir():
                continue
            for source_dir in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
                for path in sorted(source_dir.glob("*.csv")):
                    try:
                        key, day = parse_file_name(path.name)
                    except ValueError as exc:
                        log.warning("%s: not a recording file, ignored (%s)", path, exc)
                        continue
                    files.append(RecordedFile(path, kind, source_dir.name, key, day))
        if not files:
            raise ReplayError(f"{root} holds no finx-tui recording (expected files such as "
                              f"trades/bitfinex/BTC-USD_2026-11-21.csv, written by 'finx-tui record')")
        self.files = files
        self._span: tuple[float, float] | None = None

    @property
    def sources(self) -> list[str]:
        return sorted({f.source for f in self.files})

    def pairs(self, sources: Iterable[str] | None = None) -> list[str]:
        """Pairs with market data in the recording (of ``sources``, when given), sorted."""
        wanted = set(sources) if sources else None
        return sorted({f.key for f in self.files if f.kind in PAIR_KINDS and (wanted is None or f.source in wanted)})

    def select(self, sources: Iterable[str] | None = None, pairs: Iterable[str] | None = None) -> list[RecordedFile]:
        """The files that can hold events of ``sources`` and ``pairs`` (None: all); ReplayError when none do.

        Files without a pair in their name (status, margin, positions) go with their source whatever ``pairs``.
        """
        want_sources = set(sources) if sources else None
        want_pairs = set(pairs) if pairs else None
        chosen = [f for f in self.files
                  if (want_sources is None or f.source in want_sources)
                  and (want_pairs is None or f.kind not in PAIR_KINDS or f.key in want_pairs)]
        if not chosen:
            have = "; ".join(f"{s}: {', '.join(self.pairs([s])) or 'no market data'}" for s in self.sources)
            asked = " ".join(sorted(want_sources or ())) or "any source"
            raise ReplayError(f"{self.root} has nothing for {asked}; it holds {have}")
        return chosen

    def span(self) -> tuple[float, float]:
        """(first, last) receive time in the recording (reads only each file's first and last rows)."""
        if self._span is None:
            first, last = math.inf, -math.inf
            for f in self.files:
                edge = _edge_times(f.path)
                if edge is not None:
                    first, last = min(first, edge[0]), max(last, edge[1])
            if first == math.inf:
                raise ReplayError(f"{self.root} holds no events yet (only headers)")
            self._span = (first, last)
        return self._span

    def parse_start(self, value: str) -> float:
        """``--from``: HH:MM[:SS] on the recording's first UTC day, or ISO-8601 (naive means UTC)."""
        first, last = self.span()
        text = value.strip()
        try:
            if ":" in text and "-" not in text and "T" not in text.upper():
                moment = datetime.combine(datetime.fromtimestamp(first, UTC).date(), dtime.fromisoformat(text),
                                          tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError:
            raise ReplayError(f"--from {value!r}: expected HH:MM[:SS] (UTC, on the recording's first day) or an "
                              f"ISO-8601 time such as 2026-11-21T14:30:00Z") from None
        ts = moment.timestamp()
        if not first - 1.0 <= ts <= last:
            raise ReplayError(f"--from {value!r} is outside the recording ({_show(first)} to {_show(last)})")
        return ts


def _show(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _edge_times(path: Path) -> tuple[float, float] | None:
    """recv_ts of the first and the last whole data rows of a file, None when it has none."""
    with open(path, "rb") as fh:
        head = fh.readline()
        if not head.endswith(b"\n"):
            return None
        header = head.decode("utf-8", "replace").strip().split(",")
        if "recv_ts" not in header:
            return None
        col = header.index("recv_ts")
        first_line = fh.readline()
        if not first_line.endswith(b"\n"):
            return None
        last_line = _last_line(fh, fh.seek(0, os.SEEK_END), len(head))
    try:
        firsts = next(csv.reader([first_line.decode()]))
        lasts = next(csv.reader([(last_line or first_line).decode()]))
        return float(firsts[col]), float(lasts[col])
    except (ValueError, IndexError, StopIteration, UnicodeDecodeError):
        return None


def _last_line(fh: Any, size: int, floor: int) -> bytes | None:
    """The last line ending in ``\\n`` between ``floor`` and ``size`` (an unfinished tail is skipped)."""
    chunk = 1 << 14
    while True:
        start = max(floor, size - chunk)
        fh.seek(start)
        data = fh.read(size - start)
        end = data.rfind(b"\n")
        if end >= 0:
            begin = data.rfind(b"\n", 0, end)
            if begin >= 0:
                return data[begin + 1:end + 1]
            if start == floor:
                return data[:end + 1]
        elif start == floor:
            return None
        chunk *= 4


# -- rows to records ------------------------------------------------------------------------------------------

# A record: (recv_ts, seq, rank, kind, payload). Snapshots rank after the delta with the same seq (a
# checkpoint is the state after that update); seq is 0 outside books.
Record = tuple[float, int, int, str, Any]


@dataclass(slots=True)
class _Snap:
    source: str
    pair: str
    seq: int
    ts: float
    checkpoint: bool
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


@dataclass(slots=True)
class _Delta:
    source: str
    pair: str
    seq: int
    ts: float
    changes: list[BookChange]


class _Columns:
    """Header name → index for one file; ReplayError when a column this reader needs is missing."""

    def __init__(self, kind: str, header: list[str], path: Path) -> None:
        names = [h.strip() for h in header]
        missing = [c for c in COLUMNS[kind] if c not in names]
        if missing:
            raise ReplayError(f"{path}: not a finx-tui {kind} file (missing columns: {', '.join(missing)})")
        extra = [c for c in names if c not in COLUMNS[kind]]
        if extra:
            log.warning("%s: ignoring unknown columns %s (written by a newer finx-tui?)", path, ", ".join(extra))
        self.index = {name: i for i, name in enumerate(names)}
        self.width = len(names)


def _whole_lines(fh: Any, path: Path) -> Iterator[str]:
    for line in fh:
        if line.endswith("\n"):
            yield line
        else:
            log.warning("%s: ignoring an unfinished last line (a recorder stopped mid-write)", path)


def _levels(cell: str, count: str) -> list[tuple[float, float]]:
    raw = orjson.loads(cell)
    if type(raw) is not list or any(type(x) is not list or len(x) != 2 for x in raw):
        raise ValueError("levels are not a list of [price, size]")
    if len(raw) != int(count):
        raise ValueError(f"{len(raw)} levels where the row says {count}")
    return [(p, s) for p, s in raw]


def _parse(kind: str, row: list[str], c: dict[str, int]) -> tuple[str, Any]:
    """(pair for filtering, payload) of one row; ValueError/IndexError/KeyError when malformed."""
    g = row.__getitem__
    source = g(c["source"])
    pair = g(c["pair"])
    if kind == "trades":
        side = g(c["side"])
        if side not in _TRADE_SIDES:
            raise ValueError(f"side {side!r}")
        return pair, Trade(source, pair, required(g(c["price"])), required(g(c["size"])), side,
                           required(g(c["ts"])), g(c["trade_id"]))
    if kind == "ticks":
        return pair, Tick(source, pair, required(g(c["price"])), g(c["exchange"]), required(g(c["ts"])))
    if kind == "bars":
        return pair, Bar(source, pair, required(g(c["open"])), required(g(c["high"])), required(g(c["low"])),
                         required(g(c["close"])), required(g(c["volume"])), required(g(c["ts"])),
                         int(required(g(c["interval"]))))
    if kind == "positions":
        return pair, Position(source, pair or None, g(c["symbol"]), required(g(c["qty"])),
                              number(g(c["entry_price"])), number(g(c["mark_price"])), number(g(c["liq_price"])),
                              number(g(c["unrealised_pnl"])), number(g(c["leverage"])), g(c["currency"]),
                              number(g(c["base_qty"])), number(g(c["realised_pnl"])), required(g(c["ts"])))
    if kind == "margin":
        return pair, Margin(source, g(c["currency"]), number(g(c["wallet_balance"])),
                            number(g(c["margin_balance"])), number(g(c["available"])),
                            number(g(c["unrealised_pnl"])), required(g(c["ts"])))
    if kind == "status":
        return pair, Status(source, g(c["state"]), g(c["detail"]), required(g(c["ts"])), g(c["scope"]))
    if kind == "instruments":
        return pair, Instrument(source, pair, g(c["symbol"]), boolean(g(c["inverse"])),
                                required(g(c["contract_value"])), g(c["unit"]), number(g(c["tick"])),
                                number(g(c["lot"])))
    if kind == "book_snapshots":
        return pair, _Snap(source, pair, int(g(c["seq"])), required(g(c["ts"])),
                           g(c["reason"]) == SNAPSHOT_CHECKPOINT, _levels(g(c["bids"]), g(c["bid_levels"])),
                           _levels(g(c["asks"]), g(c["ask_levels"])))
    raise KeyError(kind)


class _Reader:
    """Records of one file, in file order. Counts what it skips."""

    def __init__(self, f: RecordedFile, pairs: set[str] | None, stats: ReplayStats) -> None:
        self.file = f
        self.pairs = pairs
        self.stats = stats

    def __iter__(self) -> Iterator[Record]:
        f = self.file
        with open(f.path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(_whole_lines(fh, f.path))
            header = next(reader, None)
            if header is None:
                return
            cols = _Columns(f.kind, header, f.path)
            if f.kind == "book_deltas":
                yield from self._deltas(reader, cols)
                return
            c = cols.index
            recv_col = c["recv_ts"]
            kind = f.kind
            rank = 1 if kind == "book_snapshots" else 0
            pairs = self.pairs
            for row in reader:
                try:
                    if len(row) < cols.width:
                        raise ValueError(f"{len(row)} cells, the header has {cols.width}")
                    recv = float(row[recv_col])
                    pair, payload = _parse(kind, row, c)
                except (ValueError, IndexError, KeyError, TypeError) as exc:
                    self._bad(reader.line_num, exc)
                    continue
                if pairs is not None and pair and pair not in pairs:
                    continue
                seq = payload.seq if rank else 0
                yield recv, seq, rank, kind, payload

    def _deltas(self, reader: Any, cols: _Columns) -> Iterator[Record]:
        """Rows of one update (same recv_ts and seq) come out as one record."""
        c = cols.index
        i_recv, i_seq, i_side, i_price, i_size = c["recv_ts"], c["seq"], c["side"], c["price"], c["size"]
        i_ts, i_source, i_pair = c["ts"], c["source"], c["pair"]
        current: _Delta | None = None
        current_recv = 0.0
        for row in reader:
            try:
                if len(row) < cols.width:
                    raise ValueError(f"{len(row)} cells, the header has {cols.width}")
                recv = float(row[i_recv])
                seq = int(row[i_seq])
                side = _SIDES[row[i_side]]
                price = required(row[i_price])
                size = required(row[i_size])
            except (ValueError, IndexError, KeyError) as exc:
                self._bad(reader.line_num, exc)
                continue
            if current is not None and current.seq == seq and current_recv == recv:
                current.changes.append((side, price, size))
                continue
            if current is not None:
                yield current_recv, current.seq, 0, "book_deltas", current
            try:
                ts = required(row[i_ts])
            except ValueError as exc:
                self._bad(reader.line_num, exc)
                current = None
                continue
            current = _Delta(row[i_source], row[i_pair], seq, ts, [(side, price, size)])
            current_recv = recv
        if current is not None:
            yield current_recv, current.seq, 0, "book_deltas", current

    def _bad(self, line: int, exc: BaseException) -> None:
        self.stats.skipped += 1
        if self.stats.skipped <= 20:
            log.warning("%s:%d: skipped a malformed row (%s)", self.file.path, line, exc)
        elif self.stats.skipped == 21:
            log.warning("more malformed rows skipped; counting only")


@dataclass(slots=True)
class ReplayStats:
    events: int = 0
    skipped: int = 0  # malformed rows
    orphan_deltas: int = 0  # deltas with no snapshot before them
    repaired_books: int = 0  # checkpoints that disagreed with the replayed book


# -- pacing ---------------------------------------------------------------------------------------------------

class ReplayControl:
    """Pause and speed of a running replay, changed live (the TUI's ``p``, ``+`` and ``-`` set these).

    :meth:`clock` is the recording's time now: the app shows it and measures freshness by it.
    ``speed`` 0 means as fast as possible.
    """

    def __init__(self, speed: float = 1.0, *, origin: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._mono = monotonic
        self.origin = origin  # what clock() says before the replay starts (None: the wall clock)
        self._speed = float(speed)
        self._paused = False
        self._anchor_rec: float | None = None  # recording time at _anchor_wall
        self._anchor_wall = 0.0
        self._changed: asyncio.Event | None = None

    # The app assigns these attributes; the setters re-anchor the clock and wake a waiting replay.
    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"replay speed must be a finite number >= 0, not {value}")
        self._reanchor()
        self._speed = float(value)
        self._wake()

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        if bool(value) == self._paused:
            return
        self._reanchor()
        self._paused = bool(value)
        self._wake()

    def clock(self) -> float:
        """The recording's time now (before the replay starts: ``origin``, or the wall clock)."""
        if self._anchor_rec is None:
            return time.time() if self.origin is None else self.origin
        if self._paused or self._speed <= 0:
            return self._anchor_rec
        return self._anchor_rec + (self._mono() - self._anchor_wall) * self._speed

    def begin(self, rec: float) -> None:
        """The replay starts at recording time ``rec``, now."""
        self._anchor_rec = rec
        self._anchor_wall = self._mono()

    def _reanchor(self) -> None:
        if self._anchor_rec is not None:
            self._anchor_rec = self.clock()
            self._anchor_wall = self._mono()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def wait_until(self, rec: float) -> None:
        """Return when the recording's clock reaches ``rec`` (at once at speed 0); waits while paused."""
        if self._anchor_rec is None:
            self.begin(rec)
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        while True:
            if self._paused:
                changed.clear()
                await changed.wait()
                continue
            if self._speed <= 0:
                self._anchor_rec = max(self._anchor_rec or rec, rec)
                return
            now = self.clock()
            ahead = rec - now
            if ahead <= 0:
                return
            if ahead > MAX_GAP:
                # The recorder was not running (or nothing happened): do not make the viewer wait it out.
                self._anchor_rec = rec - GAP_SHOWN
                self._anchor_wall = self._mono()
                continue
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), ahead / self._speed)
            except TimeoutError:
                pass


# -- the replay -----------------------------------------------------------------------------------------------

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
        for recv, seq, _rank, _kind, snap in _Reader(f, pairs, stats):
            if recv > start:
                break
            key = (snap.source, snap.pair)
            if key not in bases or (recv, seq) >= bases[key][:2]:
                bases[key] = (recv, seq, f.day)
    return bases


def _merged(files: list[RecordedFile], pairs: set[str] | None, stats: ReplayStats) -> Iterator[Record]:
    """Every file's records in (recv_ts, seq, rank) order, one UTC day at a time (a day's rows are in its files,
    so only one day's files are open at once)."""
    days = sorted({f.day for f in files})
    for day in days:
        readers = [_Reader(f, pairs, stats) for f in files if f.day == day]
        yield from heapq.merge(*readers, key=lambda r: (r[0], r[1], r[2]))


async def replay_events(path: Path | str | Recording, sources: Iterable[str] | None = None,
                        pairs: Iterable[str] | None = None, speed: float = 0.0, *,
                        start: float | str | None = None, control: ReplayControl | None = None,
                        stats: ReplayStats | None = None) -> AsyncIterator[Event]:
    """The recorded events of ``sources`` and ``pairs`` (None: all) in receive order.

    ``speed``: times real time, 0 as fast as possible (ignored when a ``control`` is given: its speed rules).
    ``start``: UNIX seconds or ``--from`` text; the state before it is summarised first (the latest status,
    instrument, position, margin, bar, trade and tick of each kind, then every book rebuilt from its last
    snapshot and later deltas), then events follow from ``start`` on.
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
    last_yield = time.monotonic()
    work = 0
    try:
        for recv, seq, rank, kind, payload in _merged(files, pair_set, stats):
            if not started:
                if recv <= start_ts:  # type: ignore[operator]
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
                ctl.begin(start_ts)  # type: ignore[arg-type]
                for event in player.prologue():
                    stats.events += 1
                    yield event
            event = player.apply(kind, payload, quiet=False)
            if event is None:
                continue
            if ctl.speed > 0 or ctl.paused:
                await ctl.wait_until(recv)
            else:
                ctl.begin(recv)
                work += 1
                if work >= 64:
                    work = 0
                    now = time.monotonic()
                    if now - last_yield > YIELD_EVERY:
                        await asyncio.sleep(0)  # speed 0: never starve the loop (timers, signals, the UI)
                        last_yield = time.monotonic()
            stats.events += 1
            yield event
        if not started:
            for event in player.prologue():  # the start is after the last event: show the final state
                stats.events += 1
                yield event
    finally:
        if stats.skipped or stats.orphan_deltas or stats.repaired_books:
            log.warning("replay of %s: %d malformed rows skipped, %d book updates without a snapshot before "
                        "them, %d books repaired from checkpoints", recording.root, stats.skipped,
                        stats.orphan_deltas, stats.repaired_books)

