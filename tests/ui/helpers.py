"""Helpers for driving the app: a clock tests can freeze and move, a scripted app, and bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from finxtui.config import Config
from finxtui.sources import ScriptedSource
from finxtui.ui.app import FinxApp
from tests.ui import script
from tests.ui.script import FROZEN_AT


class Clock:
    """A clock that stands still until told to move (``clock.advance(1.0)``)."""

    def __init__(self, start: float = FROZEN_AT) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def text_of(widget: Any) -> str:
    """What a Line-API widget currently shows, one line per row."""
    return str(widget.text)


def scripted_app(clock: Clock, config: Config | None = None, **source: Any) -> tuple[FinxApp, ScriptedSource]:
    """The monitor on the seeded script's market (history for every crypto pair), at the frozen clock."""
    pages = {pair: script.history(pair) for pair in script.CRYPTO}
    src = ScriptedSource(script.market(), clock=clock, history=pages, **source)
    app = FinxApp(config or Config(), src)
    app.animation_level = "none"
    return app, src


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = predicate()
                if value:
                    return value
                await pilot.pause(0.05)
    except TimeoutError:
        app = pilot.app
        health = {s: (h.state, h.detail) for s, h in app.state.health.items()} \
            if isinstance(app, FinxApp) else {}
        raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; health: {health}") from None


def all_live(app: FinxApp) -> bool:
    return all(h.state == "live" for h in app.state.health.values()) and bool(app.state.health)
