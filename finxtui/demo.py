"""Demo mode: the embedded simulator on a free loopback port, and a config pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from finxtui.config import Config, Credentials
from finxtui.model.pairs import SOURCES
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.server import Simulator


def demo_config(cfg: Config, sim: Simulator) -> Config:
    """``cfg`` with every source at the simulator and the simulator's (demo) accounts."""
    creds: SimCredentials = sim.credentials
    credentials = Credentials(finx_key=creds.finx_key, bitmex_key=creds.bitmex_key,
                              bitmex_secret=creds.bitmex_secret, finazon_key=creds.finazon_key)
    return replace(cfg, endpoints={s: sim.base_url(s) for s in SOURCES}, credentials=credentials)


@asynccontextmanager
async def demo(cfg: Config, *, seed: int = 7, rate: float | None = None) -> AsyncIterator[tuple[Config, Simulator]]:
    """Run a simulator for the duration of the block; yields the pointed config and the simulator.

    The simulator uses the documented demo accounts, not the user's keys, whatever the environment says.
    """
    async with Simulator(seed=seed, rate=rate, credentials=SimCredentials()) as sim:
        yield demo_config(cfg, sim), sim
