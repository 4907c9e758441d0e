"""The embedded exchange: one websockets server speaking FinX, Bitfinex, BitMEX and Finazon on one port.

Paths: ``/bitfinex/ws/2``, ``/bitmex/realtime``, ``/finx/{streaming,streamer,backend}/...``,
``/finazon/v1?apikey=...``, and ``/control`` for fault injection. The venue prefix may be left out
(``/ws/2`` is unambiguous), so a client pointed at the bare host:port works too.

A pump task advances the market at ``rate`` book updates a second and hands each batch of changes to the
subscribed connections; a timer task drives heartbeats, bars and idle limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import math
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from finxtui.sim.bars import BarBuilder
from finxtui.sim.conn import SimConnection
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.faults import Faults
from finxtui.sim.market import EquityPrint, LevelChange, Market, MarketEvent, SimTick, SimTrade
from finxtui.sim.window import Window

log = logging.getLogger("finxtui.sim")

SOURCES = ("bitfinex", "bitmex", "finx", "finazon")
TIMER_INTERVAL = 0.1


def route(path: str) -> str | None:
    """Which protocol serves a request path (with or without the venue prefix)."""
    parts = path.split("?", 1)[0]
    for source in SOURCES:
        prefix = "/" + source
        if parts == prefix or parts.startswith(prefix + "/"):
            rest = parts[len(prefix):] or "/"
            return source if _route_bare(rest) == source else None
    if parts in ("/control", "/control/"):
        return "control"
    return _route_bare(parts)


def _route_bare(rest: str) -> str | None:
    if rest in ("/ws/2", "/ws/2/"):
        return "bitfinex"
    if rest in ("/realtime", "/realtime/"):
        return "bitmex"
    if rest in ("/v1", "/v1/"):
        return "finazon"
    if rest.startswith(("/streaming/", "/streamer/")) or rest == "/backend" or rest.startswith("/backend/"):
        return "finx"
    return None


class Simulator:
    """Run with ``async with Simulator(seed=1) as sim:`` and point clients at ``sim.base_url("bitfinex")``.

    ``rate`` is total book updates a second (None: the default, about 50 a pair; 0: paused, step by hand
    with :meth:`step`; ``math.inf``: as fast as the clients read, for benchmarks).
    """

    def __init__(self, *, seed: int = 7, rate: float | None = None, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.time, credentials: SimCredentials | None = None,
                 max_buffer: int = 16 * 1024 * 1024, warmup: int = 0, market: Market | None = None) -> None:
        self.seed = seed
        self.host = host
        self.port = port
        self.clock = clock
        # A caller may bring its own market (more pairs, other books); by default the seeded standard one.
        self.market = market or Market(seed, rate=rate if rate and math.isfinite(rate) else None, clock=clock)
        self.rate = self.market.rate if rate is None else rate
        self.credentials = credentials or SimCredentials.from_env()
        self.faults = Faults(self)
        self.max_buffer = max_buffer
        self.backpressure = self.rate == math.inf  # max rate: wait for readers instead of dropping them
        self.connections: dict[str, set[SimConnection]] = {s: set() for s in SOURCES}
        self.book_subs: dict[tuple[str, str], dict[int | None, set[SimConnection]]] = defaultdict(dict)
        self.windows: dict[tuple[str, str, int], Window] = {}
        self.trade_subs: dict[tuple[str, str], set[SimConnection]] = defaultdict(set)
        self.tick_subs: dict[str, set[SimConnection]] = defaultdict(set)
        self.print_subs: dict[str, set[SimConnection]] = defaultdict(set)
        self.bars: dict[str, BarBuilder] = {p: BarBuilder() for p in self.market.pairs}
        self.venue_bars: dict[tuple[str, str], BarBuilder] = {k: BarBuilder() for k in self.market.books}
        self.recent_trades: dict[tuple[str, str], deque[SimTrade]] = {k: deque(maxlen=50)
                                                                       for k in self.market.books}
        self._next_id = 10_000 + (seed * 7919) % 200_000
        self.steps_sent = 0
        self.corked: set[SimConnection] | None = None  # during a dispatch: connections with frames to write
        self.client_ops: Counter[tuple[str, str]] = Counter()  # (venue, op) of every client command
        self.refusing = False  # set while a simulated restart keeps the port closed
        self._server: Server | None = None
        self._tasks: list[asyncio.Task] = []
        self._handlers: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        if warmup:
            self.step(warmup)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> Simulator:
        self._loop = asyncio.get_running_loop()
        await self._listen()
        self._tasks = [asyncio.create_task(self._pump(), name="sim-pump"),
                       asyncio.create_task(self._timers(), name="sim-timers")]
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
        if self._server is not None:
            self._server.close(close_connections=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def new_id(self) -> int:
        """A fresh channel or row id, unique within this simulator."""
        self._next_id += 1 + self._next_id % 7
        return self._next_id

    def loop_time(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def base_url(self, source: str) -> str:
        """The base URL a client for ``source`` is given (it appends the protocol path itself)."""
        return f"{self.url}/{source}"

    @property
    def urls(self) -> dict[str, str]:
        return {s: self.base_url(s) for s in SOURCES}

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

    # -- the market pump ------------------------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self.backpressure = rate == math.inf
        if rate and math.isfinite(rate):
            self.market.set_rate(rate)

    def step(self, n: int = 1) -> list[MarketEvent]:
        """Advance the market ``n`` steps and publish them (for paused simulators and tests)."""
        events = self.market.steps_n(n)
        self.dispatch(events)
        return events

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        done = 0.0
        last = loop.time()
        while True:
            rate = self.rate
            if rate == math.inf:
                self.dispatch(self.market.steps_n(64))
                await asyncio.sleep(0)
                if self._max_backlog() > 1 << 20:
                    # Polling is right here: the transport has no "drained below N" event.
                    while self._max_backlog() > 1 << 18:  # noqa: ASYNC110
                        await asyncio.sleep(0.0005)
                continue
            await asyncio.sleep(0.01)
            now = loop.time()
            if not rate:
                last = now
                continue
            done += (now - last) * rate
            last = now
            n = int(done)
            if n <= 0:
                continue
            # After a stall of the loop, do not burst more than a quarter second of steps.
            n = min(n, max(1, int(rate * 0.25)))
            done -= int(done)
            self.dispatch(self.market.steps_n(n))

    def _max_backlog(self) -> int:
        most = 0
        for conns in self.connections.values():
            for conn in conns:
                transport = conn.ws.transport
                if transport is not None:
                    most = max(most, transport.get_write_buffer_size())
        return most

    def dispatch(self, events: list[MarketEvent]) -> None:
        """Publish one batch of market events to every subscriber (each socket gets one write)."""
        self.corked = corked = set()
        try:
            self._dispatch(events)
        finally:
            self.corked = None
            for conn in corked:
                if not conn.closed:
                    conn.flush()

    def _dispatch(self, events: list[MarketEvent]) -> None:
        self.steps_sent += 1
        changes: dict[tuple[str, str], list[LevelChange]] = {}
        for ev in events:
            if type(ev) is LevelChange:
                changes.setdefault((ev.venue, ev.pair), []).append(ev)
            elif type(ev) is SimTrade:
                key = (ev.venue, ev.pair)
                self.venue_bars[key].add(ev.price, ev.size, ev.ts)
                self.recent_trades[key].append(ev)
                for conn in tuple(self.trade_subs.get(key, ())):
                    conn.on_trade(ev)
            elif type(ev) is SimTick:
                for conn in tuple(self.tick_subs.get(ev.pair, ())):
                    conn.on_tick(ev)
            elif type(ev) is EquityPrint:
                self.bars[ev.pair].add(ev.price, ev.size, ev.ts)
                for conn in tuple(self.print_subs.get(ev.pair, ())):
                    conn.on_print(ev)
        for key, chs in changes.items():
            subs = self.book_subs.get(key)
            if not subs:
                continue
            for depth, conns in list(subs.items()):
                if not conns:
                    continue
                if depth is None:
                    out = [(c.side, c.idx, c.steps) for c in chs]
                else:
                    out = self.windows[(key[0], key[1], depth)].apply(chs)
                if out:
                    for conn in tuple(conns):
                        conn.on_book(key, depth, out)

    async def _timers(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TIMER_INTERVAL)
            now = loop.time()
            wall = self.clock()
            for builder in self.bars.values():
                builder.roll(wall)
            for conns in self.connections.values():
                for conn in tuple(conns):
                    if conn.closed:
                        continue
                    try:
                        conn.on_timer(now)
                    except ConnectionClosed:
                        pass
                    except Exception:
                        log.exception("%s timer failed", conn.venue)
            self.faults.tick(now)

    # -- subscriptions --------------------------------------------------------------------------------

    def subscribe_book(self, conn: SimConnection, venue: str, pair: str, depth: int | None) -> Window | None:
        """Register for a book's changes; returns the shared window (None for the full book)."""
        key = (venue, pair)
        subs = self.book_subs[key]
        window = None
        if depth is not None:
            wkey = (venue, pair, depth)
            window = self.windows.get(wkey)
            if window is None or not subs.get(depth):
                window = self.windows[wkey] = Window(self.market.books[key], depth)
        subs.setdefault(depth, set()).add(conn)
        return window

    def unsubscribe_book(self, conn: SimConnection, venue: str, pair: str, depth: int | None) -> None:
        subs = self.book_subs.get((venue, pair))
        if subs and depth in subs:
            subs[depth].discard(conn)
            if not subs[depth]:
                del subs[depth]
                if depth is not None:
                    self.windows.pop((venue, pair, depth), None)

    def unsubscribe_all(self, conn: SimConnection) -> None:
        for (venue, pair), subs in list(self.book_subs.items()):
            for depth in list(subs):
                if conn in subs[depth]:
                    self.unsubscribe_book(conn, venue, pair, depth)
        for table in (self.trade_subs, self.tick_subs, self.print_subs):
            for conns in table.values():
                conns.discard(conn)
        for conns in self.connections.values():
            conns.discard(conn)

    # -- the websocket front door ---------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        source = route(request.path)
        if source is None:
            return _http_error(http.HTTPStatus.NOT_FOUND, f"no simulated endpoint at {request.path}\n")
        if self.refusing:
            return _http_error(http.HTTPStatus.SERVICE_UNAVAILABLE, "restarting\n")
        if source == "finazon":
            query = dict(parse_qsl(urlsplit(request.path).query))
            if query.get("apikey") != self.credentials.finazon_key and not self.faults.finazon_soft_auth:
                return _http_error(http.HTTPStatus.UNAUTHORIZED, '{"status":"error","message":"Invalid API key"}')
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        source = route(path)
        query = dict(parse_qsl(urlsplit(path).query))
        if source == "control":
            await self._control(ws)
            return
        cls = _protocols()[source]
        conn = cls(self, ws, path, query)
        self.connections[source].add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await conn.run()
        except Exception:
            log.exception("%s connection failed", source)
        finally:
            self.unsubscribe_all(conn)
            if task is not None:
                self._handlers.discard(task)

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


def _protocols() -> dict[str, type[SimConnection]]:
    from finxtui.sim.bitfinex import BitfinexConnection
    from finxtui.sim.bitmex import BitmexConnection
    from finxtui.sim.finazon import FinazonConnection
    from finxtui.sim.finx import FinxConnection

    return {"bitfinex": BitfinexConnection, "bitmex": BitmexConnection, "finx": FinxConnection,
            "finazon": FinazonConnection}
