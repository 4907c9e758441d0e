"""The panels skip Textual's ANSI-to-truecolor pass (their colours are truecolor already) but keep NO_COLOR's."""

from __future__ import annotations

import pytest
from rich.color import Color
from textual.geometry import Region

from finxtui.ui.widgets.history import HistoryTable
from finxtui.ui.widgets.ladder import DepthLadder
from tests.ui.helpers import Clock, scripted_app, wait_for


def colours(widget: DepthLadder | HistoryTable) -> set[tuple[int, int, int]]:
    """Every foreground and background colour in what the widget hands the compositor (filters applied)."""
    found: set[tuple[int, int, int]] = set()
    for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)):
        for segment in strip:
            style = segment.style
            for color in (style.color, style.bgcolor) if style is not None else ():
                if color is not None:
                    assert isinstance(color, Color) and color.triplet is not None, color  # truecolor, as a theme is
                    found.add(tuple(color.triplet))  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_panels_paint_in_colour_unless_no_color_is_set(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app, source = scripted_app(Clock())
    async with app.run_test(size=(160, 50)) as pilot:
        await source.drained()
        ladder, history = app.query_one(DepthLadder), app.query_one(HistoryTable)
        hist = app.state.history_for(app.selected)
        await wait_for(pilot, lambda: "spread" in ladder.text and len(hist.rows) > 0 and not hist.loading,
                       what="a book and the history's ticks")
        await pilot.pause()
        for widget in (ladder, history):
            found = colours(widget)
            grey = {c for c in found if c[0] == c[1] == c[2]}
            if no_color:  # NO_COLOR's filter still reaches the panels: every colour is a grey
                assert found and grey == found, (type(widget).__name__, found - grey)
            else:  # bids, asks and up/down ticks in their colours
                assert len(found - grey) >= 2, (type(widget).__name__, found)
