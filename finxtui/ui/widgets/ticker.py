"""The ticker: one row per watchlist pair with last price, change since the session opened, and a sparkline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.strip import Strip

from finxtui.model.events import OFF
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import FLASH_SECONDS, MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import VENUES, key_hint


class Ticker(PolledLines):
    """One row per ``watchlist`` pair; ``clock`` times the flashes."""

    COMPONENT_CLASSES = {"ticker--header", "ticker--selected", "ticker--up", "ticker--down", "ticker--flash-up",
                         "ticker--flash-down", "ticker--muted", "ticker--spark"}
    DEFAULT_CSS = """
    Ticker { height: auto; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, watchlist: Sequence[str], *,
                 clock: Callable[[], float], hz: float, id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs
        self.watchlist = watchlist
        self.clock = clock

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.watchlist) + 1

    def signature(self) -> Any:
        now = self.clock()
        # A flash ends by time alone, so whether any flash is still on is part of what is shown.
        flashing = tuple(p for p in self.watchlist if now - self.market.pair(p).changed_at < FLASH_SECONDS)
        return (self.market.ticker_version, self.market.health_version, self.selection.pair, tuple(self.watchlist),
                flashing)

    def build(self, width: int, height: int) -> list[Strip]:
        now = self.clock()
        muted = self.style("ticker--muted")
        rows = [(p, self.market.pair(p), self.pairs.get(p)) for p in self.watchlist]
        price_w = max([8] + [len(fmt.price(s.last, i.decimals if i else 2)) for _, s, i in rows]) + 1
        name_w = max([4] + [len(p) for p, _, _ in rows]) + 2
        fixed = 3 + name_w + price_w + 3 + 8
        show_src = width - fixed >= 10  # narrow terminals keep price and change, then the source, then ticks
        spark_w = max(0, width - fixed - (6 if show_src else 0) - 1)
        head = self.style("ticker--header")
        header: list[Cell] = [("   " + "pair".ljust(name_w), head), ("last".rjust(price_w) + "   ", head),
                              ("session".rjust(8), head), ("  src " if show_src else "", head),
                              (("recent ticks" if spark_w >= 12 else "") if spark_w else "", head)]
        lines = [self.line(header, width)]
        for i, (pair, state, info) in enumerate(rows, 1):
            selected = pair == self.selection.pair
            base = self.style("ticker--selected") if selected else None
            decimals = info.decimals if info else 2
            arrow = "▲" if state.direction > 0 else "▼" if state.direction < 0 else " "
            up, down = self.style("ticker--up"), self.style("ticker--down")
            move = up if state.direction > 0 else down if state.direction < 0 else None
            price_style = move
            if state.last is not None and now - state.changed_at < FLASH_SECONDS:
                price_style = self.style("ticker--flash-up" if state.direction > 0 else "ticker--flash-down")
            change = state.change
            change_style = up if change and change > 0 else down if change and change < 0 else muted
            spark = " " + fmt.sparkline(list(state.spark), spark_w - 1) if spark_w > 1 else ""
            off = self._off_hint(pair) if state.last is None and spark_w > 1 else ""
            if off:  # every venue of the pair is off: say what turns one on where its ticks would be
                spark = next((t for t in (f" off · set {off}", f" off: {off}") if len(t) <= spark_w), " off")
            marker = "▶" if selected else " "
            key = str(i) if i <= 9 else " "
            cells: list[Cell] = [
                (f"{marker}{key} ", _join(base, None)),
                (pair.ljust(name_w), _join(base, None)),
                (fmt.price(state.last, decimals).rjust(price_w), _join(base, price_style)),
                (f" {arrow} ", _join(base, move)),
                (fmt.percent(change).rjust(8), _join(base, change_style)),
                (f"  {_tag(state.source):<3} " if show_src else "", _join(base, muted)),
                (spark, _join(base, muted if off else self.style("ticker--spark"))),
            ]
            lines.append(self.line(cells, width, fill=base))
        return lines

    def _off_hint(self, pair: str) -> str:
        """The variable(s) to set when every venue of ``pair`` is off, else ""."""
        health = self.market.health
        venues = self.pairs.sources_for(pair)
        if venues and all(v in health and health[v].state == OFF for v in venues):
            return " or ".join(key_hint(v) for v in venues)
        return ""


def _tag(source: str) -> str:
    venue = VENUES.get(source)
    return venue.short if venue is not None else "--"


def _join(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b
