"""A simulator on a manual venue clock for the feed tests (as ``tests/sim`` has one for the protocol tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings


@pytest.fixture
async def manual_sim() -> AsyncIterator[Simulator]:
    """A seeded, paused simulator whose venues' clock moves only by ``advance`` (heartbeats, ``tu`` copies, stalls,
    idle limits) and whose market moves only by ``step``. The feed under test still runs on the real clock."""
    async with Simulator(seed=11, rate=0, settings=SimSettings(manual_time=True)) as sim:
        yield sim
