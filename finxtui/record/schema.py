"""The recording format: where each file lives, its columns, and how values are written.

This is a file format users depend on (spreadsheets, pandas, their own scripts); change it only compatibly.

Layout
------
One CSV file per kind of event, source, key and UTC day::

    DIR/<kind>/<source>/<key>_<YYYY-MM-DD>.csv
    DIR/trades/bitfinex/BTC-USD_2026-11-21.csv
    DIR/book_deltas/bitmex/ETH-USD_2026-11-21.csv
    DIR/status/bitmex/account_2026-11-21.csv

The key is the canonical pair for market data (trades, ticks, bars, instruments, book snapshots and deltas,
and positions, orders and executions whose symbol maps to a pair; otherwise the venue symbol), the currency for
margin rows, and the scope for status rows (``market`` or ``account``). Keys are made filesystem-safe and reversibly so:
``:`` becomes ``-``, letters, digits and ``.`` stay, and every other character (``-``, ``_``, ``%``, ``/``…)
becomes ``%XX`` per UTF-8 byte (``BTC:USD`` → ``BTC-USD``). The day is the UTC day of the receive time: files
roll over at UTC midnight. Rows always carry the source and pair themselves, so file names are only an index.

Every file starts with one header row; then one row per event (book deltas: one row per changed level, the
rows of one update sharing a ``seq``), in the order the recorder received them. One row is one line: text
values never contain line breaks (they are replaced by spaces), lines end with ``\\n``, and the recorder only
ever appends whole lines. A line without its final ``\\n`` can exist only after a crash inside a write; the
recorder cuts it on its next start and readers here ignore it.

Values: numbers as Python writes them (``97000.5``, ``12``: shortest text that reads back to the same value;
integers stay integers); an absent value is an empty cell; booleans are ``true``/``false``.

Columns common to every kind, first in every file:

``time``
    the receive time as UTC ISO-8601 with microseconds, e.g. ``2026-11-21T14:30:00.123456Z``
``recv_ts``
    the same instant as UNIX seconds (exact; replay orders and paces by it)
``source``
    ``finx``, ``bitfinex``, ``bitmex`` or ``finazon``
``pair``
    the canonical pair (``BTC:USD``, ``AAPL``); empty for account-wide rows (status, margin, unmapped positions)

Then, per kind (``ts`` is the event's own time as UNIX seconds: the venue's where the venue gives one,
otherwise the feed's receive clock; ``venue_time`` is ``ts`` as ISO-8601, empty when the venue gave none):

``trades``          venue_time, ts, price, size, side (``buy``: the taker bought), trade_id
``ticks``           venue_time, ts, price, exchange
``bars``            venue_time (the bar's open), ts, interval (seconds), open, high, low, close, volume
``positions``       venue_time, ts, symbol, qty (contracts, negative short), base_qty, currency, entry_price,
                    mark_price, liq_price, unrealised_pnl, realised_pnl, leverage
``margin``          venue_time, ts, currency, wallet_balance, margin_balance, available, unrealised_pnl
``orders``          venue_time, ts, symbol, order_id, side, price, qty, leaves_qty, filled_qty, avg_price, status,
                    order_type, removed (one row per change of one of the account's orders)
``executions``      venue_time, ts, symbol, order_id, exec_id, side, price, qty, leaves_qty, fee, currency,
                    liquidity (one row per fill)
``instruments``     symbol, inverse, contract_value, unit, tick, lot
``status``          ts, scope (empty: market data; ``account``: a private stream), state, detail
``book_snapshots``  ts, seq, reason, bid_levels, ask_levels, bids, asks
``book_deltas``     ts, seq, side (``bid``/``ask``), price, size (0 deletes the level)

Books: ``seq`` counts the book updates of one (source, pair) in one recorder run. A snapshot row holds the
whole book after update ``seq``: ``bids`` and ``asks`` are JSON arrays of ``[price, size]``, best first, and
``bid_levels``/``ask_levels`` count them. ``reason`` is ``venue`` for the venue's own snapshot (at subscription
and after every resync: a new base) or ``checkpoint`` for one the recorder adds itself (every minute, and first
thing in each day's file, so a reader can start at any day or minute). To rebuild a book at time T: take the
last snapshot with ``recv_ts`` <= T, then apply, in order, the delta rows with a larger ``(recv_ts, seq)``.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

COMMON = ("time", "recv_ts", "source", "pair")

COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": (*COMMON, "venue_time", "ts", "price", "size", "side", "trade_id"),
    "ticks": (*COMMON, "venue_time", "ts", "price", "exchange"),
    "bars": (*COMMON, "venue_time", "ts", "interval", "open", "high", "low", "close", "volume"),
    "positions": (*COMMON, "venue_time", "ts", "symbol", "qty", "base_qty", "currency", "entry_price",
                  "mark_price", "liq_price", "unrealised_pnl", "realised_pnl", "leverage"),
    "margin": (*COMMON, "venue_time", "ts", "currency", "wallet_balance", "margin_balance", "available",
               "unrealised_pnl"),
    "orders": (*COMMON, "venue_time", "ts", "symbol", "order_id", "side", "price", "qty", "leaves_qty", "filled_qty",
               "avg_price", "status", "order_type", "removed"),
    "executions": (*COMMON, "venue_time", "ts", "symbol", "order_id", "exec_id", "side", "price", "qty",
                   "leaves_qty", "fee", "currency", "liquidity"),
    "instruments": (*COMMON, "symbol", "inverse", "contract_value", "unit", "tick", "lot"),
    "status": (*COMMON, "ts", "scope", "state", "detail"),
    "book_snapshots": (*COMMON, "ts", "seq", "reason", "bid_levels", "ask_levels", "bids", "asks"),
    "book_deltas": (*COMMON, "ts", "seq", "side", "price", "size"),
}
KINDS = tuple(COLUMNS)
#: kinds whose file key is the pair (the others: positions, orders and executions by pair or symbol, margin by
#: currency, status by scope)
PAIR_KINDS = frozenset({"trades", "ticks", "bars", "instruments", "book_snapshots", "book_deltas"})

SNAPSHOT_VENUE = "venue"
SNAPSHOT_CHECKPOINT = "checkpoint"
STATUS_MARKET_KEY = "market"

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.")
_HEX = frozenset("0123456789ABCDEFabcdef")


class RecordingError(Exception):
    """A problem with a recording, worded for the user (the CLI prints it as one line)."""


def encode_key(key: str) -> str:
    """A filesystem-safe, reversible form of a pair or other key: ``BTC:USD`` → ``BTC-USD``."""
    if not key:
        raise ValueError("an empty key has no file name")
    out: list[str] = []
    for i, ch in enumerate(key):
        if ch in _SAFE and not (i == 0 and ch == "."):  # no hidden files
            out.append(ch)
        elif ch == ":":
            out.append("-")
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def decode_key(name: str) -> str:
    """The inverse of :func:`encode_key`; raises ValueError for a name it cannot have made."""
    raw = bytearray()
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "%":
            pair = name[i + 1:i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise ValueError(f"bad escape in {name!r}")
            raw.append(int(pair, 16))
            i += 3
            continue
        if ch == "-":
            raw.append(ord(":"))
        elif ch in _SAFE:
            raw.append(ord(ch))
        else:
            raise ValueError(f"unexpected character {ch!r} in {name!r}")
        i += 1
    return raw.decode("utf-8")


def file_name(key: str, day: str) -> str:
    return f"{encode_key(key)}_{day}.csv"


def file_path(root: Path, kind: str, source: str, key: str, day: str) -> Path:
    return root / kind / encode_key(source) / file_name(key, day)


def parse_file_name(name: str) -> tuple[str, str]:
    """``BTC-USD_2026-11-21.csv`` → ``("BTC:USD", "2026-11-21")``; ValueError for other names."""
    if not name.endswith(".csv"):
        raise ValueError("not a .csv file")
    stem, sep, day = name[:-4].rpartition("_")
    if not sep or not stem:
        raise ValueError("expected KEY_YYYY-MM-DD.csv")
    date.fromisoformat(day)  # ValueError when it is not a day
    if len(day) != 10:
        raise ValueError("expected a YYYY-MM-DD day")
    return decode_key(stem), day


def header_line(kind: str) -> str:
    return ",".join(COLUMNS[kind]) + "\n"


# -- values -----------------------------------------------------------------------------------------------

class IsoClock:
    """UNIX seconds → ``2026-11-21T14:30:00.123456Z``, cheaply (the date and time part is cached per second)."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        micros = int((ts - second) * 1_000_000)
        return f"{self._prefix}.{min(micros, 999_999):06d}Z"


def iso(ts: float) -> str:
    """One timestamp as the recorder writes it."""
    return IsoClock()(ts)


def venue_iso(ts: float | None, clock: IsoClock) -> str:
    """``ts`` as ISO-8601, empty when the venue gave no time (0 or absent)."""
    return clock(ts) if ts else ""


def text(value: str | None) -> str:
    """A text cell: never a line break (one row is one line)."""
    if not value:
        return ""
    if "\n" in value or "\r" in value:
        return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return value


def number(cell: str) -> float | int | None:
    """A number cell back to the value written: ``""`` → None, ``12`` → 12, ``12.0`` → 12.0."""
    if not cell:
        return None
    if cell.isdigit() or (cell[0] == "-" and cell[1:].isdigit()):
        return int(cell)
    return float(cell)


def required(cell: str) -> float | int:
    value = number(cell)
    if value is None:
        raise ValueError("a required number is empty")
    return value


def boolean(cell: str) -> bool:
    low = cell.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ValueError(f"expected true or false, got {cell!r}")
