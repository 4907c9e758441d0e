"""FinX tick plant, as ``wss://ws.finx.io`` speaks it (``reference/finx-finazon-protocols.md`` part A; the
choices for what FinX never documented follow that file's section C).

Every path works with or without the ``/finx`` prefix:

- ``/streaming/{APIKey}/{pair}`` and ``/streamer/{APIKey}/{pair}`` (the SDK ``Streamer``'s form): a stream of
  one pair's ticks, ``{"results":"streaming","resultData":{"pair","date","time","exchange","price"}}`` with
  the price a string, pushed on every simulated tick. Several pairs take several sockets, as on FinX. A bad key
  gets ``{"isAuth": false}`` and close 1008; an unknown pair ``{"error": "unknown pair: X"}`` and close 1008.
  A client frame with a ``"message"`` key (the SDK ``Streamer``'s poll) is answered with the pair's latest tick.
- ``/backend/?functionName=…&APIKey=…&pair=…&date=…&time=…``: the function in the query string is answered
  with exactly one frame on connect (no ``functionName``: ``authenticate`` when only the key is given,
  ``tickSnap`` when a pair is; a path ending ``/snap`` or ``/history`` names the function too). The socket then
  stays open for JSON functions.
- ``/streamer/{APIKey}``, ``/streaming/{APIKey}``: JSON functions, as the SDK's ``TickPlant`` sends them.

JSON functions (``{"APIKey": "K", "functionName": "…", …}``, one reply each, in order): ``authenticate``
(``{"isAuth": true}``), ``keepAlive`` (``{"keepAlive": true}``), ``tickSnap`` (one row: the latest tick at or
before ``date``+``time``, or the latest now; ``{}`` for an unknown pair), ``tickHistory`` (``{"0": row, …}``: at
most 1000 rows of one UTC day strictly after ``time``, the earliest such, shuffled; ``{}`` for an unknown pair
or an empty day), ``getSpotRates`` (the pair's latest tick in the flat form
``{"pair","unixDate","UTCDate","exchange","price"}``, then every tick of the pair in that form),
``listDeribitContracts`` (an array of instrument names). A message without ``APIKey`` uses the key of the URL
(or of the query string); a bad key on any function gets ``{"isAuth": false}`` and close 1008. An unknown
function gets ``{"error": "unknown functionName: X"}``, a frame that is not a JSON object
``{"error": "malformed request: …"}``; both leave the socket open.

Idle limit: a socket closes (1001, "idle timeout") after ``SimSettings.finx_idle_limit`` seconds (FinX's 300)
without a client frame. Pushed ticks do not count, so a stream that wants to live longer
than five minutes sends ``keepAlive``, as FinX's docs ask.

Ticks are recorded into the venue's tick history (:mod:`.venue`, :mod:`.history`), which serves ``tickSnap``
and ``tickHistory``: synthetic before the simulator opened, the live market's ticks after. A malformed ``date``
or ``time`` gets ``{"error": "invalid date: …"}`` / ``"invalid time: …"`` (the simulator's wording).
"""

from __future__ import annotations

import hmac
from collections.abc import Coroutine, Mapping
from datetime import date
from typing import Any, ClassVar
from urllib.parse import unquote

import orjson
from websockets.asyncio.server import ServerConnection

from finxtui.sim.core.connection import SimConnection
from finxtui.sim.finx.deribit import deribit_contracts
from finxtui.sim.finx.history import Tick, epoch_ms, tick_row
from finxtui.sim.finx.venue import FinxVenue
from finxtui.sim.market import SimTick
from finxtui.wire import finx as fx

MISSING_PAIR = {"error": 'missing "pair" parameter'}  # the SDK's own wording
PATH_FUNCTIONS = {"snap": fx.TICK_SNAP, "history": fx.TICK_HISTORY, "authenticate": fx.AUTHENTICATE}


def parse_date(text: Any) -> date:
    """A request's ``date``; ValueError in the simulator's words (``invalid date: …``) otherwise."""
    try:
        return fx.parse_day(text)
    except ValueError:
        raise ValueError(f"invalid date: {text!r} (expected YYYY-MM-DD)") from None


def parse_time(text: Any) -> int:
    """A request's ``time`` as milliseconds into the day; ValueError (``invalid time: …``) otherwise."""
    try:
        return fx.parse_clock(text)
    except ValueError:
        raise ValueError(f"invalid time: {text!r} (expected HH:MM[:SS[.mmm]][Z])") from None


