"""Normalized events: what every feed yields, whatever the venue spoke.

Timestamps are UNIX seconds as floats everywhere (venue milliseconds and ISO strings are converted once,
in the feed). ``to_dict`` gives the JSON shape that ``finx-tui tail`` prints (DESIGN.md, command-line
contract); it is the normalized form, so the recorder and tests use it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msgspec

from finxtui.model.book import OrderBook

# Feed states, in the order a healthy connection passes through them.
CONNECTING = "connecting"
LIVE = "live"
RESYNCING = "resyncing"
STALE = "stale"
RECONNECTING = "reconnecting"
ERROR = "error"
#: not in use because its key is not set; the detail names the variable to set (not a fault: nothing retries)
OFF = "off"

BookChange = tuple[str, float, float]  # (side "bid"/"ask", price, size; 0 deletes)


class BookUpdate(msgspec.Struct, gc=False):
    """One applied book frame. ``book`` is the feed's live book: read it before the next event.

    ``snapshot`` is True when the frame replaced the book (``changes`` then lists every level).

    A msgspec ``Struct``: one is made for every book frame, and its constructor runs in C (~160 ns against
    ~460 ns for a slotted class's ``__init__``). ``gc=False``: it holds strings, the book, a list of tuples and
    a float, none of which can lead back to it, so the collector need not track one (nor count it towards its
    next pass).
    """

    source: str
    pair: str
    book: OrderBook
    snapshot: bool
    changes: list[BookChange]
    ts: float
    type: ClassVar[str] = "book"

    def to_dict(self, depth: int = 10) -> dict:
        bids, asks = self.book.top(depth)
        return {"type": "book", "source": self.source, "pair": self.pair,
                "bids": [[p, s] for p, s in bids], "asks": [[p, s] for p, s in asks]}

    def __repr__(self) -> str:
        kind = "snapshot" if self.snapshot else "delta"
        return f"BookUpdate({self.source} {self.pair} {kind} {len(self.changes)} changes)"


@dataclass(slots=True, unsafe_hash=True)
class Trade:
    """One print. Immutable by convention, not enforced: a frozen dataclass sets each field through
    ``object.__setattr__`` (about 4x the cost of plain slot stores), and a busy venue makes one per trade.
    Equality, hashing and ``to_dict`` are as before; nothing assigns to a Trade after building it.
    """

    source: str
    pair: str
    price: float
    size: float
    side: str  # "buy" (taker bought) or "sell"
    ts: float
    trade_id: str = ""
    type = "trade"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "trade", "source": self.source, "pair": self.pair, "price": self.price,
                "size": self.size, "side": self.side, "ts": self.ts, "id": self.trade_id}


@dataclass(slots=True, frozen=True)
class Tick:
    source: str
    pair: str
    price: float
    exchange: str
    ts: float
    type = "tick"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "tick", "source": self.source, "pair": self.pair, "price": self.price,
                "exchange": self.exchange, "ts": self.ts}


@dataclass(slots=True, frozen=True)
class Bar:
    """A (possibly still forming) bar. ``ts`` is the bar's open time; ``interval`` its width in seconds."""

    source: str
    pair: str
    o: float
    h: float
    l: float  # noqa: E741 - the venue's own name
    c: float
    v: float
    ts: float
    interval: int = 60
    type = "bar"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "bar", "source": self.source, "pair": self.pair, "o": self.o, "h": self.h,
                "l": self.l, "c": self.c, "v": self.v, "ts": self.ts}


@dataclass(slots=True, frozen=True)
class Position:
    """An open (or just closed, ``qty`` 0) position.

    ``qty`` is in contracts, signed (negative = short); ``base_qty`` is the same exposure in the
    underlying (BTC for XBTUSD), so inverse and linear contracts compare. Money is in ``currency``
    units (XBT, USDT), not the venue's minor units.
    """

    source: str
    pair: str | None
    symbol: str
    qty: float
    entry_price: float | None
    mark_price: float | None
    liq_price: float | None
    unrealised_pnl: float | None
    leverage: float | None
    currency: str = ""
    base_qty: float | None = None
    realised_pnl: float | None = None
    ts: float = 0.0
    type = "position"

    @property
    def side(self) -> str:
        return "long" if self.qty > 0 else "short" if self.qty < 0 else "flat"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "position", "source": self.source, "pair": self.pair, "symbol": self.symbol,
                "qty": self.qty, "entry_price": self.entry_price, "mark_price": self.mark_price,
                "liq_price": self.liq_price, "unrealised_pnl": self.unrealised_pnl,
                "leverage": self.leverage, "currency": self.currency, "side": self.side,
                "base_qty": self.base_qty, "ts": self.ts}


