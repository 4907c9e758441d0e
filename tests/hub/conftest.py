"""Real nats-server instances for the hub tests, each on free loopback ports with its own store directory.

Every wait here is bounded; every server a test starts is stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from finxtui.config import Config
from finxtui.hub import Hub, NatsPublisher, StreamLimits
from finxtui.model.book import OrderBook
from finxtui.model.events import BookUpdate
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from finxtui.sources import HubSource
from finxtui.sources.demo import demo_config

# Debian puts it in /usr/sbin, which a non-root PATH may lack.
NATS_SERVER = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
PLAN = {"bitfinex": ["BTC:USD", "ETH:USD"], "bitmex": ["BTC:USD"]}
DEPTH = 25

NO_NATS = "nats-server is not installed (Debian's nats-server package; .ci/run installs it)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One ``nats-server -js`` on 127.0.0.1; ``cluster`` = (own cluster port, route ports) joins a cluster."""

    def __init__(self, store: Path, *, name: str = "n1", cluster: tuple[int, Sequence[int]] | None = None) -> None:
        self.port = free_port()
        self.store = store
        self.name = name
        self.cluster = cluster
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        assert NATS_SERVER is not None
        args = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store), "-n", self.name]
        if self.cluster is not None:
            own, routes = self.cluster
            args += ["--cluster_name", "finx", "--cluster", f"nats://127.0.0.1:{own}",
                     "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in routes)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise RuntimeError("nats-server did not listen within 10 s")

    def kill(self) -> None:
        """SIGKILL: no goodbye to any client."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    if NATS_SERVER is None:
        pytest.skip(NO_NATS)
    server = NatsServer(tmp_path / "js").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def manual_sim() -> AsyncIterator[Simulator]:
    """The market moves only when the test steps it (the venues' clock only when it advances it)."""
    async with Simulator(seed=13, rate=0, settings=SimSettings(manual_time=True)) as sim:
        yield sim


async def start_hub(sim: Simulator, servers: list[str], *, replicas: int = 1,
                    plan: dict[str, list[str]] | None = None) -> Hub:
    cfg = demo_config(Config(), sim)
    hub = Hub(cfg, plan or PLAN, publisher=NatsPublisher(servers, StreamLimits(replicas=replicas)), depth=DEPTH)
    await hub.start()
    assert hub.publisher is not None
    assert await hub.publisher.wait_ready(20), f"hub not ready: {hub.publisher.detail}"
    return hub


def client(sim: Simulator, servers: str, *, venues: Sequence[str] = ("bitfinex", "bitmex"),
           pairs: Sequence[str] = ("BTC:USD", "ETH:USD")) -> HubSource:
    return HubSource(servers, demo_config(Config(), sim), venues=venues, pairs=pairs)


class Reader:
    """Reads a source in the background (can be paused); bounded waits for what it has read."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.events: list[Any] = []
        self.seqs: dict[int, int] = {}  # index in ``events`` of a hub book → the reader's seq of it then
        self.gate = asyncio.Event()
        self.gate.set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Reader:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gate.set()
        await self.source.stop()
        assert self._task is not None
        await asyncio.wait_for(self._task, 10)

    async def _read(self) -> None:
        books = getattr(self.source, "books", None)
        async for event in self.source:
            if books is not None and isinstance(event, BookUpdate):
                chan = books().get((event.source, event.pair))
                if chan is not None:  # applied in the reader's own step: its seq is this event's
                    self.seqs[len(self.events)] = chan.seq
            self.events.append(event)
            if not self.gate.is_set():
                await self.gate.wait()

    def statuses(self, source: str) -> list[tuple[str, str]]:
        return [(e.state, e.detail) for e in self.events if e.type == "status" and e.source == source]

    def state(self, source: str) -> str:
        found = self.statuses(source)
        return found[-1][0] if found else ""


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = predicate()
                if value:
                    return value
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}") from None


async def move(sim: Simulator, steps: int, *, batch: int = 5) -> None:
    """Move the market ``steps`` steps, a batch at a time, letting the readers run between batches."""
    for _ in range(0, steps, batch):
        sim.step(batch)
        await asyncio.sleep(0.005)


def sim_top(sim: Simulator, venue: str, pair: str, depth: int = DEPTH) -> tuple[list, list]:
    book = sim.market.books[(venue, pair)]
    return book.levels("bid", depth), book.levels("ask", depth)


def top(book: OrderBook, depth: int = DEPTH) -> tuple[list, list]:
    bids, asks = book.top(depth)
    return [(float(p), float(s)) for p, s in bids], [(float(p), float(s)) for p, s in asks]


def converged(sim: Simulator, hub: Hub, *sources: HubSource) -> bool:
    """Every client's book == the hub's book == the simulator's, for every book the hub carries."""
    for (venue, pair), hb in hub.registry.books.items():
        want = sim_top(sim, venue, pair)
        if top(hb.book) != want:
            return False
        for source in sources:
            chan = source.books().get((venue, pair))
            if chan is None:
                continue
            if chan.syncing or chan.seq != hb.seq or top(chan.book) != want:
                return False
    return True


async def settled(sim: Simulator, hub: Hub, *sources: HubSource, timeout: float = 15.0) -> None:
    """Bounded wait until every book agrees (the market is not moving meanwhile)."""
    def why() -> str:
        out = []
        for (venue, pair), hb in hub.registry.books.items():
            for source in sources:
                chan = source.books().get((venue, pair))
                if chan is not None:
                    out.append(f"{venue} {pair}: hub seq {hb.seq}, client seq {chan.seq} syncing {chan.syncing}")
        return "; ".join(out)
    try:
        await until(lambda: converged(sim, hub, *sources), timeout, "books to converge")
    except AssertionError:
        raise AssertionError(f"books did not converge: {why()}") from None
