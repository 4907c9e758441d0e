"""SVG snapshots of the monitor at 80x24, 120x40 and 160x50, on a scripted market with a frozen clock.

The scripted source delivers the seeded market; the test waits until the app has taken all of it (a
condition, not a pause), moves the frozen clock past every flash and repaints. What is on screen depends
only on the script.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from finxtui.sources import ScriptedSource
from tests.ui.helpers import Clock, scripted_app, wait_for

SIZES = [(80, 24), (120, 40), (160, 50)]


async def settle(pilot: Pilot[Any], source: ScriptedSource, clock: Clock, keys: tuple[str, ...] = ()) -> None:
    app: Any = pilot.app
    await source.drained()
    for key in keys:
        await pilot.press(key)
    await source.drained()
    hist = app.state.history_for(app.selected)
    await wait_for(pilot, lambda: hist.pages and not hist.loading, what="the history pages")
    clock.advance(1.0)  # past every flash; ages read 1.0s
    app.redraw_now()
    await pilot.pause()


def _snap(snap_compare: Any, size: tuple[int, int], keys: tuple[str, ...] = ()) -> bool:
    clock = Clock()
    app, source = scripted_app(clock)
    return bool(snap_compare(app, terminal_size=size, run_before=lambda p: settle(p, source, clock, keys)))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor(snap_compare: Any, size: tuple[int, int]) -> None:
    assert _snap(snap_compare, size)


def test_bitmex_book_at_25_levels_on_eth(snap_compare: Any) -> None:
    assert _snap(snap_compare, (120, 40), keys=("2", "b", "d"))


@pytest.mark.parametrize(("size", "keys"), [((120, 40), ("v",)), ((80, 24), ("t",))],
                         ids=["120x40", "80x24-5m"])
def test_chart_and_tape_view(snap_compare: Any, size: tuple[int, int], keys: tuple[str, ...]) -> None:
    assert _snap(snap_compare, size, keys=keys)


def test_help_screen(snap_compare: Any) -> None:
    assert _snap(snap_compare, (120, 40), keys=("question_mark",))
