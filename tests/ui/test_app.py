"""The monitor driven with keys through Pilot, on the seeded simulator (the demo, over real sockets)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import Command, CommandInput, CommandList, CommandPalette
from textual.pilot import Pilot

from finxtui.config import Config
from finxtui.sources import DemoSource, LiveSource
from finxtui.ui.app import FinxApp
from finxtui.ui.screens.help import HelpScreen
from finxtui.ui.widgets.ladder import DepthLadder
from finxtui.ui.widgets.positions import PositionsPanel
from finxtui.ui.widgets.status import StatusBar
from finxtui.ui.widgets.ticker import Ticker
from tests.ui.helpers import all_live, text_of, wait_for


@pytest.fixture
def demo_app() -> FinxApp:
    return FinxApp(Config(), DemoSource(Config(), seed=7))


def palette_input(app: FinxApp) -> CommandInput | None:
    """The command palette's input, once the palette is open and composed."""
    screen = app.screen
    return next(iter(screen.query(CommandInput)), None) if isinstance(screen, CommandPalette) else None


def highlighted_command(app: FinxApp) -> str:
    """The text of the command the open palette has highlighted (what Enter runs), or ""."""
    screen = app.screen
    if not isinstance(screen, CommandPalette):
        return ""
    commands = next(iter(screen.query(CommandList)), None)
    option = commands.highlighted_option if commands is not None else None
    return str(option.hit.text) if isinstance(option, Command) else ""


async def typed_into_palette(pilot: Pilot[Any], app: FinxApp, text: str, want: str) -> None:
    """Type ``text`` into the palette that is opening, and wait until it has the command ``want`` highlighted."""
    field = await wait_for(pilot, lambda: palette_input(app), what="the palette's input")
    field.cursor_blink = False
    await pilot.press(*text)
    await wait_for(pilot, lambda: highlighted_command(app) == want, what=f"{want!r} highlighted")


async def test_demo_shows_a_moving_market_quickly(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        await wait_for(pilot, lambda: all_live(app), timeout=5)
        assert app.source.kind == "demo"
        btc = app.state.pair("BTC:USD")
        await wait_for(pilot, lambda: btc.last is not None, timeout=5)
        first = btc.version
        await wait_for(pilot, lambda: btc.version > first + 2, timeout=10)
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: "spread" in text_of(ladder))
        assert "DEMO" in text_of(app.query_one("#header"))
        assert "BTC:USD" in text_of(app.query_one(Ticker))


