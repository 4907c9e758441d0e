"""The shared poll clock: slower widgets are polled on the same ticks, so one paint shows them together."""

from __future__ import annotations

import time

from finxtui.ui.widgets.base import PollClock
from tests.ui.helpers import Clock, scripted_app, wait_for


class Probe:
    """A pollable that notes when it was polled."""

    def __init__(self) -> None:
        self.polls: list[float] = []

    def poll(self, force: bool = False) -> None:
        self.polls.append(time.monotonic())


async def test_widgets_at_4_2_and_1_hz_share_their_ticks() -> None:
    app, source = scripted_app(Clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await source.drained()
        clock = PollClock.of(app)
        fast, mid, slow = Probe(), Probe(), Probe()
        clock.add(fast, 0.25)
        await pilot.pause(0.13)  # added at different moments, as widgets mount
        clock.add(mid, 0.5)
        clock.add(slow, 1.0)
        try:
            await wait_for(pilot, lambda: len(slow.polls) >= 2, 5, "two polls of the 1 Hz probe")
        finally:
            for probe in (fast, mid, slow):
                clock.remove(probe)

        def shared(probe: Probe) -> bool:  # each poll came in the same tick as one of the 4 Hz probe's
            return all(any(abs(t - f) < clock.tick / 2 for f in fast.polls) for t in probe.polls)

        assert len(mid.polls) >= 3 and shared(mid) and shared(slow)
