"""The embedded demo: the simulator in this process on a free loopback port, and the venues' feeds at it.

The simulator speaks the real protocols, so a demo runs exactly the code a live monitor runs, over real
sockets; only the endpoints and the (documented, public) demo accounts differ. The demo never uses the
user's own keys, whatever the environment says.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date

from finxtui.config import Config, Credentials
from finxtui.feeds.factory import AnyFeed
from finxtui.model.events import Event, Tick
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from finxtui.sources.base import Playback
from finxtui.sources.live import LiveSource
from finxtui.wire.venues import SOURCES

#: The demo's market dispatches its steps 10 times a second, not 100: the book redraws at 10 Hz, so a redraw shows
#: one slice's changes instead of two, and every slice costs a wake-up, a dispatch and the frames it makes (a frame
#: per book and slice where the venue batches) in the same process as the monitor. Measured against 20 a second:
#: the ladder still redraws 9.3 times a second with the same gaps, the tape shows 17 prints a second against 19
#: (more of a slice's trades share a millisecond), and the demo costs 1.2-3.5 points of a core less.
DEMO_MARKET_SLICE = 0.1
#: Bitfinex checksums as often as the live venue sends them (a median of ~2.5 s apart on a changing book), not the
#: simulator's 0.2 s for tests: each is 50 levels formatted and hashed by the simulator and again by the feed,
#: and every one is still verified.
DEMO_CHECKSUM_INTERVAL = 2.5


def demo_config(cfg: Config, sim: Simulator) -> Config:
    """``cfg`` with every source at the simulator and the simulator's (demo) accounts."""
    creds: SimCredentials = sim.credentials
    credentials = Credentials(finx_key=creds.finx_key, bitmex_key=creds.bitmex_key,
                              bitmex_secret=creds.bitmex_secret, finazon_key=creds.finazon_key)
    return replace(cfg, endpoints={s: sim.base_url(s) for s in SOURCES}, credentials=credentials)


@asynccontextmanager
async def embedded_simulator(cfg: Config, *, seed: int = 7, rate: float | None = None,
                             warmup: int = 0, clock: Callable[[], float] = time.time,
                             settings: SimSettings | None = None) -> AsyncIterator[tuple[Config, Simulator]]:
    """Run a simulator for the duration of the block; yields the config pointed at it, and the simulator."""
    sim = Simulator(seed=seed, rate=rate, clock=clock, credentials=SimCredentials(), warmup=warmup,
                    settings=settings)
    await sim.start()
    try:
        yield demo_config(cfg, sim), sim
    finally:
        await sim.stop()


class DemoSource:
    """A :class:`LiveSource` on the embedded simulator (``finx-tui --demo``).

    ``seed`` fixes the market; ``rate`` is book updates a second (None: the simulator's default, 0: it moves
    only when stepped, ``math.inf``: as fast as the clients read); ``warmup`` steps it before anyone connects;
    ``settings`` change the venues' periods and limits (with ``manual_time`` their clock moves only when the
    simulator is advanced, as a screenshot or a test wants).
    """

    kind = "demo"
    recorded = False
    has_account = True
    playback: Playback | None = None

    def __init__(self, config: Config, *, seed: int = 7, rate: float | None = None, warmup: int = 0,
                 pairs: Iterable[str] | None = None, clock: Callable[[], float] = time.time,
                 settings: SimSettings | None = None) -> None:
        self.config = config
        self.clock = clock
        self.venues: tuple[str, ...] = tuple(s for s in SOURCES if config.enabled.get(s, True))
        if settings is None:
            settings = SimSettings(market_slice=DEMO_MARKET_SLICE, bitfinex_checksum_interval=DEMO_CHECKSUM_INTERVAL)
        self.simulator = Simulator(seed=seed, rate=rate, clock=clock, credentials=SimCredentials(), warmup=warmup,
                                   settings=settings)
        self._pairs = tuple(pairs) if pairs is not None else tuple(config.watchlist)
        self._live: LiveSource | None = None

    @property
    def feeds(self) -> Mapping[str, AnyFeed]:
        """The feed of each venue now (empty before :meth:`start`)."""
        return self._live.feeds if self._live is not None else {}

    def badge(self) -> str:
        return "DEMO"

    async def start(self) -> None:
        if self._live is not None:
            return
        await self.simulator.start()
        self.config = demo_config(self.config, self.simulator)
        self._live = LiveSource(self.config, venues=self.venues, pairs=self._pairs, clock=self.clock)
        await self._live.start()

    def follow(self, pairs: Iterable[str]) -> None:
        self._pairs = tuple(pairs)
        if self._live is not None:
            self._live.follow(self._pairs)

    def reconnect(self, reason: str = "reconnect requested") -> None:
        if self._live is not None:
            self._live.reconnect(reason)

    async def stop(self) -> None:
        if self._live is not None:
            await self._live.stop()
        await self.simulator.stop()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._live is None:
            await self.start()
        assert self._live is not None
        return await self._live.__anext__()

    async def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        if self._live is None:
            await self.start()
        assert self._live is not None
        async for page in self._live.history(pair, day):
            yield page