async def test_pair_keys(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        assert app.selected == "BTC:USD"
        await pilot.press("right_square_bracket")
        assert app.selected == "ETH:USD"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.selected == app.watchlist[-1]
        await pilot.press("3")
        assert app.selected == "SOL:USD"
        await pilot.press("9")  # beyond the watchlist: nothing happens
        assert app.selected == "SOL:USD"


async def test_switching_pairs_never_shows_the_old_numbers(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: "97," in text_of(ladder))
        await pilot.press("2")
        # The very next frame, before any new data: the ladder is ETH's or says it is waiting, never BTC's.
        shown = text_of(ladder)
        assert "ETH:USD" in shown and "97," not in shown
        header = text_of(app.query_one("#header"))
        assert "ETH:USD" in header and "97," not in header


async def test_book_source_depth_and_units(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: all_live(app))
        await wait_for(pilot, lambda: "Bitfinex · BTC:USD" in text_of(ladder) and "size in BTC" in text_of(ladder))
        await pilot.press("b")
        assert app.book_source == "bitmex"
        await wait_for(pilot, lambda: "BitMEX · BTC:USD" in text_of(ladder) and "size in USD" in text_of(ladder))
        await pilot.press("2")
        await wait_for(pilot, lambda: "BitMEX · ETH:USD" in text_of(ladder) and "size in ETH" in text_of(ladder))
        await pilot.press("d")
        assert app.book_levels == 25
        await wait_for(pilot, lambda: "of 25 levels" in text_of(ladder))
        await pilot.press("d")
        assert app.book_levels == 10
        await pilot.press("5")  # AAPL: no order book anywhere
        await wait_for(pilot, lambda: "AAPL is an equity: no order book" in text_of(ladder))


async def test_pause_freezes_drawing_not_data(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: all_live(app))
        await pilot.press("p")
        assert app.paused
        rebuilds = ladder.rebuilds
        book = app.state.book("bitfinex", "BTC:USD")
        version = book.version
        # An absence needs a window: three of the ladder's own redraw periods, counted by a timer of the same
        # period on the same app (so the ladder's redraw timer had its chances too), while the book moves on.
        periods = 0

        def period() -> None:
            nonlocal periods
            periods += 1

        timer = app.set_interval(1 / ladder.hz, period)
        await wait_for(pilot, lambda: book.version > version + 5 and periods >= 3)
        timer.stop()
        assert ladder.rebuilds == rebuilds, "no repaint while paused"
        assert "PAUSED" in text_of(app.query_one(StatusBar))
        await pilot.press("p")
        assert not app.paused
        await wait_for(pilot, lambda: ladder.rebuilds > rebuilds)


async def test_reconnect_key_reconnects_every_feed(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        await wait_for(pilot, lambda: all_live(app))
        feeds = dict(app.source.feeds)
        attempts = {s: f.attempts for s, f in feeds.items()}
        await pilot.press("r")
        await wait_for(pilot, lambda: all(f.attempts > attempts[s] for s, f in feeds.items()))
        await wait_for(pilot, lambda: all_live(app))


async def test_help_screen_and_pair_picker(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("slash")
        await typed_into_palette(pilot, app, "sol", "Pair SOL:USD")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.selected == "SOL:USD")


async def test_picking_a_pair_outside_the_watchlist_subscribes_it(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        await wait_for(pilot, lambda: all_live(app))
        assert "NVDA" not in app.watchlist
        await pilot.press("ctrl+p")
        await typed_into_palette(pilot, app, "nvda", "Pair NVDA")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.selected == "NVDA")
        await wait_for(pilot, lambda: app.state.pair("NVDA").last is not None, timeout=10)


async def test_positions_panel_with_the_demo_account(demo_app) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        app = demo_app
        panel = app.query_one(PositionsPanel)
        await wait_for(pilot, lambda: "XBTUSD" in text_of(panel) and "SOLUSDT" in text_of(panel))
        shown = text_of(panel)
        assert "25,000 USD" in shown and "XBT" in shown
        assert "-200 SOL" in shown or ("short" in shown and "200 SOL" in shown), "a short position reads as one"


async def test_without_network_every_source_says_reconnecting(tmp_path) -> None:
    cfg = Config(endpoints={s: "ws://127.0.0.1:9" for s in ("finx", "bitfinex", "bitmex", "finazon")})
    app = FinxApp(cfg, LiveSource(cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: app.state.health["bitfinex"].state == "reconnecting", timeout=10)
        await wait_for(pilot, lambda: "reconnecting" in text_of(status))
        assert "refused" in app.state.health["bitfinex"].detail
        # No keys in this environment: the keyed sources are off and say what to set instead of connecting.
        assert app.state.health["finx"].state == "off" and "FINX_API_KEY" in app.state.health["finx"].detail
        assert "FINAZON_API_KEY" in app.state.health["finazon"].detail
        panel = app.query_one(PositionsPanel)
        await wait_for(pilot, lambda: "BITMEX_API_KEY" in text_of(panel))


async def test_small_terminal_still_works(demo_app) -> None:
    async with demo_app.run_test(size=(80, 24)) as pilot:
        app = demo_app
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: "spread" in text_of(ladder))
        assert ladder.levels_that_fit(ladder.size.height) >= 3
        for widget in app.query("Ticker, DepthLadder, StatusBar, AppHeader"):
            assert widget.size.width > 30, widget
        await pilot.press("2")
        assert app.selected == "ETH:USD"
