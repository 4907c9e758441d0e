"""The account's ``order`` and ``execution`` tables, read into :class:`OrderEvent` and :class:`ExecutionEvent`.

The feed keeps the rows in its :class:`~finxtui.feeds.bitmex.tables.TableStore` (partial, insert, update with
only the changed fields merged onto the row, delete); this module decides what each merged row means:

- an order row becomes an :class:`OrderEvent` only when every field that says what the order is
  (``wire.ORDER_REQUIRED``, and ``price`` for a limit order) is there and sound, after the merge; a row
  missing one, holding a null, or for a symbol the monitor cannot place (not in the pair table and no
  instrument seen) is counted in ``skipped`` by reason, logged the first time, and never emitted;
- BitMEX never deletes a filled or cancelled order (``wire.bitmex``): its final update says so, the event
  says ``open: false``, and the row leaves the store after ``CLOSED_KEPT`` more have closed (late updates
  for it still find it); a ``delete``, or an order missing from a new image of the table (a reconnect), is
  an event with ``removed`` set, so nothing stays on screen that the venue no longer has;
- only ``execType`` Trade rows are fills (New, Replaced, Canceled, Funding… are the order's other events or
  the account's, already shown by the order table and the position); execution rows never change, so each
  leaves the store once read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from finxtui.feeds.bitmex.rows import money, num
from finxtui.feeds.bitmex.tables import TableStore, partial_symbols
from finxtui.model.events import ExecutionEvent, OrderEvent
from finxtui.model.pairs import PairTable
from finxtui.wire import bitmex as wire
from finxtui.wire.bitmex import BUY, DELETE, PARTIAL, SELL, parse_time

log = logging.getLogger("finxtui.feeds.bitmex")

CLOSED_KEPT = 200  # closed orders kept in the store for late updates, oldest dropped first
_SIDES = {BUY: "buy", SELL: "sell"}
_LIQUIDITY = {"AddedLiquidity": "maker", "RemovedLiquidity": "taker"}


class SkippedRow(ValueError):
    """A row that cannot be shown as it is; ``reason`` names what is wrong."""


class AccountOrders:
    """Order and execution messages of one feed, as events; ``skipped`` counts the rows that were not."""

    def __init__(self, source: str, table: PairTable, store: TableStore, emit: Callable[[Any], None],
                 known_symbol: Callable[[str], bool]) -> None:
        self.source = source
        self.table = table
        self.store = store
        self.emit = emit
        self.known_symbol = known_symbol  # whether the feed can place a symbol (a pair, or an instrument seen)
        self.skipped: Counter[str] = Counter()
        self._open: dict[str, OrderEvent] = {}  # order id -> the last event of every order shown open
        self._closed: deque[tuple[Any, ...]] = deque()  # store keys of closed orders, oldest first

    # -- orders ---------------------------------------------------------------------------------------

    def orders(self, msg: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        action = msg.get("action")
        if action == PARTIAL:
            # A new image: whatever was open and is not in it is gone (filled or cancelled while away).
            symbols = partial_symbols(msg)
            ids = {r.get("orderID") for r in rows}
            for oid, last in list(self._open.items()):
                if oid not in ids and (symbols == [None] or last.symbol in symbols):
                    del self._open[oid]
                    self.emit(dataclasses.replace(last, removed=True))
        for row in rows:
            try:
                event = self.order(row, removed=action == DELETE)
            except SkippedRow as exc:
                # Its last sound state stays (a later update or image settles it); nothing half-read is shown.
                self._skip("order", str(exc), row)
                continue
            if event.is_open:
                shown = self._open.get(event.order_id)
                if shown is not None and dataclasses.replace(shown, ts=event.ts) == event:
                    continue  # nothing the monitor shows changed (workingIndicator, text, timestamp)
                self._open[event.order_id] = event
            else:
                self._open.pop(event.order_id, None)
                if action != DELETE:
                    self._closed.append((event.order_id,))
            self.emit(event)
        while len(self._closed) > CLOSED_KEPT:
            self.store.forget(wire.ORDER, self._closed.popleft())

    def order(self, row: dict[str, Any], removed: bool = False) -> OrderEvent:
        symbol = self._symbol(row, wire.ORDER_REQUIRED, "order")
        side = _SIDES.get(row["side"])
        qty, leaves = num(row["orderQty"]), num(row["leavesQty"])
        status = row["ordStatus"]
        if side is None or qty is None or leaves is None or not isinstance(status, str) \
                or not isinstance(row["orderID"], str):
            raise SkippedRow("order row with a malformed side, quantity, status or id")
        order_type = row.get("ordType") if isinstance(row.get("ordType"), str) else ""
        price = num(row.get("price"))
        if price is None and (order_type in wire.PRICED_ORDER_TYPES or row.get("price", 0) is None):
            raise SkippedRow("order row without a price")
        filled = num(row["cumQty"])
        if filled is None:
            raise SkippedRow("order row with a malformed cumQty")
        return OrderEvent(self.source, self.table.pair_for(self.source, symbol), symbol, row["orderID"], side, price,
                          qty, leaves, filled, num(row.get("avgPx")),
                          wire.ORDER_STATUS.get(status, status.lower()), str(order_type),
                          parse_time(row.get("timestamp") or row.get("transactTime")), removed)

    # -- executions -----------------------------------------------------------------------------------

    def executions(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.store.forget(wire.EXECUTION, (row.get("execID"),))  # executions never change: read once
            if row.get("execType") != wire.EXEC_TRADE and row.get("execType") is not None:
                continue  # not a fill: the order table and the position already show it
            try:
                self.emit(self.execution(row))
            except SkippedRow as exc:
                self._skip("execution", str(exc), row)

    def execution(self, row: dict[str, Any]) -> ExecutionEvent:
        symbol = self._symbol(row, wire.EXECUTION_REQUIRED, "execution")
        side = _SIDES.get(row["side"])
        price, qty = num(row["lastPx"]), num(row["lastQty"])
        if side is None or price is None or qty is None or qty <= 0 or not isinstance(row["execID"], str) \
                or not isinstance(row["orderID"], str):
            raise SkippedRow("execution row with a malformed side, lastPx, lastQty or id")
        fee, currency = money(row.get("execComm"), row.get("settlCurrency"))
        return ExecutionEvent(self.source, self.table.pair_for(self.source, symbol), symbol, row["orderID"],
                              row["execID"], side, price, qty, parse_time(row.get("transactTime") or
                                                                          row.get("timestamp")),
                              num(row.get("leavesQty")), fee, currency if fee is not None else "",
                              _LIQUIDITY.get(str(row.get("lastLiquidityInd")), ""))

    # -- shared ---------------------------------------------------------------------------------------

    def _symbol(self, row: dict[str, Any], required: tuple[str, ...], what: str) -> str:
        missing = [f for f in required if row.get(f) is None]
        if missing:
            raise SkippedRow(f"{what} row without {', '.join(missing)}")
        symbol = row["symbol"]
        if not isinstance(symbol, str) or not self.known_symbol(symbol):
            raise SkippedRow(f"{what} row for unknown symbol {str(symbol)[:24]}")
        return symbol

    def _skip(self, table: str, reason: str, row: dict[str, Any]) -> None:
        """Count a row that is not shown; log each reason the first time (a broken stream repeats itself)."""
        self.skipped[reason] += 1
        if self.skipped[reason] == 1:
            keys = {k: row.get(k) for k in ("orderID", "execID", "symbol", "ordStatus", "execType") if k in row}
            log.warning("%s: skipped an %s row (%s): %s; further ones are only counted", self.source, table,
                        reason, keys)