def spot_rate(pair: str, tick: Tick) -> dict[str, Any]:
    """A tick in ``getSpotRates``' flat form: ``unixDate`` whole seconds, ``UTCDate`` ISO 8601 with ms."""
    return {"pair": pair, "unixDate": tick.ms // 1000,
            "UTCDate": f"{fx.row_date(tick.ms)}T{fx.row_time(tick.ms)}", "exchange": tick.exchange,
            "price": tick.price}


def _split_path(path: str) -> tuple[str, str | None, str | None]:
    """``(kind, key, pair)`` from a request path: kind is ``stream`` (a pair in the path), ``functions``
    (``/streamer/{key}``) or ``backend``; key and pair as written in the path (not decoded)."""
    bare = path.split("?", 1)[0]
    if bare == "/finx" or bare.startswith("/finx/"):
        bare = bare[len("/finx"):]
    parts = bare.strip("/").split("/")
    if parts[0] == fx.BACKEND.strip("/"):
        return "backend", None, None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    pair = "/".join(parts[2:]) if len(parts) > 2 and parts[2] else None
    return ("stream" if pair else "functions"), key, pair


class FinxConnection(SimConnection):
    venue: ClassVar[str] = "finx"

    def __init__(self, venue: FinxVenue, ws: ServerConnection, path: str, query: Mapping[str, str]) -> None:
        super().__init__(venue.ctx, ws, path, query)
        self.finx = venue
        self.history = venue.history
        self.kind, raw_key, self.raw_pair = _split_path(self.path)
        if self.kind == "backend":
            self.key = self.query.get("APIKey")
        else:
            self.key = unquote(raw_key) if raw_key is not None else None
        self.stream_pair: str | None = None  # the pair of a path-pair stream
        self.spot_pairs: set[str] = set()  # pairs pushed in the flat getSpotRates form
        self.closing = False
        self._functions = {
            fx.AUTHENTICATE: self._authenticate,
            fx.KEEP_ALIVE: self._keep_alive,
            fx.TICK_SNAP: self._tick_snap,
            fx.TICK_HISTORY: self._tick_history,
            fx.GET_SPOT_RATES: self._get_spot_rates,
            fx.LIST_DERIBIT_CONTRACTS: self._list_deribit_contracts,
        }

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        if self.kind == "backend":
            await self._open_backend()
            return
        if (self.key is not None or self.kind == "stream") and not self._key_ok(self.key):
            await self._reject()
            return
        if self.kind == "stream":
            assert self.raw_pair is not None
            pair = self.finx.resolve_pair(self.raw_pair)
            if pair is None:
                self.send_json({"error": f"unknown pair: {unquote(self.raw_pair)}"})
                await self._close(fx.CLOSE_POLICY, "unknown pair")
                return
            self.stream_pair = pair
            self.ctx.subscribe_ticks(self, pair)

    async def _open_backend(self) -> None:
        query = self.query
        name: str | None = query.get("functionName")
        if name is None:
            last = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            name = PATH_FUNCTIONS.get(last)
        if name is None:
            if "pair" in query:
                name = fx.TICK_SNAP
            elif "APIKey" in query:
                name = fx.AUTHENTICATE
            else:
                return  # a bare /backend/: the functions come as JSON messages
        await self._call(dict(query, functionName=name))

    async def on_message(self, message: str | bytes) -> None:
        if self.closing:
            return
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            self.send_json({"error": f"malformed request: {exc}"})
            return
        if not isinstance(req, dict):
            self.send_json({"error": "malformed request: expected a JSON object"})
        elif "functionName" in req:
            await self._call(req)
        elif "message" in req:
            await self._streamer_poll(req)
        else:
            self.send_json({"error": "malformed request: no functionName"})

    def on_tick(self, tick: SimTick) -> None:
        if tick.pair == self.stream_pair:
            self.send_json({"results": fx.STREAMING_RESULT,
                            fx.RESULT_DATA: tick_row(tick.pair, epoch_ms(tick.ts), tick.exchange, tick.price_text)})
        if tick.pair in self.spot_pairs:
            self.send_json(spot_rate(tick.pair, Tick(epoch_ms(tick.ts), tick.exchange, tick.price_text)))

    def inject(self, fault: str, **params: Any) -> bool:
        """``stall`` with a pair silences this socket if it streams that pair (FinX: one pair a socket)."""
        pair = params.get("pair")
        if fault == "stall" and pair is not None and (pair == self.stream_pair or pair in self.spot_pairs):
            self.stall(float(params.get("seconds", 5.0)))
            return True
        return False

    def on_timer(self, now: float) -> None:
        if not self.closing and now - self.last_client_frame > self.ctx.settings.finx_idle_limit:
            self._spawn(self._close(fx.CLOSE_IDLE, "idle timeout"))

    # -- functions ------------------------------------------------------------------------------------

    async def _call(self, req: dict[str, Any]) -> None:
        """Run one function request and send its one reply."""
        if not self._key_ok(req.get("APIKey", self.key)):
            await self._reject()
            return
        name = req.get("functionName")
        handler = self._functions.get(name) if isinstance(name, str) else None
        if handler is None:
            self.send_json({"error": f"unknown functionName: {name}"})
            return
        self.send_json(handler(req))

    def _authenticate(self, req: dict[str, Any]) -> Any:
        return {fx.IS_AUTH: True}

    def _keep_alive(self, req: dict[str, Any]) -> Any:
        return {"keepAlive": True}

    def _tick_snap(self, req: dict[str, Any]) -> Any:
        symbol = req.get("pair")
        if not isinstance(symbol, str) or not symbol:
            return MISSING_PAIR
        try:
            at_ms = self._instant(req.get("date"), req.get("time"))
        except ValueError as exc:
            return {"error": str(exc)}
        pair = self.finx.resolve_pair(symbol)
        tick = self.history.latest(pair, at_ms) if pair is not None else None
        return tick.row(pair) if tick is not None and pair is not None else {}

    def _tick_history(self, req: dict[str, Any]) -> Any:
        symbol = req.get("pair")
        if not isinstance(symbol, str) or not symbol:
            return MISSING_PAIR
        try:
            day = parse_date(req["date"]) if req.get("date") else self.history.today()
            after = parse_time(req["time"]) if req.get("time") else None
        except ValueError as exc:
            return {"error": str(exc)}
        pair = self.finx.resolve_pair(symbol)
        return self.history.page(pair, day, after) if pair is not None else {}

    def _get_spot_rates(self, req: dict[str, Any]) -> Any:
        symbol = req.get("pair")
        if not isinstance(symbol, str) or not symbol:
            return MISSING_PAIR
        pair = self.finx.resolve_pair(symbol)
        if pair is None:
            return {"error": f"unknown pair: {symbol}"}
        self.spot_pairs.add(pair)
        self.ctx.subscribe_ticks(self, pair)
        tick = self.history.latest(pair)
        return spot_rate(pair, tick) if tick is not None else {}

    def _list_deribit_contracts(self, req: dict[str, Any]) -> Any:
        return deribit_contracts(self.ctx.clock(), self.ctx.market.fair)

    async def _streamer_poll(self, req: dict[str, Any]) -> None:
        """The SDK ``Streamer``'s ``{"message": …, "APIKey": K}``: one frame, the pair's latest tick."""
        if not self._key_ok(req.get("APIKey", self.key)):
            await self._reject()
            return
        message = req["message"]
        symbol = message.get("pair") if isinstance(message, dict) else None
        if isinstance(symbol, str) and symbol:
            pair = self.finx.resolve_pair(symbol)
        elif self.stream_pair is not None:
            pair, symbol = self.stream_pair, self.stream_pair
        else:
            self.send_json(MISSING_PAIR)
            return
        tick = self.history.latest(pair) if pair is not None else None
        if tick is None or pair is None:
            self.send_json({"error": f"unknown pair: {symbol}"})
        else:
            self.send_json({"results": fx.STREAMING_RESULT, fx.RESULT_DATA: tick.row(pair)})

    # -- helpers --------------------------------------------------------------------------------------

    def _key_ok(self, key: object) -> bool:
        return isinstance(key, str) and hmac.compare_digest(key.encode(), self.ctx.credentials.finx_key.encode())

    def _instant(self, day_text: Any, time_text: Any) -> int | None:
        """A snap's instant in epoch ms (None: now). A time alone is today's; a date alone is its 00:00."""
        if not day_text and not time_text:
            return None
        day = parse_date(day_text) if day_text else self.history.today()
        return fx.day_start_ms(day) + (parse_time(time_text) if time_text else 0)

    async def _reject(self) -> None:
        self.send_json({fx.IS_AUTH: False})
        await self._close(fx.CLOSE_POLICY, "invalid APIKey")

    async def _close(self, code: int, reason: str) -> None:
        self.closing = True
        await self.close(code, reason)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.closing = True
        self.ctx.spawn(coro)

