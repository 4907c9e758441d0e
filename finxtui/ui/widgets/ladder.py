"""The depth ladder: asks above, bids below, best in the middle, with cumulative size bars."""

from __future__ import annotations

from typing import Any

from textual.strip import Strip

from finxtui.model.book import ASK, BID
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import display_name


class DepthLadder(PolledLines):
    """A Line-API ladder: a DataTable or Rich table costs 5-8x more per repaint (textual-practice.md).

    Shows the book of the selected pair on the selected venue, at the selected depth (``selection``).
    """

    COMPONENT_CLASSES = {"ladder--header", "ladder--bid", "ladder--ask", "ladder--bid-bar", "ladder--ask-bar",
                         "ladder--spread", "ladder--muted", "ladder--size"}
    DEFAULT_CSS = """
    DepthLadder { height: 1fr; min-height: 5; }
    """
    _decimals = (0, 0)
    #: The bars' scale is sticky: it is remade (to the deepest total times HEADROOM) only when the deepest total
    #: outgrows it or fills less than LOW of it. Scaled to the deepest total exactly, any change at any level
    #: moved every bar, so every row repainted on every redraw (most of the demo's paint); now a row repaints
    #: when its own size or total moves.
    HEADROOM = 1.15
    LOW = 0.7

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, hz: float,
                 id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs
        self._scale: tuple[Any, float] = (None, 1.0)  # (the book it is for, the total a full bar stands for)

    def signature(self) -> Any:
        sel = self.selection
        book = self.market.book(sel.book_source, sel.pair)
        health = self.market.health.get(sel.book_source)
        return (sel.pair, sel.book_source, sel.book_levels, book.version if book else None,
                health.state if health else "")

    def levels_that_fit(self, height: int) -> int:
        """Levels a side that a ladder ``height`` rows tall shows (at most the selected depth)."""
        return max(0, min(self.selection.book_levels, (height - 2) // 2))

    def build(self, width: int, height: int) -> list[Strip]:
        market = self.market
        pair = self.selection.pair
        source = self.selection.book_source
        levels = self.selection.book_levels
        venue = display_name(source)
        info = self.pairs.get(pair)
        muted = self.style("ladder--muted")
        lines: list[Strip] = []
        if info is None or source not in self.pairs.sources_for(pair):
            where = ", ".join(display_name(s) for s in self.pairs.sources_for(pair)) or "no venue"
            text = (f"{pair} is an equity: no order book (Finazon bars)" if info and info.kind == "equity"
                    else f"{venue} does not list {pair} (on: {where}); b switches")
            return [self.line([(f" {text}", muted)], width)]
        book = market.book(source, pair)
        n = self.levels_that_fit(height)
        decimals = info.decimals
        # BitMEX counts contracts: show linear ones in the coin, inverse ones in the quote currency.
        inst = market.instruments.get((source, pair))
        scale = inst.contract_value if inst is not None and not inst.inverse else 1.0
        unit = inst.unit if inst is not None else ("contracts" if source == "bitmex" else pair.split(":")[0])
        title = f" {venue} · {pair} · {n} of {levels} levels"
        lines.append(self.line([(title, self.style("ladder--header")),
                                (f"  size in {unit}", muted)], width))
        if book is None or (not book.bids and not book.asks):
            health = market.health.get(source)
            why = f"{health.state}: {health.detail}" if health and health.state else "not connected"
            lines.append(self.line([(f" waiting for the {venue} book… ({why})", muted)], width))
            return lines
        if n <= 0:
            return lines  # a window too short for a single level a side shows the title only
        asks = book.ladder(ASK, n)
        bids = book.ladder(BID, n)
        if scale != 1.0:
            asks = [(p, s * scale, c * scale) for p, s, c in asks]
            bids = [(p, s * scale, c * scale) for p, s, c in bids]
        deepest = self._bar_scale((source, pair, scale),
                                  max((asks[-1][2] if asks else 0.0), (bids[-1][2] if bids else 0.0)))
        sdec = fmt.size_decimals([s for _, s, _ in asks + bids])
        cdec = fmt.size_decimals([c for _, _, c in asks + bids])
        price_w = max(len(fmt.price(p, decimals)) for p, _, _ in asks + bids) + 1
        size_w = max(8, *(len(fmt.fixed(s, sdec)) for _, s, _ in asks + bids)) + 1
        cum_w = max(8, *(len(fmt.fixed(c, cdec)) for _, _, c in asks + bids)) + 1
        self._decimals = (sdec, cdec)
        bar_w = max(0, width - price_w - size_w - cum_w - 4)
        ask_style, bid_style = self.style("ladder--ask"), self.style("ladder--bid")
        size_style = self.style("ladder--size")
        # Asks: worst at the top, best just above the spread.
        for _ in range(n - len(asks)):
            lines.append(self.line([], width))
        for p, s, c in reversed(asks):
            lines.append(self._row(p, s, c, decimals, price_w, size_w, cum_w, bar_w, deepest, ask_style,
                                   size_style, self.style("ladder--ask-bar"), width))
        spread = book.spread()
        mid = book.mid()
        if spread is not None and mid:
            text = (f" spread {fmt.price(spread, decimals)} ({fmt.percent(spread / mid, signed=False)})"
                    f" · mid {fmt.price(mid, decimals + 1)}")
        else:
            text = " one-sided book"
        if book.is_crossed():
            text += "  CROSSED"
        lines.append(self.line([(text, self.style("ladder--spread"))], width))
        for p, s, c in bids:
            lines.append(self._row(p, s, c, decimals, price_w, size_w, cum_w, bar_w, deepest, bid_style,
                                   size_style, self.style("ladder--bid-bar"), width))
        for _ in range(n - len(bids)):
            lines.append(self.line([], width))
        return lines

    def _bar_scale(self, key: Any, deepest: float) -> float:
        """The total a full-width bar stands for: sticky while ``deepest`` stays within [LOW, 1] of it."""
        have_key, have = self._scale
        if have_key != key or not self.LOW * have <= deepest <= have:
            have = deepest * self.HEADROOM or 1.0
            self._scale = (key, have)
        return have

    def _row(self, price: float, size: float, cum: float, decimals: int, price_w: int, size_w: int, cum_w: int,
             bar_w: int, deepest: float, side_style: Any, size_style: Any, bar_style: Any, width: int) -> Strip:
        cells: list[Cell] = [
            (fmt.price(price, decimals).rjust(price_w), side_style),
            (fmt.fixed(size, self._decimals[0]).rjust(size_w), size_style),
            (fmt.fixed(cum, self._decimals[1]).rjust(cum_w), None),
            ("  ", None),
            (fmt.bar(cum / deepest, bar_w), bar_style),
        ]
        return self.line(cells, width)
