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

Idle limit: a socket closes (1001, "idle timeout") after ``idle_limit`` seconds (300, or the simulator's
``finx_idle_limit``) without a client frame. Pushed ticks do not count, so a stream that wants to live longer
than five minutes sends ``keepAlive``, as FinX's docs ask.

Ticks are recorded into the simulator's FinX history (``finxtui.sim.history``), which serves ``tickSnap`` and
``tickHistory``: synthetic before the first FinX client connected, the live market's ticks after.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import orjson

from finxtui.model.pairs import DEFAULT_PAIRS
from finxtui.sim.conn import SimConnection
from finxtui.sim.history import (
    Tick,
    TickHistory,
    day_start_ms,
    epoch_ms,
    format_date,
    format_time,
    parse_date,
    parse_time,
    tick_row,
)

if TYPE_CHECKING:
    from finxtui.sim.market import SimTick
    from finxtui.sim.server import Simulator

IDLE_LIMIT_SECONDS = 300.0
CLOSE_POLICY = 1008  # bad key, unknown stream pair
CLOSE_IDLE = 1001
MISSING_PAIR = {"error": 'missing "pair" parameter'}  # the SDK's own wording
PATH_FUNCTIONS = {"snap": "tickSnap", "history": "tickHistory", "authenticate": "authenticate"}


# -- the simulator's shared FinX state ----------------------------------------------------------------


class _TickRecorder:
    """Sits in ``Simulator.tick_subs`` for every FinX pair and appends each tick to the history, once.

    The simulator has no listener hook of its own; its dispatch only calls ``on_tick`` on what is in
    ``tick_subs``, so this stands in for a connection there (and is never in ``Simulator.connections``).
    """

    closed = False

    def __init__(self, history: TickHistory) -> None:
        self.history = history

    def on_tick(self, tick: SimTick) -> None:
        self.history.record(tick)


def finx_pairs(sim: Simulator) -> list[str]:
    """The pairs FinX serves in this simulator: FinX-named pairs that the market trades."""
    return [p for p in DEFAULT_PAIRS.pairs_on("finx") if p in sim.market.pairs]


def history_for(sim: Simulator) -> TickHistory:
    """The simulator's FinX tick history, made on first use and recording every tick from then on.

    Synthetic history ends at that moment at the market's price then (its open price if it has not moved), so
    the history and the live ticks join up.
    """
    history: TickHistory | None = getattr(sim, "_finx_history", None)
    if history is None:
        pairs = finx_pairs(sim)
        history = TickHistory(sim.seed, {p: sim.market.pairs[p] for p in pairs}, anchor_ts=sim.clock(),
                              anchor_prices={p: sim.market.fair[p] for p in pairs}, clock=sim.clock)
        sim._finx_history = history  # type: ignore[attr-defined]
        recorder = cast(SimConnection, _TickRecorder(history))
        for pair in pairs:
            sim.tick_subs[pair].add(recorder)
    return history


def resolve_pair(sim: Simulator, symbol: str) -> str | None:
    """A FinX pair symbol as sent (raw or URL-encoded, any case) to the canonical pair, if FinX serves it."""
    text = unquote(symbol).strip()
    pair = DEFAULT_PAIRS.pair_for("finx", text) or DEFAULT_PAIRS.pair_for("finx", text.upper())
    return pair if pair is not None and pair in history_for(sim) else None


def spot_rate(pair: str, tick: Tick) -> dict[str, Any]:
    """A tick in ``getSpotRates``' flat form: ``unixDate`` whole seconds, ``UTCDate`` ISO 8601 with ms."""
    return {"pair": pair, "unixDate": tick.ms // 1000, "UTCDate": f"{format_date(tick.ms)}T{format_time(tick.ms)}",
            "exchange": tick.exchange, "price": tick.price}


# -- Deribit contract names ---------------------------------------------------------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_OPTION_BOOKS = (("BTC", "BTC:USD", 1000.0), ("ETH", "ETH:USD", 50.0))  # currency, pair, strike step
_PERPETUALS = ("BTC-PERPETUAL", "ETH-PERPETUAL", "SOL-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL",
               "SOL_USDC-PERPETUAL", "XRP_USDC-PERPETUAL")


def _last_friday(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 4) % 7)


def _expiry_code(day: date) -> str:
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def deribit_contracts(now_ts: float, prices: Mapping[str, float]) -> list[str]:
    """Deribit instrument names live at ``now_ts``: dailies, weeklies, monthlies and quarterlies (expiring
    08:00 UTC), futures and strikes around the current prices, then the perpetuals."""
    now = datetime.fromtimestamp(now_ts, UTC)
    first = now.date() + timedelta(days=0 if now.hour < 8 else 1)
    dailies = [first + timedelta(days=i) for i in range(3)]
    fridays = [first + timedelta(days=(4 - first.weekday()) % 7 + 7 * i) for i in range(4)]
    monthlies: list[date] = []
    quarterlies: list[date] = []
    year, month = first.year, first.month
    while len(monthlies) < 3 or len(quarterlies) < 2:
        expiry = _last_friday(year, month)
        if expiry >= first:
            if len(monthlies) < 3:
                monthlies.append(expiry)
            if month % 3 == 0 and len(quarterlies) < 2:
                quarterlies.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    options = set(dailies + fridays + monthlies + quarterlies)
    futures = set(fridays[:2] + monthlies + quarterlies)
    names: list[str] = []
    for currency, pair, step in _OPTION_BOOKS:
        price = prices.get(pair)
        if price is None:
            continue
        atm = round(price / step)
        strikes = [int(k * step) for k in range(atm - 8, atm + 9) if k > 0]
        for expiry in sorted(options | futures):
            code = _expiry_code(expiry)
            if expiry in futures:
                names.append(f"{currency}-{code}")
            if expiry in options:
                for strike in strikes:
                    names += [f"{currency}-{code}-{strike}-C", f"{currency}-{code}-{strike}-P"]
    names.extend(_PERPETUALS)
    return names


