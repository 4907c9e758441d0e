"""The BitMEX account: positions and margin, open orders and recent fills, or a plain sentence saying what to set
when there is no account.

One widget in one slot: positions first, then the open orders (side, price, quantity, how much filled, status),
then the latest fills (time, side, price, quantity), sides in the up/down colours. When the slot is shorter
than all of it, positions stay whole and the orders and fills share what is left, each section's header saying
how many rows it could not show; ``get_content_height`` asks for the whole, so a taller slot shows everything.
"""

from __future__ import annotations

import time
from typing import Any

from textual.strip import Strip

from finxtui.model.events import OFF, ExecutionEvent, OrderEvent, Position
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import key_hint

# (name, width, align, priority): columns drop, lowest priority first, when the panel is narrow.
COLUMNS = (("symbol", 8, "<", 0), ("side", 6, "<", 3), ("size", 13, ">", 0), ("entry", 11, ">", 2),
           ("mark", 11, ">", 1), ("liq", 11, ">", 4), ("uPnL", 15, ">", 0), ("lev", 6, ">", 5))


ORDER_COLUMNS = (("symbol", 8, "<", 3), ("side", 5, "<", 0), ("price", 11, ">", 0), ("qty", 12, ">", 0),
                 ("filled", 7, ">", 1), ("status", 8, ">", 2))
FILL_COLUMNS = (("time", 9, "<", 0), ("side", 5, "<", 0), ("symbol", 8, "<", 1), ("price", 11, ">", 0),
                ("qty", 12, ">", 0))
FILLS_SHOWN = 8  # the latest fills the panel asks room for
HOLD = 30.0  # seconds the slot keeps a height it grew to: each change of height reflows the whole screen
# (the chart beside it resizes), and a working account's orders come and go every few seconds
SHORT_SCREEN = 30  # rows: below this the panel asks only for the positions and a one-line orders summary
STATUS_TEXT = {"partially_filled": "partial", "pending_new": "pending", "untriggered": "waiting"}

Column = tuple[str, int, str, int]


def fitting_columns(width: int, columns: tuple[Column, ...] = COLUMNS) -> list[Column]:
    cols = list(columns)
    while sum(c[1] for c in cols) + 1 > width and any(c[3] for c in cols):
        cols.remove(max(cols, key=lambda c: c[3]))
    return cols


