"""The status bar: every source's state with a coloured dot and how long ago it last spoke."""

from __future__ import annotations

from typing import Any

from textual.strip import Strip

from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines

STATE_CLASS = {"live": "status--live", "connecting": "status--warn", "resyncing": "status--warn",
               "stale": "status--stale", "reconnecting": "status--bad", "error": "status--bad"}


class StatusBar(PolledLines):
    rate = "status"
    COMPONENT_CLASSES = {"status--live", "status--warn", "status--stale", "status--bad", "status--muted",
                         "status--name", "status--paused"}
    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    def signature(self) -> Any:
        app = self.finx
        now = app.clock()
        ages = tuple(round(now - h.last_event, 1) if h.last_event else None for h in self._sources())
        return (app.state.health_version, ages, app.paused)

    def _sources(self) -> list:
        app = self.finx
        return [app.state.health[s] for s in app.sources if s in app.state.health]

    def build(self, width: int, height: int) -> list[Strip]:
        app = self.finx
        now = app.clock()
        cells: list[Cell] = []
        for health in self._sources():
            state = health.state or "off"
            dot = self.style(STATE_CLASS.get(state, "status--muted"))
            cells.append((" ●", dot))
            cells.append((f" {health.source}", self.style("status--name")))
            text = f" {state}" if state != "live" else ""
            cells.append((text, dot))
            cells.append((f" {fmt.age(now - health.last_event) if health.last_event else '—'}",
                          self.style("status--muted")))
            if health.source == "bitmex" and health.account_state:
                acct = self.style(STATE_CLASS.get(health.account_state, "status--muted"))
                cells.append((" acct", self.style("status--muted")))
                cells.append(("●", acct))
            cells.append(("  │", self.style("status--muted")))
        if cells:
            cells.pop()
        if app.paused:
            text = "   PAUSED (p resumes)" if app.replay is not None else "   PAUSED (data still flowing; p resumes)"
            cells.append((text, self.style("status--paused")))
        problems = [h for h in self._sources() if h.state not in ("live", "")]
        if problems and width > 100:
            worst = problems[0]
            cells.append((f"   {worst.source}: {worst.detail}", self.style("status--muted")))
        return [self.line(cells, width)]
