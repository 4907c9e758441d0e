"""Helpers for driving the app: a clock tests can freeze and move, and the text a widget shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

# 2026-11-20 14:30:00 UTC: a fixed afternoon in the past (BitMEX signatures expire against real time), so
# "today's" history has a deterministic morning behind it.
FROZEN_AT = 1_795_185_000.0


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
    return "\n".join("".join(seg.text for seg in strip) for strip in widget._lines)


async def wait_for(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
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
            if hasattr(app, "state") else {}
        raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; health: {health}") from None


def all_live(app: Any) -> bool:
    return all(h.state == "live" for h in app.state.health.values()) and bool(app.state.health)
