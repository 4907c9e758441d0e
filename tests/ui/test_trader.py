"""Alerts, watchlist editing, your own keys and the up/down colours, driven through the app with Pilot."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from finxtui.config import Config, ConfigError, KeySetting, Notify, load_config
from finxtui.model.alerts import AlertRule
from finxtui.model.events import Tick
from finxtui.ui.app import FinxApp
from finxtui.ui.screens.alerts import AddAlertScreen, AlertsScreen
from finxtui.ui.screens.help import HelpScreen
from finxtui.ui.widgets.ticker import Ticker
from tests.ui.helpers import Clock, scripted_app, text_of, wait_for
from tests.ui.test_app import typed_into_palette

MINE = """\
# my own config: these comments stay
book_levels = 25   # deep books please

[sources.bitfinex]
len = 100  # and long ones
"""


def config_at(tmp_path: Path, text: str = MINE, **changes: Any) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return replace(load_config(path, env={}), **changes)


def toasts(app: FinxApp) -> str:
    return "\n".join(str(t.render()) for t in app.screen.query("Toast"))


def finx_tick(clock: Clock, pair: str, price: float) -> Tick:
    clock.advance(1.0)
    return Tick("finx", pair, price, "COINBASE", clock.now)


async def settled(pilot: Pilot[Any], app: FinxApp) -> None:
    source = app.source
    assert hasattr(source, "drained")
    await source.drained()
    await pilot.pause()


async def test_an_alert_fires_from_the_data_with_a_toast_a_log_entry_and_a_terminal_notice(tmp_path: Path) -> None:
    clock = Clock()
    rule = AlertRule("above", 100_000.0, "BTC:USD")
    cfg = config_at(tmp_path, alerts=(rule,), notify=Notify(desktop="osc777"))
    app, src = scripted_app(clock, cfg)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settled(pilot, app)
        assert not app.alerts.log, "the script's market is below the level"
        src.push(finx_tick(clock, "BTC:USD", 99_990.0), finx_tick(clock, "BTC:USD", 100_012.5))
        await settled(pilot, app)
        assert [f.text for f in app.alerts.log] == ["BTC:USD above 100,000: last 100,012.5"]
        await wait_for(pilot, lambda: "Alert: BTC:USD above 100,000" in toasts(app))
        assert list(app.notifier.sent) == ["\x07", "\x1b]777;notify;finx-tui alert;BTC:USD above 100,000: last "
                                                   "100,012.5\x07"]
        src.push(finx_tick(clock, "BTC:USD", 100_500.0))  # still above: once is once
        await settled(pilot, app)
        assert len(app.alerts.log) == 1
        await pilot.press("A")
        assert isinstance(app.screen, AlertsScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1 and "done" in str(table.get_row_at(0))
        assert "BTC:USD above 100,000: last 100,012.5" in str(app.screen.query_one("#alerts-log", Static).render())
        await pilot.press("r")  # re-arm: the next rising edge fires again
        src.push(finx_tick(clock, "BTC:USD", 99_000.0), finx_tick(clock, "BTC:USD", 100_100.0))
        await settled(pilot, app)
        assert len(app.alerts.log) == 2


async def test_add_an_alert_from_the_palette_saved_with_comments_kept_and_restored(tmp_path: Path) -> None:
    clock = Clock()
    cfg = config_at(tmp_path)
    app, src = scripted_app(clock, cfg)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settled(pilot, app)
        await pilot.press("ctrl+p")
        await typed_into_palette(pilot, app, "alert: add on a %", "Alert: add on a % move…")
        await pilot.press("enter")
        dialog = await wait_for(pilot, lambda: app.screen if isinstance(app.screen, AddAlertScreen) else None)
        level = dialog.query_one("#alert-level", Input)
        level.value = "lots"
        await pilot.press("enter")
        assert isinstance(app.screen, AddAlertScreen), "a bad level keeps the dialog open"
        assert "level: a number, got 'lots'" in str(dialog.query_one("#alert-error", Static).render())
        dialog.query_one("#alert-pair", Input).value = "DOGE:EUR"
        level.value = "1.5"
        await pilot.press("enter")
        assert "pair: unknown pair 'DOGE:EUR'" in str(dialog.query_one("#alert-error", Static).render())
        dialog.query_one("#alert-pair", Input).value = "eth/usd"
        dialog.query_one("#alert-window", Input).value = "60"
        level.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, AddAlertScreen))
        await wait_for(pilot, lambda: "Alert added" in toasts(app))
        assert [r.describe() for r in app.alerts.rules.values()] == ["ETH:USD moves 1.5% within 1m"]
        src.push(finx_tick(clock, "ETH:USD", 3452.0), finx_tick(clock, "ETH:USD", 3510.0))  # +1.68%
        await settled(pilot, app)
        assert len(app.alerts.log) == 1
    text = cfg.path.read_text() if cfg.path else ""
    assert "# my own config: these comments stay" in text and "# deep books please" in text
    assert "# and long ones" in text
    assert tomllib.loads(text)["alerts"] == [{"pair": "ETH:USD", "move": 1.5, "window": 60}]
    # A restart: the rule comes back from the file, its fired state from the state dir; it does not refire.
    again, src2 = scripted_app(clock, load_config(cfg.path, env={}))
    async with again.run_test(size=(80, 24)) as pilot:
        await settled(pilot, again)
        (key,) = again.alerts.rules
        assert again.alerts.states[key].done and len(again.alerts.log) == 1
        src2.push(finx_tick(clock, "ETH:USD", 3400.0), finx_tick(clock, "ETH:USD", 3500.0))
        await settled(pilot, again)
        assert len(again.alerts.log) == 1
        await pilot.press("A")
        await pilot.press("x")  # remove it: from the engine and from the file
        assert not again.alerts.rules
    assert "alerts" not in tomllib.loads(cfg.path.read_text() if cfg.path else "")


async def test_an_alert_on_a_pair_outside_the_watchlist_is_carried(tmp_path: Path) -> None:
    clock = Clock()
    rule = AlertRule("below", 140.0, "NVDA")
    app, src = scripted_app(clock, config_at(tmp_path, alerts=(rule,)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        assert "NVDA" in src.followed and "NVDA" not in app.watchlist
        src.push(Tick("finazon", "NVDA", 139.5, "", clock.now))
        await settled(pilot, app)
        assert len(app.alerts.log) == 1


async def test_watchlist_edits_are_saved_with_comments_kept(tmp_path: Path) -> None:
    clock = Clock()
    cfg = config_at(tmp_path)
    app, src = scripted_app(clock, cfg)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        ticker = app.query_one(Ticker)
        app.select_pair("NVDA")
        await pilot.press("w")
        assert app.watchlist[-1] == "NVDA" and "NVDA" in src.followed
        await wait_for(pilot, lambda: "NVDA" in text_of(ticker))
        await pilot.press("less_than_sign", "less_than_sign")
        assert app.watchlist[-3:] == ["NVDA", "AAPL", "MSFT"]
        await pilot.press("2")  # ETH:USD
        await pilot.press("W")
        assert "ETH:USD" not in app.watchlist
        await pilot.press("1", "greater_than_sign")
        assert app.watchlist[:2] == ["SOL:USD", "BTC:USD"]
        await wait_for(pilot, lambda: text_of(ticker).splitlines()[1].lstrip(" ▶1").startswith("SOL:USD"))
    text = cfg.path.read_text() if cfg.path else ""
    assert "# my own config: these comments stay" in text and "# and long ones" in text
    assert tomllib.loads(text)["watchlist"] == ["SOL:USD", "BTC:USD", "XRP:USD", "NVDA", "AAPL", "MSFT"]
    assert load_config(cfg.path, env={}).watchlist == tuple(app.watchlist)


async def test_a_skipped_alert_entry_is_shown_in_the_app(tmp_path: Path) -> None:
    text = MINE.replace("[sources.bitfinex]", '[[alerts]]\npair = "BTC:USD"\nbelow = "cheap"\n\n[sources.bitfinex]')
    cfg = config_at(tmp_path, text)
    assert not cfg.alerts and len(cfg.warnings) == 1
    app, _src = scripted_app(Clock(), cfg)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settled(pilot, app)
        await wait_for(pilot, lambda: "alerts[1].below: a number, got 'cheap'" in toasts(app))
        await pilot.press("A")
        problems = app.screen.query_one("#alerts-problems", Static)
        assert "config.toml:6: alerts[1].below" in str(problems.render())


async def test_watchlist_from_the_palette(tmp_path: Path) -> None:
    clock = Clock()
    app, _src = scripted_app(clock, config_at(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        app.select_pair("NVDA")
        await pilot.press("ctrl+p")
        await typed_into_palette(pilot, app, "watchlist: add", "Watchlist: add NVDA")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.watchlist[-1] == "NVDA")
        await pilot.press("ctrl+p")
        await typed_into_palette(pilot, app, "watchlist: move nvda up", "Watchlist: move NVDA up")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.watchlist[-2] == "NVDA")
    assert load_config(tmp_path / "config.toml", env={}).watchlist[-2:] == ("NVDA", "MSFT")


async def test_a_fresh_config_file_is_created_when_there_is_none(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "nowhere" / "config.toml"
    app, _src = scripted_app(clock, Config(path=path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        await pilot.press("W")  # BTC:USD leaves the watchlist
    assert load_config(path, env={}).watchlist == ("ETH:USD", "SOL:USD", "XRP:USD", "AAPL", "MSFT")
    assert "# Pairs shown in the ticker" in path.read_text(), "the commented defaults are there to read"


async def test_keys_are_rebound_and_help_shows_the_keys_now(tmp_path: Path) -> None:
    clock = Clock()
    cfg = config_at(tmp_path, keys=(KeySetting("pair.next", "n", "x:1"), KeySetting("alerts.list", "ctrl+l", "x:2")))
    app, _src = scripted_app(clock, cfg)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        await pilot.press("n")
        assert app.selected == "ETH:USD"
        await pilot.press("right_square_bracket")
        assert app.selected == "ETH:USD", "the old key no longer does it"
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, AlertsScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = str(app.screen.query_one("#help-text", Static).render())
        line = next(s for s in shown.splitlines() if "pair.next" in s)
        assert line.split()[0] == "n", line
        assert next(s for s in shown.splitlines() if "alerts.list" in s).split()[0] == "ctrl+l"


@pytest.mark.parametrize(("setting", "words"), [
    (KeySetting("pair.nxt", "n", "/c.toml:7"), "/c.toml:7: keys.pair.nxt: unknown binding id (known: pair.next"),
    (KeySetting("pair.next", "ctl+n", "/c.toml:8"), "/c.toml:8: keys.pair.next: 'ctl+n' is not a key name"),
    (KeySetting("app.quit", "f5,bogus", "/c.toml:9"), "/c.toml:9: keys.app.quit: 'bogus' is not a key name"),
])
def test_a_bad_key_is_an_error_naming_the_line(setting: KeySetting, words: str) -> None:
    clock = Clock()
    with pytest.raises(ConfigError) as caught:
        scripted_app(clock, Config(keys=(setting,)))
    assert str(caught.value).startswith(words), str(caught.value)


@pytest.mark.parametrize(("theme", "updown", "up", "down"), [
    ("dark", "green-red", "#2ecc71", "#ff5c5c"),
    ("dark", "blue-orange", "#56b4e9", "#e69f00"),
    ("light", "blue-orange", "#0072b2", "#d55e00"),
    ("light", "green-red", "#1a7f37", "#cf222e"),
])
async def test_colour_presets(theme: str, updown: str, up: str, down: str) -> None:
    app, _src = scripted_app(Clock(), Config(theme=theme, updown=updown))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        assert app.theme == f"finx-{theme}"
        variables = app.get_css_variables()
        assert (variables["price-up"], variables["price-down"]) == (up, down)
        assert (variables["bid"], variables["ask"]) == (up, down)
