"""``finx-tui replay``: the monitor on a recording, driven through Pilot (REPLAY mark, pause, speed keys)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from finxtui.commands.replay import replay_config
from finxtui.config import Config
from finxtui.model.events import BookUpdate
from finxtui.record.replay import Recording, replay_events
from finxtui.sources import ReplaySource
from finxtui.ui.app import FinxApp
from tests.record.helpers import make_recording
from tests.ui.helpers import text_of, wait_for


async def recorded_steps_played(path: Path, steps: int, speed: float) -> None:
    """Play the recording at ``path`` at ``speed`` until ``steps`` of its book updates after the first snapshot have
    come out: that much recording time has gone by, at that speed, in this event loop."""
    seen = 0
    async with asyncio.timeout(10):
        async for event in replay_events(path, speed=speed):
            if isinstance(event, BookUpdate) and not event.snapshot:
                seen += 1
                if seen >= steps:
                    return


async def test_replay_shows_its_mark_pauses_and_changes_speed(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=600)  # a minute of recording at 0.1 s a step
    source = ReplaySource(tmp_path, speed=1.0)
    app = FinxApp(Config(), source)

    def applied() -> int:
        return sum(h.events for h in app.state.health.values())

    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one("#header")
        await wait_for(pilot, lambda: "REPLAY 1x" in text_of(header))
        await wait_for(pilot, lambda: applied() > 10)
        assert "2026-11-22 14:30:0" in text_of(header)  # the recording's clock, not the wall clock
        assert app.state.book("bitfinex", "BTC:USD") is not None

        await pilot.press("p")
        assert source.control.paused  # the replay checks it before each event: nothing more comes from now on
        frozen = applied()
        # An absence needs a window: the same recording, unpaused at the same 1x, plays six recorded steps meanwhile.
        await recorded_steps_played(tmp_path, 6, speed=1.0)
        assert applied() == frozen
        await wait_for(pilot, lambda: "PAUSED" in text_of(header))

        await pilot.press("plus")
        assert source.control.speed == 2.0
        await wait_for(pilot, lambda: "REPLAY 2x" in text_of(header))
        await pilot.press("minus", "minus")
        assert source.control.speed == 0.5

        await pilot.press("p")
        assert not source.control.paused
        await wait_for(pilot, lambda: applied() > frozen + 2)


async def test_a_replay_says_when_it_has_ended(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=20)
    source = ReplaySource(tmp_path, speed=0)  # as fast as possible: it ends at once
    app = FinxApp(Config(), source)
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one("#header")
        await wait_for(pilot, lambda: app.events_ended)
        await wait_for(pilot, lambda: "REPLAY · ended" in text_of(header))
        hist = app.state.history_for(app.selected)
        assert not hist.loading and not hist.error, "a recording's history comes with it: nothing to load"


def test_the_replay_watchlist_is_what_was_recorded(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=5)
    cfg = replay_config(Config(default_pair="ETH:USD"), Recording(tmp_path))
    assert cfg.watchlist == ("BTC:USD",) and cfg.default_pair == "BTC:USD"
