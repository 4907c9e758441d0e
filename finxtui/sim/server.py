"""The embedded exchange: one websockets server speaking FinX, Bitfinex, BitMEX and Finazon on one port.

Paths: ``/bitfinex/ws/2``, ``/bitmex/realtime``, ``/finx/{streaming,streamer,backend}/...``,
``/finazon/v1?apikey=...``, and ``/control`` for fault injection. The venue prefix may be left out
(``/ws/2`` is unambiguous), so a client pointed at the bare host:port works too. The protocol paths are the
wire facts of :mod:`finxtui.wire`.

:class:`Simulator` puts the pieces together once, at construction: the market, the core (venue clock, pump,
dispatcher, subscriptions, outbox, faults) and one venue object per protocol, each given its own narrow
:class:`~finxtui.sim.core.context.VenueContext`. It then serves sockets: each request is routed to its venue,
which may refuse the handshake, and gets a connection of that venue. The pump advances the market at ``rate``
steps a second and runs the timers; with ``SimSettings(manual_time=True)`` nothing runs by itself and
:meth:`Simulator.advance` moves the venues' clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from finxtui.sim.bitfinex import BitfinexConnection, BitfinexVenue
from finxtui.sim.bitmex import BitmexConnection, BitmexVenue
from finxtui.sim.core.clock import VenueClock
from finxtui.sim.core.connection import SimConnection
from finxtui.sim.core.context import Ids, VenueContext
from finxtui.sim.core.dispatch import Dispatcher
from finxtui.sim.core.faults import Faults
from finxtui.sim.core.outbox import Outbox
from finxtui.sim.core.pump import Pump
from finxtui.sim.core.subscriptions import (
    Subscriptions,
)
from finxtui.sim.core.tasks import Spawner
from finxtui.sim.core.venue import Venue
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.finazon import FinazonConnection, FinazonVenue
from finxtui.sim.finx import FinxConnection, FinxVenue
from finxtui.sim.market import Market, MarketEvent
from finxtui.sim.settings import SimSettings
from finxtui.wire import bitfinex, bitmex, finazon, finx
from finxtui.wire.venues import SOURCES

log = logging.getLogger("finxtui.sim")

CONTROL = "/control"
STOP_GRACE = 1.0  # seconds clients get to answer our close frame when the simulator stops
Opener = Callable[[ServerConnection, str, dict[str, str]], SimConnection]


def route(path: str) -> str | None:
    """Which protocol serves a request path (with or without the venue prefix), ``control``, or None."""
    bare = path.split("?", 1)[0]
    for source in SOURCES:
        prefix = "/" + source
        if bare == prefix or bare.startswith(prefix + "/"):
            rest = bare[len(prefix):] or "/"
            return source if _route_bare(rest) == source else None
    if bare in (CONTROL, CONTROL + "/"):
        return "control"
    return _route_bare(bare)


def _route_bare(rest: str) -> str | None:
    if rest.rstrip("/") == bitfinex.PATH:
        return "bitfinex"
    if rest.rstrip("/") == bitmex.PATH:
        return "bitmex"
    if rest.rstrip("/") == finazon.PATH:
        return "finazon"
    if rest.startswith((finx.STREAMING, finx.STREAMER, finx.BACKEND)) or rest == finx.BACKEND.rstrip("/"):
        return "finx"
    return None


class Simulator:
    """Run with ``async with Simulator(seed=1) as sim:`` and point clients at ``sim.base_url("bitfinex")``.

    ``rate`` is total book updates a second (None: the default, about 50 a pair; 0: paused, step by hand
    with :meth:`step`; ``math.inf``: as fast as the clients read, for benchmarks). ``settings`` holds the
    venues' periods and limits (:class:`~finxtui.sim.settings.SimSettings`). ``warmup`` steps the market
    before the venues open (FinX's tick history is anchored after it).
    """

    def __init__(self, *, seed: int = 7, rate: float | None = None, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.time, credentials: SimCredentials | None = None,
                 max_buffer: int = 16 * 1024 * 1024, warmup: int = 0, market: Market | None = None,
                 settings: SimSettings | None = None) -> None:
        self.seed = seed
        self.host = host
        self.port = port
        self.clock = clock
        self.settings = settings if settings is not None else SimSettings()
        # A caller may bring its own market (more pairs, other books); by default the seeded standard one.
        self.market = market or Market(seed, rate=rate if rate and math.isfinite(rate) else None, clock=clock)
        self.credentials = credentials or SimCredentials.from_env()
        self.client_ops: Counter[tuple[str, str]] = Counter()  # (venue, op) of every client command
        self.refusing = False  # set while a simulated restart keeps the port closed
        # The core.
        pace = self.market.rate if rate is None else rate
        self.venue_clock = VenueClock(manual=self.settings.manual_time)
        self.tasks = Spawner()
        self.outbox = Outbox(max_buffer, backpressure=pace == math.inf)
        self.subscriptions = Subscriptions(self.market.books)
        self.dispatcher = Dispatcher(self.subscriptions, self.outbox)
        self.pump = Pump(self.market, self.dispatcher, self.venue_clock, pace, self._on_timer, self._max_backlog,
                         lambda: self.settings.market_slice)
        self.faults = Faults(self, seed=seed, spawner=self.tasks)
        self._ids = Ids(seed)
        # The venues: made once, here. FinX comes after the warm-up, so its history is anchored at the market
        # as the clients will first see it (the others remember the warm-up's trades and bars).
        self.bitfinex = BitfinexVenue(self._context(BitfinexVenue.tag))
        self.bitmex = BitmexVenue(self._context(BitmexVenue.tag))
        self.finazon = FinazonVenue(self._context(FinazonVenue.tag))
        if warmup:
            self.step(warmup)
        self.finx = FinxVenue(self._context(FinxVenue.tag))
        made: dict[str, Venue] = {v.tag: v for v in (self.bitfinex, self.bitmex, self.finx, self.finazon)}
        self.venues: dict[str, Venue] = {tag: made[tag] for tag in SOURCES}
        #: open connections per venue (``len(sim.connections["bitfinex"])``)
        self.connections: dict[str, set[SimConnection]] = {tag: v.connections for tag, v in self.venues.items()}
        self._openers: dict[str, Opener] = {
            "bitfinex": partial(BitfinexConnection, self.bitfinex), "bitmex": partial(BitmexConnection, self.bitmex),
            "finx": partial(FinxConnection, self.finx), "finazon": partial(FinazonConnection, self.finazon)}
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _context(self, tag: str) -> VenueContext:
        return VenueContext(tag, seed=self.seed, market=self.market, wall_clock=self.clock,
                            venue_clock=self.venue_clock, ids=self._ids, subscriptions=self.subscriptions,
                            outbox=self.outbox, faults=self.faults, credentials=self.credentials,
                            settings=self.settings, spawner=self.tasks, client_ops=self.client_ops)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> Simulator:
        self.venue_clock.bind(asyncio.get_running_loop())
        await self._listen()
        if not self.settings.manual_time:
            self._tasks = [asyncio.create_task(self.pump.run_market(), name="sim-pump"),
                             asyncio.create_task(self.pump.run_timers(), name="sim-timers")]
        return self

    async def _listen(self) -> None:
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                   compression=None, max_size=2**20, ping_interval=None,
                                   logger=logging.getLogger("finxtui.sim.ws"))
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.tasks.cancel_all()
        if self._server is not None:
            self._server.close(close_connections=True)
            try:
                await asyncio.wait_for(asyncio.shield(self._server.wait_closed()), STOP_GRACE)
            except TimeoutError:
                # A client that has stopped reading never sees our close frame: cut it rather than wait out
                # websockets' close timeout (10 s a connection).
                for conns in self.connections.values():
                    for conn in list(conns):
                        conn.abort()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 5)
            except Exception:  # stopping: nothing left to report it to
                pass
            self._server = None

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def restart(self, downtime: float = 1.0) -> None:
        """Drop every client and refuse connections for ``downtime`` seconds, then listen again."""
        log.info("simulated restart for %.1fs", downtime)
        self.refusing = True
        if self._server is not None:
            self._server.close(close_connections=False)
            for conns in self.connections.values():
                for conn in list(conns):
                    conn.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        await asyncio.sleep(downtime)
        await self._listen()
        self.refusing = False

    # -- addresses ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def base_url(self, source: str) -> str:
        """The base URL a client for ``source`` is given (it appends the protocol path itself)."""
        return f"{self.url}/{source}"

    @property
    def urls(self) -> dict[str, str]:
        return {s: self.base_url(s) for s in SOURCES}

    # -- the market and the clocks --------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return self.pump.rate

    @property
    def steps(self) -> int:
        """Market steps taken so far."""
        return self.market.steps

    @property
    def max_buffer(self) -> int:
        """Unread bytes past which a client is cut off as a slow consumer."""
        return self.outbox.max_buffer

    @max_buffer.setter
    def max_buffer(self, value: int) -> None:
        self.outbox.max_buffer = value

    def set_rate(self, rate: float) -> None:
        self.pump.set_rate(rate)
        self.outbox.backpressure = rate == math.inf  # max rate: wait for readers instead of dropping them

    def step(self, n: int = 1) -> list[MarketEvent]:
        """Advance the market ``n`` steps and publish them (for paused simulators and tests)."""
        return self.pump.step(n)

    def advance(self, seconds: float) -> None:
        """Move the venues' clock ``seconds`` forward and run what falls due: the market's steps at ``rate``,
        heartbeats, bars, the ends of stalls, idle and rate limits (only with ``SimSettings(manual_time=True)``)."""
        self.pump.advance(seconds)

    def loop_time(self) -> float:
        """The venues' clock (the event loop's, or the manual one)."""
        return self.venue_clock.now()

    def _on_timer(self, now: float) -> None:
        for venue in self.venues.values():
            venue.on_timer(now)
        self.faults.tick(now)

    def _max_backlog(self) -> int:
        most = 0
        for conns in self.connections.values():
            for conn in conns:
                transport = conn.ws.transport
                if transport is not None:
                    most = max(most, transport.get_write_buffer_size())
        return most

    # -- the websocket front door ---------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        source = route(request.path)
        if source is None:
            return _http_error(http.HTTPStatus.NOT_FOUND, f"no simulated endpoint at {request.path}\n")
        if self.refusing:
            return _http_error(http.HTTPStatus.SERVICE_UNAVAILABLE, "restarting\n")
        if source in self.venues:
            refusal = self.venues[source].refuse(request.path, dict(parse_qsl(urlsplit(request.path).query)))
            if refusal is not None:
                return _http_error(*refusal)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        source = route(path)
        if source == "control":
            await self._control(ws)
            return
        if source is None:
            return
        venue = self.venues[source]
        conn = self._openers[source](ws, path, dict(parse_qsl(urlsplit(path).query)))
        venue.connections.add(conn)
        try:
            await conn.run()
        except Exception:
            log.exception("%s connection failed", source)
        finally:
            self.subscriptions.unsubscribe_all(conn)
            venue.connections.discard(conn)

    async def _control(self, ws: ServerConnection) -> None:
        """``{"op": "drop", "source": "bitfinex"}`` and friends; one JSON reply per request."""
        async for message in ws:
            try:
                req = orjson.loads(message)
                if not isinstance(req, dict):
                    raise ValueError("a control request is a JSON object")
                reply: dict[str, Any] = {"ok": True, "op": req.get("op")}
                result = await self.faults.control(req)
                if result is not None:
                    reply["result"] = result
            except Exception as exc:  # the control socket reports, never dies
                reply = {"ok": False, "error": str(exc)}
            await ws.send(orjson.dumps(reply).decode())

    def stats(self) -> dict[str, Any]:
        return {"steps": self.market.steps, "rate": self.rate,
                "connections": {s: len(c) for s, c in self.connections.items()},
                "frames_sent": sum(c.frames_sent for cs in self.connections.values() for c in cs)}


def _http_error(status: http.HTTPStatus, body: str) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body.encode())
