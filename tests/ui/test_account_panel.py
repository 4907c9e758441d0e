"""The account panel's open orders and fills (Pilot, on the scripted market with a frozen clock)."""

from __future__ import annotations

import dataclasses

from rich.style import Style

from finxtui.model.events import ExecutionEvent, OrderEvent
from finxtui.ui.widgets.positions import PositionsPanel
from tests.ui.helpers import Clock, scripted_app, text_of, wait_for
from tests.ui.script import FROZEN_AT, account_orders


def colour_of(panel: PositionsPanel, word: str) -> Style:
    """The style the panel drew ``word`` in (its first appearance on screen)."""
    for y in range(panel.size.height):
        for segment in panel.render_line(y):
            if segment.text.strip() == word:
                assert segment.style is not None
                return segment.style
    raise AssertionError(f"{word!r} is not on screen:\n{text_of(panel)}")


async def test_open_orders_and_fills_show_with_the_positions() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await source.drained()
        panel = app.query_one("#positions", PositionsPanel)
        panel.styles.max_height = 30  # a slot with room for all of it (the screen's layout decides the real one)
        await wait_for(pilot, lambda: "Recent fills 2" in text_of(panel) and "14:29:48" in text_of(panel),
                       what="the account's orders and fills, all of them")
        lines = text_of(panel).splitlines()
        assert any("XBTUSD" in line and "25,000 USD" in line for line in lines)  # positions stay first
        assert "Open orders 2" in text_of(panel)
        order = next(line for line in lines if "97,180.5" in line)
        assert order.split()[:2] == ["▶XBTUSD", "buy"] and "2,000 USD" in order and "new" in order
        partial = next(line for line in lines if "182.62" in line and "partial" in line)
        assert "40 SOL" in partial and "38%" in partial  # 150,000 of 400,000 contracts filled
        fills = lines[next(i for i, line in enumerate(lines) if "Recent fills 2" in line) + 1:]
        assert fills[0].split()[:3] == ["14:29:55", "sell", "SOLUSDT"] and "15 SOL" in fills[0]  # newest first
        assert fills[1].split()[:3] == ["14:29:48", "sell", "ETHUSDT"] and "0.5 ETH" in fills[1]
        assert colour_of(panel, "buy").color != colour_of(panel, "sell").color  # sides in the up/down colours

        # A fill completes the SOL order: it leaves the open orders, the fill tops the list, on the next poll.
        source.push(ExecutionEvent("bitmex", "SOL:USD", "SOLUSDT", "o-2", "e-3", "sell", 182.62, 250_000,
                                   FROZEN_AT + 1, 0),
                    dataclasses.replace(account_orders()[1], leaves_qty=0, filled_qty=400_000, status="filled"))
        await source.drained()
        await wait_for(pilot, lambda: "Open orders 1" in text_of(panel), what="the filled order gone")
        assert "Recent fills 3" in text_of(panel) and "14:30:01" in text_of(panel)
        builds = panel.rebuilds
        source.push(account_orders()[0])  # the same state again: nothing to redraw
        await source.drained()
        await pilot.pause(0.3)
        assert panel.rebuilds == builds


async def test_a_short_slot_keeps_positions_whole_and_counts_what_it_hides() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await source.drained()
        source.push(*(OrderEvent("bitmex", "BTC:USD", "XBTUSD", f"x-{i}", "sell", 97_300.0 + i, 100, 100, 0, None,
                                 "new", "Limit", FROZEN_AT) for i in range(6)))
        await source.drained()
        panel = app.query_one("#positions", PositionsPanel)
        await wait_for(pilot, lambda: "Open orders 8" in text_of(panel), what="the orders counted")
        shown = text_of(panel)
        assert all(s in shown for s in ("ETHUSDT", "SOLUSDT", "XBTUSD"))
        assert "more)" in shown and len(shown.splitlines()) == panel.size.height


async def test_a_short_screen_sums_orders_and_fills_up_in_one_line() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await source.drained()
        panel = app.query_one("#positions", PositionsPanel)
        await wait_for(pilot, lambda: "Orders 2 · fill sell" in text_of(panel), what="the one-line summary")
        assert "XBTUSD" in text_of(panel) and "Open orders" not in text_of(panel)


async def test_orders_coming_and_going_grow_the_slot_at_once_and_do_not_shrink_it_each_time() -> None:
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await source.drained()
        panel = app.query_one("#positions", PositionsPanel)
        await wait_for(pilot, lambda: "Open orders 2" in text_of(panel), what="the account's orders")
        height = panel.size.height
        new = [OrderEvent("bitmex", "BTC:USD", "XBTUSD", f"x-{i}", "sell", 97_300.0 + i, 100, 100, 0, None, "new",
                          "Limit", FROZEN_AT) for i in range(2)]
        source.push(*new)
        await source.drained()
        await wait_for(pilot, lambda: "Open orders 4" in text_of(panel) and panel.size.height == height + 2,
                       what="the slot grown by the two new rows")
        grown = panel.size.height
        chart = app.query_one("#chart")
        chart_height = chart.size.height
        source.push(*(dataclasses.replace(o, leaves_qty=0, status="canceled") for o in new))
        await source.drained()
        await wait_for(pilot, lambda: "Open orders 2" in text_of(panel), what="the two orders gone")
        await pilot.pause(0.3)
        # The rows went; the slot stays as tall, so the chart beside it keeps its size (no reflow per order).
        assert panel.size.height == grown and chart.size.height == chart_height
        assert "97,300.0" not in text_of(panel)
