"""The header line: pair, last price with its direction, spread, connection summary, mode, UTC clock."""

from __future__ import annotations

import time
from typing import Any

from textual.strip import Strip

from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines


class AppHeader(PolledLines):
    rate = "ticker"
    COMPONENT_CLASSES = {"header--title", "header--pair", "header--up", "header--down", "header--muted",
                         "header--mode", "header--live", "header--warn", "header--bad", "header--clock"}
    DEFAULT_CSS = """
    AppHeader { height: 1; }
    """

    def signature(self) -> Any:
        app = self.finx
        book = app.state.book(app.book_source, app.selected)
        return (app.selected, app.state.pair(app.selected).version, book.version if book else None,
                app.state.health_version, int(app.clock()), app.book_source, app.paused,
                app.replay.speed if app.replay is not None else None, app.events_ended)

    def build(self, width: int, height: int) -> list[Strip]:
        app = self.finx
        pair = app.selected
        state = app.state.pair(pair)
        info = app.config.pairs.get(pair)
        decimals = info.decimals if info else 2
        up, down, muted = self.style("header--up"), self.style("header--down"), self.style("header--muted")
        move = up if state.direction > 0 else down if state.direction < 0 else None
        arrow = "▲" if state.direction > 0 else "▼" if state.direction < 0 else "·"
        change = state.change
        cells: list[Cell] = [(" finx-tui ", self.style("header--title")),
                             (f" {pair} ", self.style("header--pair")),
                             (f" {fmt.price(state.last, decimals)} {arrow}", move),
                             (f" {fmt.percent(change)}", up if change and change > 0 else down if change else muted)]
        book = app.state.book(app.book_source, pair)
        spread = book.spread() if book is not None else None
        if spread is not None:
            cells.append((f"  spread {fmt.price(spread, decimals)}", muted))
        live, used, bad = app.state.summary()
        summary_style = self.style("header--live" if live == used and used else
                                   "header--bad" if any(app.state.health[s].state in ("error", "reconnecting")
                                                         for s in bad) else "header--warn")
        cells.append((f"  ● {live}/{used} live", summary_style))
        if bad and width >= 100:
            cells.append((" (" + ", ".join(f"{s} {app.state.health[s].state}" for s in bad) + ")", muted))
        right: list[Cell] = []
        if app.mode:
            speed = f" {app.replay.speed:g}x" if app.replay is not None else ""
            if app.events_ended:
                speed = " · ended"
            right.append((f" {app.mode}{speed} ", self.style("header--mode")))
        if app.paused:
            right.append((" PAUSED ", self.style("header--mode")))
        right.append((time.strftime(" %Y-%m-%d %H:%M:%S UTC ", time.gmtime(app.clock())), self.style("header--clock")))
        used_w = sum(len(t) for t, _ in cells)
        right_w = sum(len(t) for t, _ in right)
        if used_w + right_w < width:
            cells.append((" " * (width - used_w - right_w), None))
            cells.extend(right)
        else:
            cells.extend(right[:-1])  # no room: the clock goes first
        return [self.line(cells, width)]
