"""FinX tick rows as this client reads them: one parser for streams, snaps and history, and the history row.

FinX writes a row's UTC ``date`` and ``time`` as text and its price as a string; the date and time grammar is
a wire fact (:mod:`finxtui.wire.finx`), re-exported here for the command line (``history --date --time``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from finxtui.model.events import Tick
from finxtui.wire.finx import DAY_MS, day_start_ms, format_clock, parse_clock, parse_day, row_date, row_ms, row_time
from finxtui.wire.venues import FINX

SOURCE = FINX.tag


def _price(value: Any) -> float:
    if type(value) is str or type(value) is int or type(value) is float:
        price = float(value)
        if math.isfinite(price) and price > 0:
            return price
    raise ValueError(f"bad price {value!r}")


def parse_row(row: Any) -> tuple[int, str, float]:
    """``(epoch ms, exchange, price)`` of a FinX tick row; ValueError if it is not one.

    Reads the row form (``date`` + ``time``, as in streams, snaps and history) and the flat ``getSpotRates``
    form (``UTCDate`` ISO 8601, else ``unixDate`` in seconds). Prices come as strings (``"21865.010000000002"``);
    numbers are accepted too.
    """
    if type(row) is not dict:
        raise ValueError("a tick row is a JSON object")
    exchange = row.get("exchange")
    if type(exchange) is not str or not exchange:
        raise ValueError(f"bad exchange {exchange!r}")
    day, clock = row.get("date"), row.get("time")
    if type(day) is str and type(clock) is str:
        ms = row_ms(day, clock)
    elif type(row.get("UTCDate")) is str and "T" in row["UTCDate"]:
        day, clock = row["UTCDate"].split("T", 1)
        ms = row_ms(day, clock)
    elif type(row.get("unixDate")) in (int, float):
        ms = round(row["unixDate"] * 1000)
    else:
        raise ValueError("a tick row without date and time")
    return ms, exchange, _price(row.get("price"))


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One tick of FinX history. ``ms`` is the epoch millisecond; ``pair`` canonical."""

    pair: str
    ms: int
    exchange: str
    price: float

    @property
    def ts(self) -> float:
        return self.ms / 1000

    @property
    def key(self) -> tuple[int, str, float]:
        """What makes a row unique (FinX rows have no id): time, exchange and price."""
        return self.ms, self.exchange, self.price

    @property
    def date_text(self) -> str:
        return row_date(self.ms)

    @property
    def time_text(self) -> str:
        """``HH:MM:SS.mmmZ``, as FinX writes a row's time."""
        return row_time(self.ms)

    def tick(self) -> Tick:
        return Tick(SOURCE, self.pair, self.price, self.exchange, self.ts)

    def to_dict(self) -> dict[str, Any]:
        """The ``tail`` tick line plus FinX's own ``date`` and ``time``."""
        return {"type": "tick", "source": SOURCE, "pair": self.pair, "price": self.price,
                "exchange": self.exchange, "ts": self.ts, "date": self.date_text, "time": self.time_text}


def row_order(row: HistoryRow) -> tuple[int, str, float]:
    """Sort key of history rows: time, then exchange and price (so equal times always come out the same)."""
    return row.key


class HistoryPage(NamedTuple):
    """One ``tickHistory`` reply: the rows that parsed, and how many rows the reply held (``size``)."""

    rows: list[HistoryRow]
    size: int


def utc_today(clock: Callable[[], float] = time.time) -> date:
    """Today's UTC day (FinX's days are UTC)."""
    return datetime.fromtimestamp(clock(), UTC).date()


__all__ = ["DAY_MS", "HistoryPage", "HistoryRow", "day_start_ms", "format_clock", "parse_clock", "parse_day",
           "parse_row", "row_ms", "row_order", "utc_today"]
