"""Simulators whose clocks move only when a test moves them: the market by ``step``, the venues by ``advance``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings


@pytest.fixture
async def manual_sim() -> AsyncIterator[Simulator]:
    """A seeded, paused simulator on a manual venue clock: heartbeats, bars, stalls and limits wait for
    ``advance``, the market for ``step``; nothing happens by itself."""
    async with Simulator(seed=11, rate=0, settings=SimSettings(manual_time=True)) as sim:
        yield sim
