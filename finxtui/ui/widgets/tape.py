"""The trade tape: time and sales for the selected pair, newest on top, large prints highlighted."""

from __future__ import annotations

from typing import Any

from textual.strip import Strip

from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import VENUES

WIDE = 40  # below this the time drops its milliseconds


class TradeTape(PolledLines):
    """Bitfinex and BitMEX trades of ``selection.pair`` as the model merged them (venue, side, millisecond);
    sizes in the base currency; a print at or above the pair's threshold is highlighted."""

    COMPONENT_CLASSES = {"tape--title", "tape--columns", "tape--buy", "tape--sell", "tape--large-buy",
                         "tape--large-sell", "tape--muted"}
    DEFAULT_CSS = """
    TradeTape { height: 1fr; min-height: 3; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, hz: float,
                 id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs

    def signature(self) -> Any:
        tape = self.market.tapes.get(self.selection.pair)
        return (self.selection.pair, tape.version if tape else None)

    def build(self, width: int, height: int) -> list[Strip]:
        pair = self.selection.pair
        market = self.market
        tapes = market.tapes
        tape = tapes.get(pair)
        info = self.pairs.get(pair)
        decimals = info.decimals if info else 2
        muted = self.style("tape--muted")
        base_ccy = pair.split(":")[0]
        title: list[Cell] = [(f" {pair}", self.style("tape--title"))]
        venues = [s for s in ("bitfinex", "bitmex") if s in self.pairs.sources_for(pair)]
        if not venues:
            kind = "an equity" if info is not None and info.kind == "equity" else "not on Bitfinex or BitMEX"
            return [self.line(title, width), self.line([(f" {pair} is {kind}: no trades to show", muted)], width)]
        last = market.pair(pair).last if pair in market.pairs else None
        large = tapes.threshold(pair, last)
        if large is not None:
            title.append((f"  large ≥ {fmt.size(_round_size(large))} {base_ccy}", muted))
        if tape is not None and tape.trades:
            title.append((f"  {tape.trades:,} trades", muted))
        lines = [self.line(title, width)]
        if tape is None or not tape.prints:
            lines.append(self.line([(" waiting for trades…", muted)], width))
            return lines
        prints = tape.newest(max(0, height - 2))
        if not prints:
            return lines  # no room (a hidden panel is 0 rows tall)
        wide = width >= WIDE
        time_w = 13 if wide else 9
        price_w = max(len(fmt.price(p.vwap, decimals)) for p in prints) + 1
        sdec = fmt.size_decimals([p.size for p in prints])
        size_w = max(6, *(len(fmt.fixed(p.size, sdec)) for p in prints)) + 1
        header = (" " + "time".ljust(time_w) + "src" + "price".rjust(price_w) + "  " + f"size {base_ccy}".rjust(size_w)
                  + "  n")
        lines.append(self.line([(header, self.style("tape--columns"))], width))
        styles = {("buy", False): self.style("tape--buy"), ("sell", False): self.style("tape--sell"),
                  ("buy", True): self.style("tape--large-buy"), ("sell", True): self.style("tape--large-sell")}
        for p in prints:
            big = tapes.is_large(pair, p)
            side = styles[(p.side, big)]
            stamp = fmt.time_ms(p.ts) if wide else fmt.clock_text(p.ts)
            venue = VENUES.get(p.source)
            arrow = "▲" if p.side == "buy" else "▼"
            count = f"×{p.count}" if p.count > 1 else ""
            cells: list[Cell] = [
                (" " + stamp.ljust(time_w), side if big else muted),
                ((venue.short if venue else p.source[:2]).ljust(3), side if big else muted),
                (fmt.price(p.vwap, decimals).rjust(price_w), side),
                (f" {arrow}", side),
                (fmt.fixed(p.size, sdec).rjust(size_w), side),
                (f" {count}".ljust(4), side if big else muted),
            ]
            lines.append(self.line(cells, width, fill=side if big else None))
        return lines


def _round_size(size: float) -> float:
    """A threshold shown with two significant digits (it came from a notional divided by a price)."""
    if size <= 0:
        return size
    digits = max(0, 1 - int(f"{size:e}".split("e")[1]))
    return round(size, digits)
