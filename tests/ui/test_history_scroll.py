"""The history table: its scroll range follows the rows that land, without a layout pass for each; its rows take
the current styles."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot

from finxtui.model.events import Tick
from finxtui.model.state import History
from finxtui.sources import ScriptedSource
from finxtui.ui.widgets.history import HistoryTable
from tests.ui.helpers import Clock, scripted_app, wait_for
from tests.ui.script import FROZEN_AT


async def shown(pilot: Pilot[Any], source: ScriptedSource) -> tuple[History, HistoryTable]:
    """The selected pair's history, loaded, and the table once it shows more rows than fit."""
    app: Any = pilot.app
    await source.drained()
    hist = app.state.history_for(app.selected)
    await wait_for(pilot, lambda: hist.pages and not hist.loading, what="the history pages")
    table = app.query_one(HistoryTable)
    await wait_for(pilot, lambda: table.max_scroll_y > 0, what="a history longer than the table")
    return hist, table


async def test_history_rows_landing_stay_reachable_by_scrolling() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        hist, table = await shown(pilot, source)
        rows, reach = len(hist.rows), table.max_scroll_y
        for i in range(5):
            source.push(Tick("finx", app.selected, 97_400.0 + i, "KRAKEN", FROZEN_AT + 1 + i))
        await source.drained()
        await wait_for(pilot, lambda: len(hist.rows) == rows + 5, what="five ticks in the history")
        await wait_for(pilot, lambda: table.max_scroll_y == reach + 5, what="the scroll range grown by five")
        assert "97,404.0" in table.render_line(0).text  # the newest on top
        table.scroll_end(animate=False)
        await pilot.pause()
        oldest = hist.rows[0]
        assert f"{oldest.price:,.1f}" in table.render_line(table.size.height - 1).text


async def test_rows_painted_together_take_a_new_theme_at_once() -> None:
    # The rows of one paint share the styles read by the first: the next paint must read them again.
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        hist, table = await shown(pilot, source)
        region = Region(0, 0, table.size.width, table.size.height)

        def backgrounds() -> set[str]:
            strips = table.render_lines(region)
            return {str(seg.style.bgcolor) for strip in strips for seg in strip if seg.style and seg.text.strip()}

        dark = backgrounds()
        app.theme = "finx-light"
        await pilot.pause()
        light = backgrounds()
        assert dark and light and not dark & light
        texts = [strip.text.rstrip() for strip in table.render_lines(region)]  # with the scrollbar's column
        assert texts == [table.render_line(y).text.rstrip() for y in range(region.height)]
        assert sum(f"{row.price:,.1f}" in text for row, text in zip(reversed(hist.rows), texts, strict=False)) > 5
