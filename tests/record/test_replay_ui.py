"""``finx-tui replay``: the monitor on a recording, driven through Pilot (REPLAY mark, pause, speed keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from finxtui.config import Config
from finxtui.model.events import Event
from finxtui.record.cli import replay_config
from finxtui.record.replay import Recording, ReplayControl, replay_events
from finxtui.ui.app import make_app
from tests.record.helpers import AFTERNOON, make_recording
from tests.ui.helpers import text_of, wait_for


async def test_replay_shows_its_mark_pauses_and_changes_speed(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=600)  # a minute of recording at 0.1 s a step
    control = ReplayControl(1.0, origin=AFTERNOON)
    emitted: list[Event] = []

    async def events() -> AsyncIterator[Event]:
        async for event in replay_events(tmp_path, control=control):
            emitted.append(event)
            yield event

    app = make_app(Config(), mode="REPLAY", events=events, replay=control, clock=control.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one("#header")
        await wait_for(pilot, lambda: "REPLAY 1x" in text_of(header))
        await wait_for(pilot, lambda: len(emitted) > 10)
        assert "2026-11-22 14:30:0" in text_of(header)  # the recording's clock, not the wall clock
        assert app.state.book("bitfinex", "BTC:USD") is not None

        await pilot.press("p")
        assert control.paused
        await pilot.pause(0.1)
        frozen = len(emitted)
        await pilot.pause(0.6)  # six recorded steps at 1x: none may come while paused
        assert len(emitted) == frozen
        await wait_for(pilot, lambda: "PAUSED" in text_of(header))

        await pilot.press("plus")
        assert control.speed == 2.0
        await wait_for(pilot, lambda: "REPLAY 2x" in text_of(header))
        await pilot.press("minus", "minus")
        assert control.speed == 0.5

        await pilot.press("p")
        assert not control.paused
        await wait_for(pilot, lambda: len(emitted) > frozen + 2)


def test_the_replay_watchlist_is_what_was_recorded(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=5)
    cfg = replay_config(Config(default_pair="ETH:USD"), Recording(tmp_path))
    assert cfg.watchlist == ("BTC:USD",) and cfg.default_pair == "BTC:USD"