# -- the connection -----------------------------------------------------------------------------------


def _split_path(path: str) -> tuple[str, str | None, str | None]:
    """``(kind, key, pair)`` from a request path: kind is ``stream`` (a pair in the path), ``functions``
    (``/streamer/{key}``) or ``backend``; key and pair as written in the path (not decoded)."""
    bare = path.split("?", 1)[0]
    if bare == "/finx" or bare.startswith("/finx/"):
        bare = bare[len("/finx"):]
    parts = bare.strip("/").split("/")
    if parts[0] == "backend":
        return "backend", None, None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    pair = "/".join(parts[2:]) if len(parts) > 2 and parts[2] else None
    return ("stream" if pair else "functions"), key, pair


class FinxConnection(SimConnection):
    venue = "finx"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history = history_for(self.sim)
        self.idle_limit = float(getattr(self.sim, "finx_idle_limit", IDLE_LIMIT_SECONDS))
        self.kind, raw_key, self.raw_pair = _split_path(self.path)
        if self.kind == "backend":
            self.key = self.query.get("APIKey")
        else:
            self.key = unquote(raw_key) if raw_key is not None else None
        self.stream_pair: str | None = None  # the pair of a path-pair stream
        self.spot_pairs: set[str] = set()  # pairs pushed in the flat getSpotRates form
        self.closing = False
        self._tasks: set[asyncio.Task] = set()
        self._functions = {
            "authenticate": self._authenticate,
            "keepAlive": self._keep_alive,
            "tickSnap": self._tick_snap,
            "tickHistory": self._tick_history,
            "getSpotRates": self._get_spot_rates,
            "listDeribitContracts": self._list_deribit_contracts,
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
            pair = resolve_pair(self.sim, self.raw_pair)
            if pair is None:
                self.send_json({"error": f"unknown pair: {unquote(self.raw_pair)}"})
                await self._close(CLOSE_POLICY, "unknown pair")
                return
            self.stream_pair = pair
            self.sim.tick_subs[pair].add(self)

    async def _open_backend(self) -> None:
        query = self.query
        name = query.get("functionName")
        if name is None:
            last = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            name = PATH_FUNCTIONS.get(last)
        if name is None:
            if "pair" in query:
                name = "tickSnap"
            elif "APIKey" in query:
                name = "authenticate"
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
            self.send_json({"results": "streaming",
                            "resultData": tick_row(tick.pair, epoch_ms(tick.ts), tick.exchange, tick.price_text)})
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
        if not self.closing and now - self.last_client_frame > self.idle_limit:
            self._spawn(self._close(CLOSE_IDLE, "idle timeout"))

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
        return {"isAuth": True}

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
        pair = resolve_pair(self.sim, symbol)
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
        pair = resolve_pair(self.sim, symbol)
        return self.history.page(pair, day, after) if pair is not None else {}

    def _get_spot_rates(self, req: dict[str, Any]) -> Any:
        symbol = req.get("pair")
        if not isinstance(symbol, str) or not symbol:
            return MISSING_PAIR
        pair = resolve_pair(self.sim, symbol)
        if pair is None:
            return {"error": f"unknown pair: {symbol}"}
        self.spot_pairs.add(pair)
        self.sim.tick_subs[pair].add(self)
        tick = self.history.latest(pair)
        return spot_rate(pair, tick) if tick is not None else {}

    def _list_deribit_contracts(self, req: dict[str, Any]) -> Any:
        return deribit_contracts(self.sim.clock(), self.sim.market.fair)

    async def _streamer_poll(self, req: dict[str, Any]) -> None:
        """The SDK ``Streamer``'s ``{"message": …, "APIKey": K}``: one frame, the pair's latest tick."""
        if not self._key_ok(req.get("APIKey", self.key)):
            await self._reject()
            return
        message = req["message"]
        symbol = message.get("pair") if isinstance(message, dict) else None
        if isinstance(symbol, str) and symbol:
            pair = resolve_pair(self.sim, symbol)
        elif self.stream_pair is not None:
            pair, symbol = self.stream_pair, self.stream_pair
        else:
            self.send_json(MISSING_PAIR)
            return
        tick = self.history.latest(pair) if pair is not None else None
        if tick is None or pair is None:
            self.send_json({"error": f"unknown pair: {symbol}"})
        else:
            self.send_json({"results": "streaming", "resultData": tick.row(pair)})

    # -- helpers --------------------------------------------------------------------------------------

    def _key_ok(self, key: object) -> bool:
        return isinstance(key, str) and hmac.compare_digest(key.encode(), self.sim.credentials.finx_key.encode())

    def _instant(self, day_text: Any, time_text: Any) -> int | None:
        """A snap's instant in epoch ms (None: now). A time alone is today's; a date alone is its 00:00."""
        if not day_text and not time_text:
            return None
        day = parse_date(day_text) if day_text else self.history.today()
        return day_start_ms(day) + (parse_time(time_text) if time_text else 0)

    async def _reject(self) -> None:
        self.send_json({"isAuth": False})
        await self._close(CLOSE_POLICY, "invalid APIKey")

    async def _close(self, code: int, reason: str) -> None:
        self.closing = True
        await self.close(code, reason)

    def _spawn(self, coro: Any) -> None:
        self.closing = True
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

