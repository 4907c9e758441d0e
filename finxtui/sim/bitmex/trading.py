"""The demo account's trading: limit orders it places, amends and cancels, and fills as the market trades.

Pure venue state, no socket: :class:`DemoTrader` turns the venue clock (``on_timer``) and the venue's trades
(``on_trade``) into table messages for ``order`` and ``execution`` (``(table, action, rows)``), in the shapes
real BitMEX sends (:mod:`finxtui.wire.bitmex`, the order/execution notes), and moves the demo account's
positions with every fill. Everything it draws comes from its own ``random.Random`` seeded by the simulator's
seed, and its times from the venue clock, so a seeded simulator advanced by hand trades the same way every run
(the market's own random stream is untouched).

How it trades, so the tables carry traffic like a working account's:

- every 1.5-4 s of the venue clock it acts: places a post-only limit order near the touch (a buy 0-6 basis
  points under the best bid, a sell over the best ask; at most ``MAX_OPEN_PER_SYMBOL`` per symbol), amends one (its
  price back toward the touch, or its quantity), or cancels the one farthest from the touch;
- a trade of the venue at an order's price fills part of it (half the trade's size, in lots, as if half the
  level were ahead in the queue); a trade through its price fills the rest, at the order's own price;
- sides lean toward the account's opening positions, so it keeps trading around them instead of drifting.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from finxtui.model.pairs import decimals_of
from finxtui.sim.bitmex.account import MAKER_FEE, Account, contract_value, home_notional
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import SimBook, SimTrade
from finxtui.wire import bitmex as bmx
from finxtui.wire.bitmex import iso
from finxtui.wire.jsnum import wire_number

Row = dict[str, Any]
Message = tuple[str, str, list[Row]]  # (table, action, rows)

MAX_OPEN_PER_SYMBOL = 2
AWAY_BPS = (0.0, 1.0, 2.0, 4.0, 6.0)  # how far from the touch an order goes (drawn)
ACT_EVERY = (1.5, 4.0)  # seconds of the venue clock between two actions (drawn uniformly)
RECENT_EXECUTIONS = 30  # execution rows kept for the ``execution`` partial
SUBMITTED = "Submitted via API."


def guid(seed: int, kind: str, n: int) -> str:
    """A stable guid (the same for the same seed and count): order and execution ids."""
    digest = hashlib.blake2b(f"bitmex:{kind}:{seed}:{n}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest))


@dataclass(slots=True)
class SimOrder:
    """One working order of the demo account (closed ones leave the desk after their last message)."""

    order_id: str
    cl_ord_id: str
    contract: BitmexContract
    side: str  # bmx.BUY / bmx.SELL
    qty: int
    price: float
    leaves: int
    cum: int = 0
    avg: float | None = None
    status: str = bmx.ORD_NEW
    text: str = SUBMITTED

    @property
    def sign(self) -> int:
        return 1 if self.side == bmx.BUY else -1


class DemoTrader:
    """The demo account's desk. ``account`` is read and replaced (fills move positions)."""

    def __init__(self, seed: int, contracts: dict[str, BitmexContract], book: Callable[[BitmexContract], SimBook],
                 account: Account, clock: Callable[[], float]) -> None:
        self.seed = seed
        self.rng = random.Random(f"bitmex-demo-trader:{seed}")
        self.contracts = {s: c for s, c in contracts.items() if account.position(s) is not None}
        self.book = book
        self.account = account
        self.clock = clock  # wall time for timestamps (the venue clock drives the cadence)
        self.targets = {p.symbol: p.qty for p in account.positions}
        self.orders: dict[str, SimOrder] = {}  # order id -> working order, in placement order
        self.executions: deque[Row] = deque(maxlen=RECENT_EXECUTIONS)
        self.next_action: float | None = None
        self._orders_made = 0
        self._execs_made = 0
        #: symbols whose position row changed since the last ``take_moved``: a fill moves it, and placing,
        #: amending or cancelling changes its openOrderBuyQty/openOrderSellQty (BitMEX updates it at once)
        self.moved: set[str] = set()

    # -- images ---------------------------------------------------------------------------------------

    def order_rows(self, symbols: set[str] | None, ts: str) -> list[Row]:
        """The ``order`` partial: every working order (of ``symbols``) as a whole row."""
        return [self._order_row(o, ts) for o in self.orders.values()
                if symbols is None or o.contract.symbol in symbols]

    def execution_rows(self, symbols: set[str] | None) -> list[Row]:
        """The ``execution`` partial: the latest executions (of ``symbols``), oldest first."""
        return [dict(r) for r in self.executions if symbols is None or r["symbol"] in symbols]

    def open_qty(self) -> dict[str, tuple[int, int]]:
        """Symbol -> (contracts resting in buy orders, in sell orders): the position's openOrderBuy/SellQty."""
        out: dict[str, tuple[int, int]] = {}
        for o in self.orders.values():
            buy, sell = out.get(o.contract.symbol, (0, 0))
            out[o.contract.symbol] = (buy + o.leaves, sell) if o.sign > 0 else (buy, sell + o.leaves)
        return out

    def take_moved(self) -> set[str]:
        moved, self.moved = self.moved, set()
        return moved

    # -- the clock ------------------------------------------------------------------------------------

    def on_timer(self, now: float) -> list[Message]:
        if not self.contracts:
            return []
        if self.next_action is None:
            self.next_action = now + self.rng.uniform(*ACT_EVERY)
            out: list[Message] = []
            for symbol in sorted(self.contracts):  # one order per symbol from the start: the tables show them
                out += self._place(self.contracts[symbol])
            return out
        if now < self.next_action:
            return []
        self.next_action = now + self.rng.uniform(*ACT_EVERY)
        return self._act()

    def _act(self) -> list[Message]:
        rng = self.rng
        symbols = sorted(self.contracts)
        room = [s for s in symbols if self._open_count(s) < MAX_OPEN_PER_SYMBOL]
        roll = rng.random()
        if room and (len(self.orders) < len(symbols) or roll < 0.4):
            return self._place(self.contracts[rng.choice(room)])
        if self.orders and roll < 0.75:
            return self._amend(rng.choice(list(self.orders.values())))
        if self.orders:
            return self._cancel(max(self.orders.values(), key=self._distance))
        return []

    def _open_count(self, symbol: str) -> int:
        return sum(1 for o in self.orders.values() if o.contract.symbol == symbol)

    def _touch(self, contract: BitmexContract, side: str) -> float | None:
        book = self.book(contract)
        idx = book.best_bid() if side == bmx.BUY else book.best_ask()
        return None if idx is None else book.price(idx)

    def _distance(self, order: SimOrder) -> float:
        """How far (in ticks) an order rests from its side's touch."""
        touch = self._touch(order.contract, order.side)
        return 0.0 if touch is None else abs(touch - order.price) / order.contract.tick

    def _near_touch(self, contract: BitmexContract, side: str) -> float | None:
        touch = self._touch(contract, side)
        if touch is None:
            return None
        # Away from the touch by a few basis points (whole ticks): a tick is 0.05 bp of XBTUSD, 5 bp of SOLUSDT.
        ticks = round(touch * self.rng.choice(AWAY_BPS) / 10_000 / contract.tick)
        price = touch - ticks * contract.tick if side == bmx.BUY else touch + ticks * contract.tick
        return round(price, decimals_of(contract.tick))

    def _lots(self, contract: BitmexContract, qty: float) -> int:
        return max(contract.lot_size, round(qty / contract.lot_size) * contract.lot_size)

    # -- actions --------------------------------------------------------------------------------------

    def _place(self, contract: BitmexContract) -> list[Message]:
        rng = self.rng
        pos = self.account.position(contract.symbol)
        target = self.targets[contract.symbol]
        held = pos.qty if pos is not None else 0
        lean = (held - target) / abs(target) if target else 0.0
        side = bmx.SELL if rng.random() < min(0.85, max(0.15, 0.5 + 2 * lean)) else bmx.BUY
        price = self._near_touch(contract, side)
        if price is None:
            return []
        qty = self._lots(contract, abs(target) * rng.uniform(0.02, 0.12))
        self._orders_made += 1
        order = SimOrder(guid(self.seed, "order", self._orders_made), f"finx-demo-{self._orders_made}", contract,
                         side, qty, price, qty)
        self.orders[order.order_id] = order
        self.moved.add(contract.symbol)
        ts = iso(self.clock())
        row = self._order_row(order, ts)
        row["workingIndicator"] = False  # BitMEX inserts the order, then says it rests
        return [("execution", bmx.INSERT, [self._execution(order, bmx.EXEC_NEW, ts)]),
                ("order", bmx.INSERT, [row]),
                ("order", bmx.UPDATE, [self._update(order, ts, workingIndicator=True)])]

    def _amend(self, order: SimOrder) -> list[Message]:
        rng = self.rng
        ts = iso(self.clock())
        if rng.random() < 0.6:
            price = self._near_touch(order.contract, order.side)
            if price is None or price == order.price:
                return []
            order.price = price
            order.text = f"Amended price: Amend from API\n{SUBMITTED}"
            changes: dict[str, Any] = {"price": wire_number(price)}
        else:
            leaves = self._lots(order.contract, order.leaves * rng.uniform(0.5, 1.6))
            if leaves == order.leaves:
                return []
            order.leaves = leaves
            order.qty = order.cum + leaves
            order.text = f"Amended orderQty: Amend from API\n{SUBMITTED}"
            changes = {"orderQty": order.qty, "leavesQty": leaves}
        changes.update(text=order.text, transactTime=ts)
        self.moved.add(order.contract.symbol)
        return [("execution", bmx.INSERT, [self._execution(order, bmx.EXEC_REPLACED, ts)]),
                ("order", bmx.UPDATE, [self._update(order, ts, **changes)])]

    def _cancel(self, order: SimOrder) -> list[Message]:
        ts = iso(self.clock())
        del self.orders[order.order_id]
        self.moved.add(order.contract.symbol)
        order.status = bmx.ORD_CANCELED
        order.leaves = 0
        order.text = f"Canceled: Cancel from API\n{SUBMITTED}"
        return [("execution", bmx.INSERT, [self._execution(order, bmx.EXEC_CANCELED, ts)]),
                ("order", bmx.UPDATE, [self._update(order, ts, ordStatus=order.status, workingIndicator=False,
                                                    leavesQty=0, text=order.text)])]

    # -- fills ----------------------------------------------------------------------------------------

    def on_trade(self, contract: BitmexContract, trade: SimTrade) -> list[Message]:
        out: list[Message] = []
        for order in [o for o in self.orders.values() if o.contract is contract]:
            through = trade.price < order.price if order.sign > 0 else trade.price > order.price
            at = trade.price == order.price and trade.side == (bmx.SELL if order.sign > 0 else bmx.BUY).lower()
            if through:
                qty = order.leaves
            elif at:
                qty = min(order.leaves, self._lots(contract, trade.size / 2))
            else:
                continue
            out += self._fill(order, qty)
        return out

    def _fill(self, order: SimOrder, qty: int) -> list[Message]:
        c = order.contract
        ts = iso(self.clock())
        price = order.price
        before = order.avg
        order.avg = round(((order.avg or 0.0) * order.cum + price * qty) / (order.cum + qty), 8)
        order.cum += qty
        order.leaves -= qty
        status = order.status
        order.status = bmx.ORD_FILLED if order.leaves == 0 else bmx.ORD_PARTIALLY_FILLED
        cost = round(contract_value(c, order.sign * qty, price))
        fee = round(abs(cost) * MAKER_FEE)
        self.account = self.account.with_fill(c.symbol, order.sign * qty, price, fee)
        self.moved.add(c.symbol)
        execution = self._execution(order, bmx.EXEC_TRADE, ts)
        home = home_notional(c, order.sign * qty, price)
        execution.update(lastQty=qty, lastPx=wire_number(price), lastLiquidityInd=bmx.ADDED_LIQUIDITY,
                         commission=MAKER_FEE, execCost=cost, execComm=fee, homeNotional=wire_number(home),
                         foreignNotional=wire_number(-cost / 1e6 if not c.inverse else -order.sign * qty),
                         trdMatchID=guid(self.seed, "match", self._execs_made))
        changes: dict[str, Any] = {"ordStatus": order.status} if order.status != status else {}
        changes.update(leavesQty=order.leaves, cumQty=order.cum)
        if order.avg != before:  # only what changed (a second fill at the same price keeps the average)
            changes["avgPx"] = wire_number(order.avg)
        if order.leaves == 0:
            changes["workingIndicator"] = False
            del self.orders[order.order_id]
        return [("execution", bmx.INSERT, [execution]),
                ("order", bmx.UPDATE, [self._update(order, ts, **changes)])]

    # -- rows -----------------------------------------------------------------------------------------

    def _order_row(self, o: SimOrder, ts: str) -> Row:
        c = o.contract
        row: Row = {"orderID": o.order_id, "clOrdID": o.cl_ord_id, "account": self.account.account,
                    "symbol": c.symbol, "side": o.side, "orderQty": o.qty, "price": wire_number(o.price),
                    "currency": c.quote_currency if c.inverse else c.underlying, "settlCurrency": c.settle_currency,
                    "ordType": bmx.LIMIT, "timeInForce": bmx.GOOD_TILL_CANCEL, "execInst": bmx.POST_ONLY,
                    "ordStatus": o.status, "workingIndicator": o.leaves > 0, "leavesQty": o.leaves,
                    "cumQty": o.cum, "text": o.text, "transactTime": ts, "timestamp": ts}
        if o.avg is not None:
            row["avgPx"] = wire_number(o.avg)  # absent, not null, before the first fill (the 2023 API)
        return row

    def _update(self, o: SimOrder, ts: str, **changes: Any) -> Row:
        """Key, changed fields, then the context BitMEX adds to every order update."""
        row: Row = {"orderID": o.order_id, **changes}
        row.update(clOrdID=o.cl_ord_id, account=self.account.account, symbol=o.contract.symbol, timestamp=ts)
        return row

    def _execution(self, o: SimOrder, exec_type: str, ts: str) -> Row:
        self._execs_made += 1
        row = self._order_row(o, ts)
        row.pop("currency")
        row = {"execID": guid(self.seed, "exec", self._execs_made), **row, "execType": exec_type,
               "lastQty": 0}
        self.executions.append(row)
        return row
