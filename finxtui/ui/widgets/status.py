"""The status bar: every source's state with a coloured dot and how long ago it last spoke."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.strip import Strip

from finxtui.model.events import OFF
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState, SourceHealth
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import key_hint

STATE_CLASS = {"live": "status--live", "connecting": "status--warn", "resyncing": "status--warn",
               "stale": "status--stale", "reconnecting": "status--bad", "error": "status--bad", "off": "status--muted"}


class StatusBar(PolledLines):
    """The health of ``venues``; ``playback`` says a pause stops the replay itself (not only drawing)."""

    COMPONENT_CLASSES = {"status--live", "status--warn", "status--stale", "status--bad", "status--muted",
                         "status--name", "status--paused"}
    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    def __init__(self, market: MarketState, selection: Selection, venues: Sequence[str], *, playback: bool,
                 clock: Callable[[], float], hz: float, id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.venues = venues
        self.playback = playback
        self.clock = clock

    def signature(self) -> Any:
        now = self.clock()
        ages = tuple(round(now - h.last_event, 1) if h.last_event else None for h in self._sources())
        return (self.market.health_version, ages, self.selection.paused)

    def _sources(self) -> list[SourceHealth]:
        health = self.market.health
        return [health[s] for s in self.venues if s in health]

    def build(self, width: int, height: int) -> list[Strip]:
        now = self.clock()
        cells: list[Cell] = []
        for health in self._sources():
            state = health.state or "off"
            dot = self.style(STATE_CLASS.get(state, "status--muted"))
            cells.append((" ●", dot))
            cells.append((f" {health.source}", self.style("status--name")))
            if state == OFF:  # not a fault: say what turns it on, and nothing about its age
                cells.append((f" off ({key_hint(health.source)})", dot))
            else:
                cells.append((f" {state}" if state != "live" else "", dot))
                cells.append((f" {fmt.age(now - health.last_event) if health.last_event else '—'}",
                              self.style("status--muted")))
            if health.source == "bitmex" and health.account_state:
                acct = self.style(STATE_CLASS.get(health.account_state, "status--muted"))
                cells.append((" acct", self.style("status--muted")))
                cells.append(("●", acct))
            cells.append(("  │", self.style("status--muted")))
        if cells:
            cells.pop()
        if sum(len(text) for text, _ in cells) > width:  # tight: narrower separators before anything is cut
            cells = [(" │", style) if text == "  │" else (text, style) for text, style in cells]
        if self.selection.paused:
            text = "   PAUSED (p resumes)" if self.playback else "   PAUSED (data still flowing; p resumes)"
            cells.append((text, self.style("status--paused")))
        problems = [h for h in self._sources() if h.state not in ("live", "", OFF)]
        if problems and width > 100:
            worst = problems[0]
            cells.append((f"   {worst.source}: {worst.detail}", self.style("status--muted")))
        return [self.line(cells, width)]
