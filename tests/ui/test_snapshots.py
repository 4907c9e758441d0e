"""SVG snapshots of the monitor on the seeded simulator with a frozen clock, at 80x24 and 120x40.

The simulator is paused (rate 0) after a deterministic warm-up; once every feed is live the test steps it a
fixed number of times, lets the venues' timers catch up, stops them, moves the clock past any flash and
repaints. What remains on screen depends only on the seed.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot

from finxtui.config import Config
from finxtui.ui.app import FinxApp, make_app
from tests.ui.helpers import Clock, all_live, wait_for

SIZES = [(80, 24), (120, 40)]


def snapshot_app(clock: Clock) -> FinxApp:
    app = make_app(Config(), demo=True, seed=7, rate=0, warmup=3000, clock=clock)
    app.animation_level = "none"
    return app


async def settle(pilot: Pilot, clock: Clock, keys: tuple[str, ...] = ()) -> None:
    app: FinxApp = pilot.app  # type: ignore[assignment]
    venues = ("bitfinex", "bitmex", "finazon")
    await wait_for(pilot, lambda: all(app.state.health[s].state == "live" for s in venues), timeout=15)
    hist = app.state.history_for(app.selected)
    await wait_for(pilot, lambda: hist.pages and not hist.loading, timeout=15)
    await wait_for(pilot, lambda: len(app.state.positions) == 3, timeout=15)
    app.sim.step(600)  # FinX streams go live with their first tick
    await wait_for(pilot, lambda: all_live(app), timeout=15)
    await pilot.pause(2.5)  # bars, positions and quotes go out on the venues' one-second timers
    for task in app.sim._tasks:  # then the venues fall silent: nothing can change the screen
        task.cancel()
    await asyncio.gather(*app.sim._tasks, return_exceptions=True)
    await pilot.pause(0.3)
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.2)
    clock.advance(1.0)  # past every flash; ages read 1.0s
    app._repaint(force=True)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor(snap_compare, size: tuple[int, int]) -> None:
    clock = Clock()
    assert snap_compare(snapshot_app(clock), terminal_size=size, run_before=lambda p: settle(p, clock))


def test_bitmex_book_at_25_levels_on_eth(snap_compare) -> None:
    clock = Clock()
    assert snap_compare(snapshot_app(clock), terminal_size=(120, 40),
                        run_before=lambda p: settle(p, clock, keys=("2", "b", "d")))


def test_help_screen(snap_compare) -> None:
    clock = Clock()
    assert snap_compare(snapshot_app(clock), terminal_size=(120, 40),
                        run_before=lambda p: settle(p, clock, keys=("question_mark",)))
