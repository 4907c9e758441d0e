"""BitMEX positions and margin, or a plain sentence saying what to set when there is no account."""

from __future__ import annotations

from typing import Any

from textual.strip import Strip

from finxtui.model.events import OFF, Position
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import key_hint

# (name, width, align, priority): columns drop, lowest priority first, when the panel is narrow.
COLUMNS = (("symbol", 8, "<", 0), ("side", 6, "<", 3), ("size", 13, ">", 0), ("entry", 11, ">", 2),
           ("mark", 11, ">", 1), ("liq", 11, ">", 4), ("uPnL", 15, ">", 0), ("lev", 6, ">", 5))


def fitting_columns(width: int) -> list[tuple[str, int, str, int]]:
    cols = list(COLUMNS)
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

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(2, len(self._lines))

    def signature(self) -> Any:
        health = self.market.health.get("bitmex")
        return (self.market.positions_version, health.account_state if health else "",
                health.account_detail if health else "", self.selection.pair)

    def build(self, width: int, height: int) -> list[Strip]:
        state = self.market
        health = state.health.get("bitmex")
        muted = self.style("positions--muted")
        margins = "  ".join(fmt.money(m.margin_balance, m.currency).lstrip("+") for m in
                            sorted(state.margins.values(), key=lambda m: m.currency))
        title: list[Cell] = [(" BitMEX positions", self.style("positions--title"))]
        if margins:
            title.append((f"   margin {margins}", muted))
        lines = [self.line(title, width)]
        account = health.account_state if health else ""
        detail = health.account_detail if health else ""
        if not self.has_account or account == OFF:
            lines.append(self.line([(f" off · set {key_hint('bitmex')} (a read-only key) to see positions",
                                     muted)], width))
            return lines
        if account == "error":
            lines.append(self.line([(f" {detail}", self.style("positions--error"))], width))
            return lines
        if not state.positions:
            text = " no open positions" if account == "live" else f" {account or 'connecting'}… {detail}"
            lines.append(self.line([(text, muted)], width))
            return lines
        cols = fitting_columns(width)
        header = " " + "".join(name.ljust(w) if align == "<" else name.rjust(w) for name, w, align, _ in cols)
        lines.append(self.line([(header, self.style("positions--columns"))], width))
        signed = not any(c[0] == "side" for c in cols)  # without a side column, a short shows as -size
        for pos in sorted(state.positions.values(), key=lambda p: p.symbol):
            values = self._values(pos)
            if signed and pos.qty < 0:
                values["size"] = ("-" + values["size"][0], values["side"][1])
            cells: list[Cell] = [("▶" if pos.pair == self.selection.pair else " ", None)]
            for name, w, align, _ in cols:
                text, style = values[name]
                cells.append((text.ljust(w) if align == "<" else text.rjust(w), style))
            lines.append(self.line(cells, width))
        return lines

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
