"""Typed decoding (msgspec, in C) of the BitMEX messages that come at full rate: L2 book deltas and trades.

A delta is decoded straight into rows with every check :func:`~.rows.bad_book_rows` makes on a dict (side,
integer id, price and size in range), so a sound frame costs one C call instead of a dict per row and a
Python pass over it. Anything the schema refuses (a partial, a row that breaks a rule, a table we did not
expect) returns None, and the feed reads that frame the general way, which rejects, resubscribes or
accepts it exactly as before: the schema only ever takes frames the general path would take as they are.

Trade inserts are read the same way: a row whose fields are not what the general path would accept as they
are (a price or size that is not a number, a non-string id or side) refuses the whole frame, which then takes
the general path and is judged there.

Numbers stay as the venue wrote them: ``int | float``, never a float made out of an integer, so what is
printed downstream (``tail``) does not change.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from finxtui.wire.bitmex import BOOK_TABLES, DELETE, INSERT

#: frames that may be book deltas start with this (BitMEX writes ``table`` first); others skip the schema
BOOK_PREFIX = b'{"table":"orderBookL2'
#: the same for trade inserts (the closing quote keeps ``tradeBin1m`` out)
TRADE_PREFIX = b'{"table":"trade","action":"insert"'

Price = Annotated[int, Meta(gt=0, lt=10**15)] | Annotated[float, Meta(gt=0, lt=1e15)]
Size = Annotated[int, Meta(gt=0, lt=10**18)] | Annotated[float, Meta(gt=0, lt=1e18)]


class L2Row(Struct):
    """One row of ``orderBookL2``/``orderBookL2_25``; fields we do not read (timestamp) are skipped in C."""

    symbol: str
    id: int
    side: Literal["Buy", "Sell"]
    size: Size | None = None
    price: Price | None = None


class L2Delta(Struct):
    table: str
    action: Literal["insert", "update", "delete"]
    data: list[L2Row]


_decode = msgspec.json.Decoder(L2Delta).decode
_Refused = (msgspec.ValidationError, msgspec.DecodeError)


def book_delta(frame: bytes) -> L2Delta | None:
    """The frame as a sound book delta, or None (not one, or one the general path must judge)."""
    try:
        msg = _decode(frame)
    except _Refused:
        return None
    if msg.table not in BOOK_TABLES:
        return None
    action = msg.action
    for row in msg.data:
        # The schema lets a missing price or size through; new levels need both, updates a size.
        if (action == INSERT and row.price is None) or (action != DELETE and row.size is None):
            return None
    return msg


Number = int | float


class TradeRow(Struct):
    """One ``trade`` row: what :class:`~finxtui.model.events.Trade` needs; the rest is skipped in C."""

    price: Number
    size: Number
    symbol: str | None = None
    side: str | None = None
    timestamp: str | None = None
    trdMatchID: str = ""  # the venue's own name


class TradeInsert(Struct):
    table: Literal["trade"]
    action: Literal["insert"]
    data: list[TradeRow]


_decode_trades = msgspec.json.Decoder(TradeInsert).decode


def trade_insert(frame: bytes) -> list[TradeRow] | None:
    """The rows of a sound ``trade`` insert, or None (not one, or one the general path must judge)."""
    try:
        return _decode_trades(frame).data
    except _Refused:
        return None
