"""BitMEX table rows read into normalized values: money in minor units, contracts, positions, margin, bins.

Pure functions of a row (a dict as the venue sent it) and of what the feed knows about the row's instrument:
no socket and no state, so the feed (:mod:`.feed`) keeps only the deciding of when a row counts. Wire facts
(units, time text, side words): :mod:`finxtui.wire.bitmex`.
"""

from __future__ import annotations

from typing import Any

from finxtui.model.events import Bar, Margin, Position
from finxtui.wire.bitmex import BUY, DELETE, INSERT, MINOR_UNITS, PARTIAL, SELL, parse_time

_NUM = (int, float)  # bool is its own type here, so true/false never pass as a number
BIN_SECONDS = 60.0


def num(value: Any) -> float | None:
    """A JSON number as it is; None for anything else (booleans included)."""
    return value if isinstance(value, _NUM) and not isinstance(value, bool) else None


def money(value: Any, currency: Any) -> tuple[float | None, str]:
    """A minor-unit integer (XBt, USDt) in its currency's units, with the currency's display name."""
    name, scale = MINOR_UNITS.get(currency, (str(currency or ""), 1.0))
    if not isinstance(value, _NUM) or isinstance(value, bool):
        return None, name
    return value / scale, name


def contract(symbol: str, facts: dict[str, Any]) -> tuple[bool, float, str] | None:
    """(inverse, value of one contract, its currency) from an instrument row, once it says enough."""
    if facts.get("isInverse"):
        return True, 1.0, str(facts.get("quoteCurrency") or "USD")
    per = facts.get("underlyingToPositionMultiplier")
    if isinstance(per, _NUM) and per:
        return False, 1.0 / per, str(facts.get("underlying") or symbol)
    return None


def bad_book_rows(data: list, action: Any) -> set[str]:
    """The symbols of book rows that break the table's rules (an empty set when every row is sound)."""
    bad: set[str] = set()
    new_level = action in (PARTIAL, INSERT)
    for row in data:
        if type(row) is not dict:
            bad.add("")
            continue
        symbol = row.get("symbol")
        symbol = symbol if type(symbol) is str else ""
        if row.get("side") not in (BUY, SELL) or type(row.get("id")) is not int:
            bad.add(symbol)
            continue
        price: Any = row.get("price")
        size: Any = row.get("size")
        price_ok = type(price) in _NUM and 0 < price < 1e15
        if not price_ok and (price is not None or new_level):
            bad.add(symbol)  # a price is required on new levels, and must be sound wherever it is given
        elif action != DELETE and (type(size) not in _NUM or not 0 < size < 1e18):
            bad.add(symbol)
    return bad


def position(source: str, pair: str | None, row: dict[str, Any], instrument: dict[str, Any]) -> Position | None:
    """A ``position`` row as a :class:`Position` (quantity in contracts and in the base coin); None without a
    quantity. ``instrument`` is what the feed knows of the row's symbol (mark price, inverse, multiplier)."""
    qty = row.get("currentQty")
    if not isinstance(qty, _NUM):
        return None
    mark = row.get("markPrice") if isinstance(row.get("markPrice"), _NUM) else instrument.get("markPrice")
    pnl, currency = money(row.get("unrealisedPnl"), row.get("currency"))
    realised, _ = money(row.get("realisedPnl"), row.get("currency"))
    base = None
    multiplier = instrument.get("underlyingToPositionMultiplier")
    if instrument.get("isInverse") and isinstance(mark, _NUM) and mark:
        base = qty / mark  # inverse contracts are quoted in USD: 1 contract = 1 USD of the coin
    elif isinstance(multiplier, _NUM) and multiplier:
        base = qty / multiplier
    elif isinstance(row.get("homeNotional"), _NUM):
        base = row["homeNotional"]
    return Position(source, pair, row.get("symbol", ""), qty, num(row.get("avgEntryPrice")), num(mark),
                    num(row.get("liquidationPrice")), pnl, num(row.get("leverage")), currency, base, realised,
                    parse_time(row.get("timestamp")))


def margin(source: str, row: dict[str, Any]) -> Margin:
    """A ``margin`` row as a :class:`Margin`, money in whole units of its currency."""
    currency = row.get("currency")
    wallet, name = money(row.get("walletBalance"), currency)
    balance, _ = money(row.get("marginBalance"), currency)
    available, _ = money(row.get("availableMargin"), currency)
    pnl, _ = money(row.get("unrealisedPnl"), currency)
    return Margin(source, name, wallet, balance, available, pnl, parse_time(row.get("timestamp")))


def bin_bar(source: str, pair: str, row: dict[str, Any]) -> Bar | None:
    """A ``tradeBin1m`` row as a :class:`Bar` stamped with its OPEN (BitMEX labels a bin with its end); None
    for a bin with no trades (it carries no prices)."""
    if not isinstance(row.get("open"), _NUM):
        return None
    end = parse_time(row.get("timestamp"))
    return Bar(source, pair, row["open"], row["high"], row["low"], row["close"], row.get("volume", 0),
               end - BIN_SECONDS)