@dataclass(slots=True, frozen=True)
class Margin:
    """Account balance in one currency (in units of that currency, e.g. XBT)."""

    source: str
    currency: str
    wallet_balance: float | None
    margin_balance: float | None
    available: float | None
    unrealised_pnl: float | None
    ts: float = 0.0
    type = "margin"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "margin", "source": self.source, "currency": self.currency,
                "wallet_balance": self.wallet_balance, "margin_balance": self.margin_balance,
                "available": self.available, "unrealised_pnl": self.unrealised_pnl, "ts": self.ts}


@dataclass(slots=True, frozen=True)
class Status:
    """A feed's health. ``scope`` narrows it: "" is the market data, "account" a venue's private stream
    (so a rejected BitMEX key is an ``error`` while the public book stays ``live``)."""

    source: str
    state: str
    detail: str = ""
    ts: float = 0.0
    scope: str = ""
    type = "status"

    def to_dict(self, depth: int = 10) -> dict:
        out = {"type": "status", "source": self.source, "state": self.state, "detail": self.detail, "ts": self.ts}
        if self.state == OFF:
            # The tail contract's states end at "error", and to a script a source it cannot read is one; the
            # flag keeps "no key, by choice" apart from a fault for readers that care (the monitor via a hub).
            out["state"], out["off"] = "error", True
        if self.scope:
            out["scope"] = self.scope
        return out


@dataclass(slots=True, frozen=True)
class Instrument:
    """How to read a venue's contract sizes for a pair (BitMEX quotes sizes in contracts).

    Inverse contracts are worth ``contract_value`` units of the quote currency (XBTUSD: 1 USD);
    linear ones ``contract_value`` units of the underlying (ETHUSDT: 0.00001 ETH).
    """

    source: str
    pair: str
    symbol: str
    inverse: bool
    contract_value: float
    unit: str  # the currency contract_value is in
    tick: float | None = None
    lot: float | None = None
    type = "instrument"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "instrument", "source": self.source, "pair": self.pair, "symbol": self.symbol,
                "inverse": self.inverse, "contract_value": self.contract_value, "unit": self.unit,
                "tick": self.tick, "lot": self.lot}


# Order statuses, normalized (a venue's own words that are not here pass through, lower-cased).
ORDER_NEW = "new"
ORDER_PARTIALLY_FILLED = "partially_filled"
ORDER_FILLED = "filled"
ORDER_CANCELED = "canceled"
ORDER_REJECTED = "rejected"
OPEN_STATUSES = frozenset({ORDER_NEW, ORDER_PARTIALLY_FILLED, "untriggered", "pending_new"})


@dataclass(slots=True, frozen=True)
class OrderEvent:
    """One of the account's orders as it is now (an order table row after the venue's change).

    ``side`` is ``buy``/``sell``; ``qty`` the order's quantity, ``leaves_qty`` what still rests, ``filled_qty``
    what has traded, all in the venue's contracts; ``price`` is None for orders without a limit (market,
    stop). ``removed`` is True when the venue dropped the row (a delete, or missing from a new image of the
    table): the order is no longer open, whatever its last ``status`` said.
    """

    source: str
    pair: str | None
    symbol: str
    order_id: str
    side: str
    price: float | None
    qty: float
    leaves_qty: float
    filled_qty: float
    avg_price: float | None
    status: str
    order_type: str = ""
    ts: float = 0.0
    removed: bool = False
    type = "order"

    @property
    def is_open(self) -> bool:
        return not self.removed and self.leaves_qty > 0 and self.status in OPEN_STATUSES

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "order", "source": self.source, "pair": self.pair, "symbol": self.symbol,
                "order_id": self.order_id, "side": self.side, "price": self.price, "qty": self.qty,
                "leaves_qty": self.leaves_qty, "filled_qty": self.filled_qty, "avg_price": self.avg_price,
                "status": self.status, "order_type": self.order_type, "open": self.is_open,
                "removed": self.removed, "ts": self.ts}


@dataclass(slots=True, frozen=True)
class ExecutionEvent:
    """One fill of one of the account's orders: ``qty`` contracts at ``price``.

    ``leaves_qty`` is what the order still has resting after it; ``fee`` is in ``currency`` units (negative: a
    rebate); ``liquidity`` is ``maker`` or ``taker`` when the venue says.
    """

    source: str
    pair: str | None
    symbol: str
    order_id: str
    exec_id: str
    side: str
    price: float
    qty: float
    ts: float
    leaves_qty: float | None = None
    fee: float | None = None
    currency: str = ""
    liquidity: str = ""
    type = "execution"

    def to_dict(self, depth: int = 10) -> dict:
        return {"type": "execution", "source": self.source, "pair": self.pair, "symbol": self.symbol,
                "order_id": self.order_id, "exec_id": self.exec_id, "side": self.side, "price": self.price,
                "qty": self.qty, "leaves_qty": self.leaves_qty, "fee": self.fee, "currency": self.currency,
                "liquidity": self.liquidity, "ts": self.ts}


Event = BookUpdate | Trade | Tick | Bar | Position | Margin | Status | Instrument | OrderEvent | ExecutionEvent
