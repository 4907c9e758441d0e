"""CSV rows of a recording back to records: parsed, checked, and merged across files in receive order.

A record is ``(recv_ts, seq, rank, kind, payload)``: the payload is the normalized event for most kinds, and a
:class:`SnapshotRecord` or :class:`DeltaRecord` for books (the player, :mod:`finxtui.record.replay`, owns the
books they apply to). The rows of one book update come out as one record.

Reading is tolerant where it can be and loud where it must be: a file from an unknown format (missing columns)
raises :class:`~finxtui.record.recording.ReplayError`; a malformed row is skipped and logged with its
``file:line``; an unfinished last line (a recorder killed mid-write) is ignored.
"""

from __future__ import annotations

import csv
import heapq
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from finxtui.model.book import ASK, BID
from finxtui.model.events import (
    Bar,
    BookChange,
    ExecutionEvent,
    Instrument,
    Margin,
    OrderEvent,
    Position,
    Status,
    Tick,
    Trade,
)
from finxtui.record.recording import RecordedFile, ReplayError
from finxtui.record.schema import COLUMNS, SNAPSHOT_CHECKPOINT, boolean, number, required

# The replay's modules share one logger, so a warning reads the same whichever module raises it.
log = logging.getLogger("finxtui.record.replay")

_SIDES = {"bid": BID, "ask": ASK}
_TRADE_SIDES = ("buy", "sell")
_LOGGED_SKIPS = 20  # malformed rows logged one by one; after that, only counted

# (recv_ts, seq, rank, kind, payload). Snapshots rank after the delta with the same seq (a checkpoint is the
# state after that update); seq is 0 outside books.
Record = tuple[float, int, int, str, Any]


@dataclass(slots=True)
class ReplayStats:
    """What one replay counted beyond its events; the reader counts skipped rows, the player the rest."""

    events: int = 0
    skipped: int = 0  # malformed rows
    orphan_deltas: int = 0  # deltas with no snapshot before them
    repaired_books: int = 0  # checkpoints that disagreed with the replayed book


@dataclass(slots=True)
class SnapshotRecord:
    """One ``book_snapshots`` row: the whole book after update ``seq``."""

    source: str
    pair: str
    seq: int
    ts: float
    checkpoint: bool
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


@dataclass(slots=True)
class DeltaRecord:
    """The ``book_deltas`` rows of one update (same ``recv_ts`` and ``seq``)."""

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


def _whole_lines(fh: TextIO, path: Path) -> Iterator[str]:
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
    if kind == "orders":
        side = g(c["side"])
        if side not in _TRADE_SIDES:
            raise ValueError(f"side {side!r}")
        return pair, OrderEvent(source, pair or None, g(c["symbol"]), g(c["order_id"]), side, number(g(c["price"])),
                                required(g(c["qty"])), required(g(c["leaves_qty"])), required(g(c["filled_qty"])),
                                number(g(c["avg_price"])), g(c["status"]), g(c["order_type"]), required(g(c["ts"])),
                                boolean(g(c["removed"])))
    if kind == "executions":
        side = g(c["side"])
        if side not in _TRADE_SIDES:
            raise ValueError(f"side {side!r}")
        return pair, ExecutionEvent(source, pair or None, g(c["symbol"]), g(c["order_id"]), g(c["exec_id"]), side,
                                    required(g(c["price"])), required(g(c["qty"])), required(g(c["ts"])),
                                    number(g(c["leaves_qty"])), number(g(c["fee"])), g(c["currency"]),
                                    g(c["liquidity"]))
    if kind == "status":
        return pair, Status(source, g(c["state"]), g(c["detail"]), required(g(c["ts"])), g(c["scope"]))
    if kind == "instruments":
        return pair, Instrument(source, pair, g(c["symbol"]), boolean(g(c["inverse"])),
                                required(g(c["contract_value"])), g(c["unit"]), number(g(c["tick"])),
                                number(g(c["lot"])))
    if kind == "book_snapshots":
        return pair, SnapshotRecord(source, pair, int(g(c["seq"])), required(g(c["ts"])),
                                    g(c["reason"]) == SNAPSHOT_CHECKPOINT, _levels(g(c["bids"]), g(c["bid_levels"])),
                                    _levels(g(c["asks"]), g(c["ask_levels"])))
    raise KeyError(kind)


class RowReader:
    """The records of one file, in file order, of ``pairs`` (None: all). Counts what it skips in ``stats``."""

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
        current: DeltaRecord | None = None
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
            current = DeltaRecord(row[i_source], row[i_pair], seq, ts, [(side, price, size)])
            current_recv = recv
        if current is not None:
            yield current_recv, current.seq, 0, "book_deltas", current

    def _bad(self, line: int, exc: BaseException) -> None:
        self.stats.skipped += 1
        if self.stats.skipped <= _LOGGED_SKIPS:
            log.warning("%s:%d: skipped a malformed row (%s)", self.file.path, line, exc)
        elif self.stats.skipped == _LOGGED_SKIPS + 1:
            log.warning("more malformed rows skipped; counting only")


def merged_records(files: Iterable[RecordedFile], pairs: set[str] | None, stats: ReplayStats) -> Iterator[Record]:
    """Every file's records in (recv_ts, seq, rank) order, one UTC day at a time (a day's rows are in its files,
    so only one day's files are open at once)."""
    files = list(files)
    for day in sorted({f.day for f in files}):
        readers = [RowReader(f, pairs, stats) for f in files if f.day == day]
        yield from heapq.merge(*readers, key=lambda r: (r[0], r[1], r[2]))
