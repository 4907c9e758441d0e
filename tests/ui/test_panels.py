"""The chart, the trade tape and the layout, driven with keys on the scripted market at the sizes people use."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from finxtui.model.book import ASK, BID
from finxtui.model.events import BookUpdate, Tick, Trade
from finxtui.ui.app import FinxApp
from finxtui.ui.widgets.chart import Chart
from finxtui.ui.widgets.ladder import DepthLadder
from finxtui.ui.widgets.tape import TradeTape
from tests.ui.helpers import Clock, scripted_app, text_of, wait_for
from tests.ui.script import FROZEN_AT

PANELS = ("ticker", "chart", "ladder", "tape", "history", "positions")


async def settled(pilot: Pilot[Any], app: FinxApp, source: Any) -> None:
    await source.drained()
    hist = app.state.history_for(app.selected)
    await wait_for(pilot, lambda: hist.pages and not hist.loading, what="the history pages")
    app.redraw_now()
    await pilot.pause()


def shown(app: FinxApp) -> set[str]:
    return {name for name in PANELS if app.query_one(f"#{name}").display}


def assert_laid_out(app: FinxApp) -> None:
    """Every panel on screen sits inside the space between header and status bar, none overlaps another,
    and each is wide and tall enough to read."""
    header, status = app.query_one("#header").region, app.query_one("#status").region
    regions = {name: app.query_one(f"#{name}").region for name in shown(app)}
    for name, region in regions.items():
        assert region.y >= header.bottom and region.bottom <= status.y, (name, region)
        assert region.x >= 0 and region.right <= app.size.width, (name, region)
        assert region.width >= 38 and region.height >= 4, (name, region)
    names = sorted(regions)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not regions[a].overlaps(regions[b]), (a, regions[a], b, regions[b])


@pytest.mark.parametrize("size", [(160, 50), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_wide_terminal_shows_every_panel(size: tuple[int, int]) -> None:
    app, source = scripted_app(Clock())
    async with app.run_test(size=size) as pilot:
        await settled(pilot, app, source)
        assert app.wide and shown(app) == set(PANELS)
        assert_laid_out(app)
        chart, tape = text_of(app.query_one(Chart)), text_of(app.query_one(TradeTape))
        assert "FinX ticks · BTC:USD · 1m" in chart and "◀97,218.0" in chart and "96,000.0" in chart
        assert "14:00" in chart.splitlines()[-1]  # the time axis
        rows = tape.splitlines()
        assert "large ≥ 1 BTC" in rows[0] and "size BTC" in rows[1]
        # newest first: the large Bitfinex buy, then the trades before it; the BitMEX sweep is one print of 3
        assert rows[2].split()[:3] == ["14:29:59.500", "BF", "97,250.0"]
        assert any("BM" in r and "×3" in r for r in rows)
        await pilot.press("v")  # nothing to switch: every panel is already there
        assert shown(app) == set(PANELS)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_smaller_terminals_reach_every_panel_with_v(size: tuple[int, int]) -> None:
    app, source = scripted_app(Clock())
    async with app.run_test(size=size) as pilot:
        await settled(pilot, app, source)
        assert not app.wide
        seen: set[str] = set()
        for view, panels in (("depth", {"ladder", "history"}), ("chart", {"chart", "tape"}),
                             ("tape", {"ladder", "tape"}), ("depth", {"ladder", "history"})):
            assert app.view == view
            assert shown(app) == {"ticker", "positions"} | panels
            assert_laid_out(app)
            seen |= shown(app)
            await pilot.press("v")
            await pilot.pause()
        assert seen == set(PANELS)
        assert app.view == "chart"  # the chart view again: the candles and the tape are readable at this size
        chart = text_of(app.query_one(Chart))
        assert "BTC:USD" in chart and "◀97,218.0" in chart
        assert "size BTC" in text_of(app.query_one(TradeTape))


async def test_timeframe_and_candle_source_keys() -> None:
    app, source = scripted_app(Clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app, source)
        chart = app.query_one(Chart)
        assert not chart.display
        await pilot.press("t")  # a chart key brings the chart on screen
        assert app.view == "chart" and chart.display
        for label in ("5m", "15m", "1h", "1m"):
            assert f"FinX ticks · BTC:USD · {label}" in text_of(chart)
            await pilot.press("t")
        assert app.selection.timeframe == 300
        for what in ("Bitfinex trades", "BitMEX trades", "FinX ticks"):
            await pilot.press("c")
            assert f"{what} · BTC:USD · 5m" in text_of(chart)
        await pilot.press("c")  # Bitfinex chosen; AAPL is not on Bitfinex, so its own source draws
        await pilot.press("5")
        assert "Finazon bars · AAPL · 5m" in text_of(chart)
        await pilot.press("t", "t", "t")  # 1m: AAPL's minute spans cents; the axis never repeats a price
        axis = [line.split()[-1] for line in text_of(chart).splitlines()[1:-1] if line.split()
                and line.split()[-1].replace(".", "").replace(",", "").isdigit()]
        assert len(axis) >= 2 and len(axis) == len(set(axis)), axis
        assert "AAPL is an equity: no trades to show" in text_of(app.query_one(TradeTape))
        await pilot.press("1")
        assert "Bitfinex trades · BTC:USD · 1m" in text_of(chart)


async def test_tape_and_chart_redraw_when_their_data_changes_and_only_then() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await settled(pilot, app, source)
        chart, tape = app.query_one(Chart), app.query_one(TradeTape)
        chart.poll()
        tape.poll()
        before = (chart.rebuilds, tape.rebuilds)
        chart.poll()
        tape.poll()
        assert (chart.rebuilds, tape.rebuilds) == before  # nothing new: nothing rebuilt
        source.push(Trade("bitfinex", "BTC:USD", 97_300.0, 3.25, "sell", FROZEN_AT + 0.25, "new"),
                    Tick("finx", "BTC:USD", 97_301.0, "KRAKEN", FROZEN_AT + 0.5))
        await source.drained()
        chart.poll()
        tape.poll()
        assert chart.rebuilds == before[0] + 1 and tape.rebuilds == before[1] + 1
        top = text_of(tape).splitlines()[2]
        assert top.split()[:4] == ["14:30:00.250", "BF", "97,300.0", "▼"] and "3.25" in top
        assert tape.render_line(2).text == top
        # a large print is drawn on the side's colour; an ordinary one is not
        panel = tape.rich_style.bgcolor

        def highlighted(y: int) -> bool:
            return any(seg.style is not None and seg.style.bgcolor != panel for seg in tape.render_line(y))

        assert highlighted(2) and highlighted(3)  # the new 3.25 BTC sell and the scripted $220k buy
        assert not highlighted(4)
        assert "◀97,301.0" in text_of(chart)


async def test_a_deep_level_moving_repaints_its_own_row_not_every_bar() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app, source)
        ladder = app.query_one(DepthLadder)
        book = app.state.book(app.book_source, app.selected)
        assert book is not None
        before = text_of(ladder).splitlines()
        n = ladder.levels_that_fit(ladder.size.height)
        deeper = max((ASK, BID), key=lambda side: book.ladder(side, n)[-1][2])
        price, size, _ = book.ladder(deeper, n)[-1]  # the worst level shown on the deeper side: the deepest total
        book.set(deeper, price, size * 1.03)  # the bars' scale holds: only this row's size, total and bar move
        source.push(BookUpdate(book.source, book.pair, book, False, [(deeper, price, size * 1.03)], FROZEN_AT + 1))
        await source.drained()
        ladder.poll()
        after = text_of(ladder).splitlines()
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(changed) == 1 and after[changed[0]].split()[0] == before[changed[0]].split()[0]
        # That side's book growing many times over rescales: every bar is redrawn, none overflows.
        book.set(deeper, price, size * 40)
        source.push(BookUpdate(book.source, book.pair, book, False, [(deeper, price, size * 40)], FROZEN_AT + 2))
        await source.drained()
        ladder.poll()
        rows = text_of(ladder).splitlines()
        bars = [row.count("█") for row in rows[1:n + 1]]
        assert bars == sorted(bars, reverse=True) and 0 < bars[0] < ladder.size.width - 20
        assert sum(a != b for a, b in zip(after, rows, strict=True)) >= n