class PositionsPanel(PolledLines):
    """BitMEX positions and margin; ``has_account`` is False when no keys are set (it then says which)."""

    COMPONENT_CLASSES = {"positions--title", "positions--columns", "positions--up", "positions--down",
                         "positions--muted", "positions--error", "positions--long", "positions--short"}
    DEFAULT_CSS = """
    PositionsPanel { height: auto; min-height: 2; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, has_account: bool,
                 hz: float, id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs
        self.has_account = has_account
        self._natural = 2  # lines the whole account would take (the slot's wish)
        self._compact = 2  # lines with the orders and fills as one summary line
        self._hold_until = 0.0  # time.monotonic() until which the slot does not shrink

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        if self.screen.size.height < SHORT_SCREEN:  # the depth ladder keeps its rows: one summary line instead
            return max(2, min(self._natural, self._compact))
        return max(2, self._natural)

    def signature(self) -> Any:
        health = self.market.health.get("bitmex")
        return (self.market.positions_version, self.market.orders.version, health.account_state if health else "",
                health.account_detail if health else "", self.selection.pair)

    def build(self, width: int, height: int) -> list[Strip]:
        head, positions = self._position_lines(width)
        orders = self.market.orders.open_orders()
        fills = self.market.orders.fills(FILLS_SHOWN)
        show_orders = bool(positions) or bool(orders) or bool(fills)
        order_lines = (2 + len(orders) if orders else 1) if show_orders else 0  # section line, header, rows
        natural = len(head) + len(positions) + order_lines + (1 + len(fills) if fills else 0)
        compact = len(head) + len(positions) + (1 if show_orders else 0)
        now = time.monotonic()
        if now < self._hold_until:  # a slot that grew keeps its height a while: no reflow per order
            natural, compact = max(natural, self._natural), max(compact, self._compact)
        if (natural, compact) != (self._natural, self._compact):
            if natural > self._natural or compact > self._compact:
                self._hold_until = now + HOLD
            self._natural, self._compact = natural, compact
            self.refresh(layout=True)  # the slot grows to fit, or shrinks once the hold is over
        room = natural if height <= 0 or height >= natural else height
        lines = head + positions
        left = room - len(lines)
        if not show_orders or left <= 0:
            return lines[:max(room, len(head))]
        if left < 3 and (orders or fills):  # no room for a table: one line says what there is
            return [*lines, self._summary(orders, fills, width)]
        # The orders get what is left but, when there are fills, a section line and one fill's row.
        budget = left - (2 if fills and left >= 5 else 0)
        lines += self._order_lines(orders, max(0, min(len(orders), budget - 2)), width)
        left = room - len(lines)
        if fills and left >= 2:
            lines += self._fill_lines(fills, min(len(fills), left - 1), width)
        return lines

    def _position_lines(self, width: int) -> tuple[list[Strip], list[Strip]]:
        """(the title and any account sentence, the positions table): the part that always shows."""
        state = self.market
        health = state.health.get("bitmex")
        muted = self.style("positions--muted")
        margins = "  ".join(fmt.money(m.margin_balance, m.currency).lstrip("+") for m in
                            sorted(state.margins.values(), key=lambda m: m.currency))
        title: list[Cell] = [(" BitMEX positions", self.style("positions--title"))]
        if margins:
            title.append((f"   margin {margins}", muted))
        head = [self.line(title, width)]
        account = health.account_state if health else ""
        detail = health.account_detail if health else ""
        if not self.has_account or account == OFF:
            head.append(self.line([(f" off · set {key_hint('bitmex')} (a read-only key) to see positions",
                                    muted)], width))
            return head, []
        if account == "error":
            head.append(self.line([(f" {detail}", self.style("positions--error"))], width))
            return head, []
        if not state.positions:
            if account != "live":
                head.append(self.line([(f" {account or 'connecting'}… {detail}", muted)], width))
                return head, []
            return head, [self.line([(" no open positions", muted)], width)]
        cols = fitting_columns(width)
        lines = [self._header(cols, width)]
        signed = not any(c[0] == "side" for c in cols)  # without a side column, a short shows as -size
        for pos in sorted(state.positions.values(), key=lambda p: p.symbol):
            values = self._values(pos)
            if signed and pos.qty < 0:
                values["size"] = ("-" + values["size"][0], values["side"][1])
            lines.append(self._row(cols, values, width, "▶" if pos.pair == self.selection.pair else " "))
        return [*head], lines

    def _header(self, cols: list[Column], width: int) -> Strip:
        names = "".join(name.ljust(w) if align == "<" else name.rjust(w) for name, w, align, _ in cols)
        return self.line([(" " + names, self.style("positions--columns"))], width)

    def _row(self, cols: list[Column], values: dict[str, tuple[str, Any]], width: int, mark: str = " ") -> Strip:
        cells: list[Cell] = [(mark, None)]
        for name, w, align, _ in cols:
            text, style = values[name]
            text = text[:w - 1] if len(text) >= w and align == "<" else text
            cells.append((text.ljust(w) if align == "<" else text.rjust(w), style))
        return self.line(cells, width)

    def _section(self, title: str, shown: int, total: int, width: int) -> Strip:
        more = f" (+{total - shown} more)" if shown < total else ""
        return self.line([(f" {title}", self.style("positions--title")),
                          (f" {total}{more}" if total else " none", self.style("positions--muted"))], width)

    # -- orders and fills -----------------------------------------------------------------------------

    def _summary(self, orders: list[OrderEvent], fills: list[ExecutionEvent], width: int) -> Strip:
        """`` Orders 2 · fill sell 15 SOL @182.62``: the open orders counted and the latest fill, in one line."""
        muted = self.style("positions--muted")
        cells: list[Cell] = [(" Orders", self.style("positions--title")), (f" {len(orders)}", muted)]
        if fills:
            last = fills[0]
            cells += [(" · fill ", muted), self._side(last.side),
                      (f" {self._amount(last.pair, last.symbol, last.qty)} "
                       f"@{fmt.price(last.price, self._decimals(last.pair))}", None),
                      (f" {fmt.clock_text(last.ts)}", muted)]
        return self.line(cells, width)

    def _order_lines(self, orders: list[OrderEvent], n: int, width: int) -> list[Strip]:
        lines = [self._section("Open orders", n, len(orders), width)]
        if not n:
            return lines
        cols = fitting_columns(width, ORDER_COLUMNS)
        lines.append(self._header(cols, width))
        for order in orders[:n]:
            lines.append(self._row(cols, self._order_values(order), width,
                                   "▶" if order.pair == self.selection.pair else " "))
        return lines

    def _fill_lines(self, fills: list[ExecutionEvent], n: int, width: int) -> list[Strip]:
        total = len(self.market.orders.fills())
        lines = [self._section("Recent fills", n, total, width)]
        cols = fitting_columns(width, FILL_COLUMNS)
        for fill in fills[:n]:
            lines.append(self._row(cols, self._fill_values(fill), width))
        return lines

    def _decimals(self, pair: str | None) -> int:
        info = self.pairs.get(pair) if pair else None
        return info.decimals if info else 2

    def _amount(self, pair: str | None, symbol: str, contracts: float) -> str:
        """Contracts as the position column shows them: USD for an inverse contract, the coin for a linear one."""
        inst = self.market.instruments.get(("bitmex", pair)) if pair else None
        if inst is None:
            return f"{fmt.size(contracts)} ct"
        if inst.inverse:
            return f"{fmt.size(contracts)} {inst.unit}"
        return f"{fmt.size(round(contracts * inst.contract_value, 8))} {inst.unit}"

    def _side(self, side: str) -> tuple[str, Any]:
        return side, self.style("positions--long" if side == "buy" else "positions--short")

    def _order_values(self, o: OrderEvent) -> dict[str, tuple[str, Any]]:
        muted = self.style("positions--muted")
        filled = f"{o.filled_qty / o.qty:.0%}" if o.qty and o.filled_qty else "—"
        return {"symbol": (o.symbol, None), "side": self._side(o.side),
                "price": (fmt.price(o.price, self._decimals(o.pair)) if o.price is not None else o.order_type, None),
                "qty": (self._amount(o.pair, o.symbol, o.qty), None),
                "filled": (filled, None if o.filled_qty else muted),
                "status": (STATUS_TEXT.get(o.status, o.status), muted)}

    def _fill_values(self, f: ExecutionEvent) -> dict[str, tuple[str, Any]]:
        return {"time": (fmt.clock_text(f.ts), self.style("positions--muted")), "side": self._side(f.side),
                "symbol": (f.symbol, None), "price": (fmt.price(f.price, self._decimals(f.pair)), None),
                "qty": (self._amount(f.pair, f.symbol, f.qty), None)}

    def _values(self, pos: Position) -> dict[str, tuple[str, Any]]:
        info = self.pairs.get(pos.pair) if pos.pair else None
        decimals = info.decimals if info else 2
        muted = self.style("positions--muted")
        pnl = pos.unrealised_pnl or 0
        inst = self.market.instruments.get(("bitmex", pos.pair)) if pos.pair else None
        if inst is not None and inst.inverse:
            size_text = f"{fmt.size(abs(pos.qty))} {inst.unit}"
        elif pos.base_qty is not None:
            coin = inst.unit if inst is not None else (pos.pair or pos.symbol).split(":")[0]
            size_text = f"{fmt.size(abs(pos.base_qty))} {coin}"
        else:
            size_text = f"{fmt.size(abs(pos.qty))} ct"
        return {
            "symbol": (pos.symbol, None),
            "side": (pos.side, self.style("positions--long" if pos.qty > 0 else "positions--short")),
            "size": (size_text, None),
            "entry": (fmt.price(pos.entry_price, decimals), None),
            "mark": (fmt.price(pos.mark_price, decimals), None),
            "liq": (fmt.price(pos.liq_price, decimals), muted),
            "uPnL": (fmt.money(pos.unrealised_pnl, pos.currency),
                     self.style("positions--up") if pnl > 0 else self.style("positions--down") if pnl < 0 else muted),
            "lev": (f"{pos.leverage:g}x" if pos.leverage else "cross", muted),
        }
