"""The most common first look: no keys at all, public venues live, keyed ones `off` and saying what to set."""

from __future__ import annotations

from finxtui.config import Config
from finxtui.sim.server import Simulator
from finxtui.sources import LiveSource
from finxtui.ui.app import FinxApp
from finxtui.ui.widgets.history import HistoryHeader
from finxtui.ui.widgets.positions import PositionsPanel
from finxtui.ui.widgets.status import StatusBar
from finxtui.ui.widgets.ticker import Ticker
from tests.ui.helpers import text_of, wait_for


async def test_without_keys_public_venues_are_live_and_keyed_ones_off(sim: Simulator) -> None:
    # The conftest's isolated home unsets every key variable: this is a first run on a fresh machine.
    cfg = Config(endpoints={s: sim.base_url(s) for s in ("finx", "bitfinex", "bitmex", "finazon")})
    assert not cfg.credentials.secrets()
    app = FinxApp(cfg, LiveSource(cfg))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        health = app.state.health
        await wait_for(pilot, lambda: health["bitfinex"].state == "live" and health["bitmex"].state == "live")
        await wait_for(pilot, lambda: health["finx"].state == "off" and health["finazon"].state == "off")
        assert health["bitmex"].account_state == "off"
        assert "FINX_API_KEY" in health["finx"].detail and "FINAZON_API_KEY" in health["finazon"].detail
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: "finx off (FINX_API_KEY)" in text_of(status)
                       and "finazon off (FINAZON_API_KEY)" in text_of(status) and "connecting" not in text_of(status))
        assert "error" not in text_of(status)
        header = app.query_one("#header")
        await wait_for(pilot, lambda: "2/2 live · 2 off" in text_of(header))
        assert "error" not in text_of(header)
        panel = app.query_one(PositionsPanel)
        await wait_for(pilot, lambda: "off · set BITMEX_API_KEY" in text_of(panel))
        history = app.query_one(HistoryHeader)
        await wait_for(pilot, lambda: "off · set FINX_API_KEY" in text_of(history))
        await pilot.press("5")  # AAPL: only on Finazon, which is off
        await wait_for(pilot, lambda: "off" in text_of(app.query_one(Ticker)).splitlines()[5])
        # Nothing red, nothing covering the panels: an unset key is not a fault.
        assert not app.screen.query("Toast"), "no toast on a first run without keys"
