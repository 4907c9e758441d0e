"""The header line: pair, last price with its direction, spread, connection summary, mode, UTC clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.strip import Strip

from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines


class AppHeader(PolledLines):
    """``badge`` gives the source's mark (``DEMO``, ``REPLAY 2x``); ``clock`` the time shown."""

    COMPONENT_CLASSES = {"header--title", "header--pair", "header--up", "header--down", "header--muted",
                         "header--mode", "header--live", "header--warn", "header--bad", "header--clock"}
    DEFAULT_CSS = """
    AppHeader { height: 1; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, badge: Callable[[], str],
                 clock: Callable[[], float], hz: float, id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs
        self.badge = badge
        self.clock = clock

    def signature(self) -> Any:
        sel = self.selection
        book = self.market.book(sel.book_source, sel.pair)
        return (sel.pair, self.market.pair(sel.pair).version, book.version if book else None,
                self.market.health_version, int(self.clock()), sel.book_source, sel.paused, self.badge())

    def build(self, width: int, height: int) -> list[Strip]:
        market = self.market
        pair = self.selection.pair
        state = market.pair(pair)
        info = self.pairs.get(pair)
        decimals = info.decimals if info else 2
        up, down, muted = self.style("header--up"), self.style("header--down"), self.style("header--muted")
        move = up if state.direction > 0 else down if state.direction < 0 else None
        arrow = "▲" if state.direction > 0 else "▼" if state.direction < 0 else "·"
        change = state.change
        cells: list[Cell] = [(" finx-tui ", self.style("header--title")),
                             (f" {pair} ", self.style("header--pair")),
                             (f" {fmt.price(state.last, decimals)} {arrow}", move),
                             (f" {fmt.percent(change)}", up if change and change > 0 else down if change else muted)]
        book = market.book(self.selection.book_source, pair)
        spread = book.spread() if book is not None else None
        if spread is not None:
            cells.append((f"  spread {fmt.price(spread, decimals)}", muted))
        live, used, bad = market.summary()
        summary_style = self.style("header--live" if live == used and used else
                                   "header--bad" if any(market.health[s].state in ("error", "reconnecting")
                                                         for s in bad) else "header--warn")
        cells.append((f"  ● {live}/{used} live", summary_style))
        if bad and width >= 100:
            cells.append((" (" + ", ".join(f"{s} {market.health[s].state}" for s in bad) + ")", muted))
        off = market.off()
        if off and width >= 100:
            cells.append((f" · {len(off)} off", muted))
        right: list[Cell] = []
        badge = self.badge()
        if badge:
            right.append((f" {badge} ", self.style("header--mode")))
        if self.selection.paused:
            right.append((" PAUSED ", self.style("header--mode")))
        right.append((time.strftime(" %Y-%m-%d %H:%M:%S UTC ", time.gmtime(self.clock())),
                      self.style("header--clock")))
        used_w = sum(len(t) for t, _ in cells)
        right_w = sum(len(t) for t, _ in right)
        if used_w + right_w < width:
            cells.append((" " * (width - used_w - right_w), None))
            cells.extend(right)
        else:
            cells.extend(right[:-1])  # no room: the clock goes first
        return [self.line(cells, width)]
