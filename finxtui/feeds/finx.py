"""FinX tick plant: streaming ticks for several pairs, and the functions (authenticate, tick snap, tick history).

Facts: ``reference/finx-finazon-protocols.md`` part A; the choices for what FinX never documented follow its
section C.

Streaming (:class:`FinxFeed`). FinX streams one pair per socket, ``{base}/streaming/{APIKey}/{pair}`` (the pair
raw with its colon, as FinX's SDK writes it), so the feed is one :class:`FinxStream` per pair run together by
:class:`~finxtui.feeds.merge.MergedFeed`: one iterator, one aggregated ``finx`` status. Each pushed
``{"results":"streaming","resultData":{"pair","date","time","exchange","price"}}`` becomes a
:class:`~finxtui.model.events.Tick` with ``ts`` in UNIX seconds (UTC date + time, millisecond precision); the
flat ``getSpotRates`` form (``unixDate``/``UTCDate``) is read too. Choices:

- No key: no socket is ever opened; the feed yields one ``error`` status saying to set ``FINX_API_KEY`` and
  ends (a key only arrives with a new configuration, hence a new feed).
- ``{"isAuth": false}``, a close 1008 without a reason we know, or HTTP 401/403 at the handshake: the key was
  refused (FinX keys rotate every 24 h). That stream stops retrying (``error``, ``Feed.error_retry`` seconds, or
  until ``reconnect()``), so a bad key costs one connection per pair, not a retry storm. A 1008 is taken as a
  refusal at any time, not only right after connecting: a key that expires mid-stream ends that way too.
- ``{"error": "unknown pair: X"}`` (then close 1008): that pair is not served; its stream reports ``error`` with
  FinX's text and stops retrying, the other pairs' streams carry on.
- FinX sends no subscription ack: a stream is ``live`` with its first tick.
- Silence: FinX has no heartbeat and its ticks are irregular (0.1–2 s a pair in the simulator, slower for quiet
  pairs on the venue), so a stream is ``stale`` after 30 s without a frame and is reconnected after 90 s. That
  is long enough not to flap on a quiet pair, short enough that a stream the server silently stopped is
  replaced within a minute and a half. (websockets' own pings find a dead TCP connection sooner.)
- FinX closes a socket after 300 s without a client frame (pushed ticks do not count): a stream sends
  ``{"APIKey": K, "functionName": "keepAlive"}`` after ``keepalive_every`` (270) seconds of its own silence.

Functions (:class:`FinxClient`). The first request opens ``{base}/backend/?functionName=…&APIKey=…&…`` (the
query-string form) and reads the one frame FinX pushes on connect; later requests go as JSON messages on the
same socket (``{"pair":…,"date":…,"time":…,"functionName":"tickHistory","APIKey":…}``, as FinX's SDK sends them),
one reply each. A socket FinX has let go (idle limit) is reopened once, transparently. Every wait is bounded
(``timeout`` a reply, ``open_timeout`` to connect) and every failure is a :class:`FinxError` whose message is fit
for the user and never contains the key.

Tick history paging (:func:`page_through`). FinX answers ``tickHistory`` with at most 1000 unsorted rows of one
UTC day after ``time``. To get a whole day the client asks again from the latest time it has seen, until a reply
has fewer than 1000 rows or brings nothing new, de-duplicating on (time, exchange, price) and sorting by time.
It re-asks from **1 ms before** the latest time, not from the latest time itself: several ticks can share the
last millisecond of a page, and the server's "after" is strict, so asking strictly after that millisecond would
skip the ticks of it that did not fit in the page. The overlap comes back as duplicates and is dropped (this
also works if "after" turns out to be inclusive on the real service). Requests carry ``HH:MM:SS.mmm``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

from finxtui.feeds.merge import MergedFeed
from finxtui.feeds.session import MAX_FRAME, Backoff, FatalFeedError, Feed
from finxtui.model.events import ERROR, LIVE, STALE, Tick
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable

log = logging.getLogger("finxtui.feeds.finx")
_QUIET = logging.getLogger("finxtui.feeds.ws")  # websockets logs URLs at debug level; ours carry the key

SOURCE = "finx"
KEY_VAR = "FINX_API_KEY"
PAGE_ROWS = 1000  # rows in a full tickHistory reply
MAX_PAGES = 10_000  # a day of 10 million ticks: past this the server is not paging, it is looping
DAY_MS = 86_400_000
KEEPALIVE_EVERY = 270.0  # FinX's docs: "an interval of 270 seconds will keep the channel open"
CLOSE_POLICY = 1008

NO_KEY = f"no FinX API key: set {KEY_VAR} (or finx_api_key under [credentials] in the config file)"
KEY_REJECTED = f"FinX rejected the API key: set {KEY_VAR} (keys rotate every 24 h)"

# Reasons for rejected frames: fixed texts, so each kind is logged once with a sample.
_NOT_JSON = "not JSON"
_NOT_OBJECT = "not a JSON object"
_UNKNOWN_FRAME = "neither a tick nor a status frame"
_BAD_TICK = "tick with a bad field"
_OTHER_PAIR = "tick for another pair"

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?")


# -- time and rows ----------------------------------------------------------------------------------------


def parse_day(text: str) -> date:
    """A UTC day written ``YYYY-MM-DD`` (nothing else); ValueError otherwise."""
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: expected YYYY-MM-DD") from None


def parse_clock(text: str) -> int:
    """A time of day ``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.mmm`` (optional ``Z``) as milliseconds into the day.

    Digits past the millisecond are dropped. ValueError otherwise.
    """
    match = _CLOCK_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: expected HH:MM[:SS[.mmm]]")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a time of day: expected HH:MM[:SS[.mmm]]")
    millis = int((match[4] or "0")[:3].ljust(3, "0"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def format_clock(ms: int) -> str:
    """Milliseconds into a day as ``HH:MM:SS.mmm`` (how this client writes a request's ``time``)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


@lru_cache(maxsize=64)
def _day_start_ms(text: str) -> int:
    return (parse_day(text).toordinal() - _EPOCH_ORDINAL) * DAY_MS


def day_start_ms(day: date) -> int:
    """Epoch milliseconds of a UTC day's first instant."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS


def row_ms(date_text: str, time_text: str) -> int:
    """Epoch milliseconds of a FinX row's ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM:SS.mmmZ``), UTC."""
    return _day_start_ms(date_text) + parse_clock(time_text)


def _price(value: Any) -> float:
    if type(value) is str or type(value) is int or type(value) is float:
        price = float(value)
        if math.isfinite(price) and price > 0:
            return price
    raise ValueError(f"bad price {value!r}")


def parse_row(row: Any) -> tuple[int, str, float]:
    """``(epoch ms, exchange, price)`` of a FinX tick row; ValueError if it is not one.

    Reads the row form (``date`` + ``time``, as in streams, snaps and history) and the flat ``getSpotRates``
    form (``UTCDate`` ISO 8601, else ``unixDate`` in seconds). Prices come as strings (``"21865.010000000002"``);
    numbers are accepted too.
    """
    if type(row) is not dict:
        raise ValueError("a tick row is a JSON object")
    exchange = row.get("exchange")
    if type(exchange) is not str or not exchange:
        raise ValueError(f"bad exchange {exchange!r}")
    day, clock = row.get("date"), row.get("time")
    if type(day) is str and type(clock) is str:
        ms = row_ms(day, clock)
    elif type(row.get("UTCDate")) is str and "T" in row["UTCDate"]:
        day, clock = row["UTCDate"].split("T", 1)
        ms = row_ms(day, clock)
    elif type(row.get("unixDate")) in (int, float):
        ms = round(row["unixDate"] * 1000)
    else:
        raise ValueError("a tick row without date and time")
    return ms, exchange, _price(row.get("price"))


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One tick of FinX history. ``ms`` is the epoch millisecond; ``pair`` canonical."""

    pair: str
    ms: int
    exchange: str
    price: float

    @property
    def ts(self) -> float:
        return self.ms / 1000

    @property
    def key(self) -> tuple[int, str, float]:
        """What makes a row unique (FinX rows have no id): time, exchange and price."""
        return self.ms, self.exchange, self.price

    @property
    def date_text(self) -> str:
        return date.fromordinal(_EPOCH_ORDINAL + self.ms // DAY_MS).isoformat()

    @property
    def time_text(self) -> str:
        """``HH:MM:SS.mmmZ``, as FinX writes a row's time."""
        return format_clock(self.ms % DAY_MS) + "Z"

    def tick(self) -> Tick:
        return Tick(SOURCE, self.pair, self.price, self.exchange, self.ts)

    def to_dict(self) -> dict[str, Any]:
        """The ``tail`` tick line plus FinX's own ``date`` and ``time``."""
        return {"type": "tick", "source": SOURCE, "pair": self.pair, "price": self.price,
                "exchange": self.exchange, "ts": self.ts, "date": self.date_text, "time": self.time_text}


def _order(row: HistoryRow) -> tuple[int, str, float]:
    return row.key


class HistoryPage(NamedTuple):
    """One ``tickHistory`` reply: the rows that parsed, and how many rows the reply held (``size``)."""

    rows: list[HistoryRow]
    size: int


# -- errors -----------------------------------------------------------------------------------------------


class FinxError(Exception):
    """A FinX request failed. The message says what to fix and never contains the key."""


class FinxAuthError(FinxError):
    """No key, or FinX refused it."""


# -- streaming --------------------------------------------------------------------------------------------


class FinxStream(Feed):
    """One pair's tick stream on its own socket (FinX's ``/streaming/{APIKey}/{pair}``).

    Meant to run inside :class:`FinxFeed`, which turns the streams' statuses into one ``finx`` status: a stream's
    own ``source`` names its pair (``"finx BTC:USD"``) so its log lines and statuses say which socket they are
    about. Its ticks carry ``source="finx"``.
    """

    source = SOURCE
    stale_after = 30.0  # see the module docstring: FinX ticks are irregular and it has no heartbeat
    dead_after = 90.0
    #: seconds of client silence after which a keepAlive goes out (FinX closes after 300 s)
    keepalive_every = KEEPALIVE_EVERY

    def __init__(self, base_url: str, pair: str, symbol: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = f"{SOURCE} {pair}"
        self.base_url = base_url.rstrip("/")
        self.pair = pair
        self.symbol = symbol
        self.api_key = api_key
        #: sockets opened (handshakes that succeeded), ticks emitted, keepAlives sent and answered
        self.connects = 0
        self.ticks = 0
        self.keepalives_sent = 0
        self.keepalive_acks = 0
        self._conn: ClientConnection | None = None
        self._got_tick = False
        self._refused = False
        self._server_error: str | None = None
        self._last_tx = 0.0

    def url(self) -> str:
        return f"{self.base_url}/streaming/{quote(self.api_key, safe='')}/{quote(self.symbol, safe=':')}"

    def display_url(self) -> str:
        return f"{self.base_url}/streaming/***/{quote(self.symbol, safe=':')}"

    def credential_hint(self) -> str:
        return KEY_VAR

    # -- connection -------------------------------------------------------------------------------------

    async def on_connected(self, ws: ClientConnection) -> None:
        # Nothing to send: the pair is in the URL, and FinX pushes without an ack.
        self.connects += 1
        self._conn = ws
        self._got_tick = False
        self._refused = False
        self._server_error = None
        self._last_tx = self.loop_time()

    def on_disconnected(self) -> None:
        ws, self._conn = self._conn, None
        if ws is None or self._refused:
            return
        rcvd = ws.protocol.close_rcvd
        if rcvd is None or rcvd.code != CLOSE_POLICY:
            return
        # FinX closes 1008 on a refused key or pair; retrying with the same key or pair cannot help.
        if self._server_error is not None:
            reason = f"FinX refused {self.symbol}: {self._server_error}"
        elif "pair" in rcvd.reason.lower():
            reason = f"not served by FinX ({rcvd.reason})"
        else:
            reason = KEY_REJECTED
        self._refused = True
        with contextlib.suppress(FatalFeedError):  # fatal() raises to stop a read; here it records the reason
            self.fatal(reason)

    # -- frames -----------------------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        try:
            msg = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.reject(_NOT_JSON, frame)
            return
        if type(msg) is not dict:
            self.reject(_NOT_OBJECT, frame)
            return
        data = msg.get("resultData")
        if data is not None or msg.get("results") == "streaming":
            self._tick(data, frame)
        elif "unixDate" in msg or "UTCDate" in msg:
            self._tick(msg, frame)
        elif "isAuth" in msg:
            if msg["isAuth"] is not True:
                self._refused = True
                self.fatal(KEY_REJECTED)
        elif "keepAlive" in msg:
            self.keepalive_acks += 1
        elif "error" in msg:
            self._error(str(msg["error"]))
        else:
            self.reject(_UNKNOWN_FRAME, frame)

    def _tick(self, row: Any, frame: str | bytes) -> None:
        try:
            ms, exchange, price = parse_row(row)
        except ValueError:
            self.reject(_BAD_TICK, frame)
            return
        symbol = row.get("pair")
        if symbol is not None and symbol != self.symbol:
            self.reject(_OTHER_PAIR, frame)
            return
        self.ticks += 1
        self.emit(Tick(SOURCE, self.pair, price, exchange, ms / 1000))
        if not self._got_tick or self.state != LIVE:
            self._got_tick = True
            self.set_status(LIVE, "")

    def _error(self, text: str) -> None:
        self._server_error = text
        if "pair" in text.lower():
            self._refused = True
            self.fatal(f"not served by FinX ({text})")
        log.warning("finx %s: error frame: %s", self.pair, text)

    # -- health -----------------------------------------------------------------------------------------

    def check_health(self, now: float) -> None:
        if self.ws is not None and now - self._last_tx >= self.keepalive_every:
            self._last_tx = now
            self.keepalives_sent += 1
            self.send_later({"APIKey": self.api_key, "functionName": "keepAlive"})

    def refresh_status(self) -> None:
        # A quiet socket talked again; it is live again only if it has delivered ticks.
        if self.state == STALE and self._got_tick:
            self.set_status(LIVE, "")


class FinxFeed(MergedFeed):
    """Ticks of several pairs from FinX: one stream (socket) per pair, one iterator, one ``finx`` status.

    ``streams`` maps each pair to its :class:`FinxStream`; pairs FinX does not list in ``table`` are left out
    and named in the status detail (``skipped``).
    """

    def __init__(self, base_url: str, pairs: Iterable[str], *, api_key: str = "", table: PairTable = DEFAULT_PAIRS,
                 clock: Callable[[], float] = time.time, backoff: Callable[[], Backoff] | None = None,
                 open_timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"a FinX URL is ws:// or wss:// with a host, not {base_url!r}")
        self.api_key = (api_key or "").strip()
        self.skipped: list[str] = []
        streams: dict[str, FinxStream] = {}
        for pair in pairs:
            symbol = table.symbol(SOURCE, pair)
            if symbol is None:
                if pair not in self.skipped:
                    self.skipped.append(pair)
            elif pair not in streams:
                streams[pair] = FinxStream(base_url, pair, symbol, self.api_key, clock=clock,
                                           backoff=backoff() if backoff else None, open_timeout=open_timeout)
        refusal: str | None = None
        if not self.api_key:
            refusal, streams = NO_KEY, {}
        elif not streams:
            refusal = f"none of the pairs is on FinX ({', '.join(self.skipped) or 'no pairs given'})"
        note = f"not on FinX: {', '.join(self.skipped)}" if self.skipped else ""
        super().__init__(SOURCE, streams, note=note, clock=clock, redact=self._redact, backoff=backoff)
        self.streams: dict[str, FinxStream] = streams
        if refusal is not None:
            self.set_status(ERROR, refusal)  # the only event; the iteration then ends, nothing connects

    def _redact(self, text: str) -> str:
        if self.api_key:
            text = text.replace(self.api_key, "***").replace(quote(self.api_key, safe=""), "***")
        return text


# -- functions --------------------------------------------------------------------------------------------


Fetch = Callable[[int | None], Awaitable[HistoryPage]]


async def page_through(fetch: Fetch, after_ms: int | None = None, *, all_pages: bool = True,
                       page_rows: int = PAGE_ROWS, max_pages: int = MAX_PAGES) -> AsyncIterator[list[HistoryRow]]:
    """Page through a day's tick history; yields each reply's new rows, sorted by time.

    ``fetch(after)`` makes one ``tickHistory`` request for the rows strictly after ``after`` milliseconds into
    the day (None: the whole day). The first request uses ``after_ms``; each next one starts 1 ms before the
    latest time seen so far (ticks sharing a page's last millisecond are not lost; the overlap is dropped as
    duplicates of (time, exchange, price)). Stops after a reply with fewer than ``page_rows`` rows or nothing
    new, or after the first reply unless ``all_pages``. Every yielded row is new; pages are yielded in time
    order, but rows of equal millisecond can arrive in two pages, so sort the whole if order matters
    (:func:`collect`).
    """
    seen: set[tuple[int, str, float]] = set()
    after = after_ms
    for _ in range(max_pages):
        page = await fetch(after)
        new: list[HistoryRow] = []
        for row in page.rows:
            key = row.key
            if key not in seen:
                seen.add(key)
                new.append(row)
        new.sort(key=_order)
        yield new
        if not all_pages or page.size < page_rows or not new or not page.rows:
            return
        latest = max(row.ms for row in page.rows) % DAY_MS
        after = latest - 1 if latest > 0 else None
    raise FinxError(f"FinX kept sending new history rows after {max_pages} pages; stopped")


async def collect(pages: AsyncIterator[list[HistoryRow]]) -> list[HistoryRow]:
    """Every row of ``pages``, sorted by time (then exchange and price, so equal times come out the same)."""
    rows: list[HistoryRow] = []
    async for page in pages:
        rows.extend(page)
    rows.sort(key=_order)
    return rows


class FinxClient:
    """Request/response client for FinX's functions: ``async with FinxClient(url, key) as finx: ...``.

    One socket serves every request, one at a time (FinX's replies carry no request id). Methods raise
    :class:`FinxError` (:class:`FinxAuthError` for the key) with a message fit for the user.
    """

    def __init__(self, base_url: str, api_key: str, *, table: PairTable = DEFAULT_PAIRS, timeout: float = 15.0,
                 open_timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = (api_key or "").strip()
        self.table = table
        self.timeout = timeout
        self.open_timeout = open_timeout
        #: requests answered, and history rows that could not be read (skipped)
        self.requests = 0
        self.rejected_rows = 0
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> FinxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)

    def display_url(self) -> str:
        """Where the functions live, as it may be shown (no key, no query)."""
        return f"{self.base_url}/backend/"

    # -- the functions ----------------------------------------------------------------------------------

    async def authenticate(self) -> None:
        """Check the key; raises :class:`FinxAuthError` unless FinX answers ``{"isAuth": true}``."""
        reply = await self.call("authenticate", {})
        if type(reply) is not dict or reply.get("isAuth") is not True:
            raise FinxAuthError(KEY_REJECTED)

    async def tick_snap(self, pair: str, day: date | None = None, at_ms: int | None = None) -> Tick | None:
        """The latest tick of ``pair`` (at or before ``day`` + ``at_ms`` into it, if given); None if FinX has none."""
        params: dict[str, str] = {"pair": self._symbol(pair)}
        if day is not None:
            params["date"] = day.isoformat()
        if at_ms is not None:
            params["time"] = format_clock(at_ms)
        reply = await self.call("tickSnap", params)
        if type(reply) is not dict:
            raise FinxError(f"FinX sent an unexpected reply to tickSnap: {_sample(reply)}")
        if not reply:
            return None
        try:
            ms, exchange, price = parse_row(reply)
        except ValueError as exc:
            raise FinxError(f"FinX sent an unreadable tick snap ({exc})") from None
        return Tick(SOURCE, pair, price, exchange, ms / 1000)

    async def history_page(self, pair: str, day: date, after_ms: int | None = None) -> HistoryPage:
        """One ``tickHistory`` request: at most 1000 rows of ``day`` after ``after_ms`` into it, unsorted."""
        params: dict[str, str] = {"pair": self._symbol(pair), "date": day.isoformat()}
        if after_ms is not None:
            params["time"] = format_clock(after_ms)
        reply = await self.call("tickHistory", params)
        if type(reply) is not dict:
            raise FinxError(f"FinX sent an unexpected reply to tickHistory: {_sample(reply)}")
        rows: list[HistoryRow] = []
        for value in reply.values():
            try:
                ms, exchange, price = parse_row(value)
            except ValueError as exc:
                self.rejected_rows += 1
                if self.rejected_rows == 1 or self.rejected_rows % 1000 == 0:
                    log.warning("finx: skipped %d unreadable history row(s) (%s): %r", self.rejected_rows, exc,
                                _sample(value))
                continue
            rows.append(HistoryRow(pair, ms, exchange, price))
        return HistoryPage(rows, len(reply))

    def history_pages(self, pair: str, day: date, after_ms: int | None = None, *,
                      all_pages: bool = True) -> AsyncIterator[list[HistoryRow]]:
        """The new rows of each reply as it arrives (see :func:`page_through`): for a loading indicator."""

        async def fetch(after: int | None) -> HistoryPage:
            return await self.history_page(pair, day, after)

        return page_through(fetch, after_ms, all_pages=all_pages)

    async def tick_history(self, pair: str, day: date, after_ms: int | None = None, *,
                           all_pages: bool = True) -> list[HistoryRow]:
        """The ticks of ``day`` after ``after_ms`` (the whole day: every page), each once, sorted by time."""
        return await collect(self.history_pages(pair, day, after_ms, all_pages=all_pages))

    # -- the wire ---------------------------------------------------------------------------------------

    async def call(self, function: str, params: dict[str, str]) -> Any:
        """Run one function and return FinX's decoded reply (errors and a refused key raised)."""
        if not self.api_key:
            raise FinxAuthError(NO_KEY)
        async with self._lock:
            for attempt in range(2):
                reused = self._ws is not None and self._ws.state is State.OPEN
                try:
                    if reused:
                        assert self._ws is not None
                        message = dict(params, functionName=function, APIKey=self.api_key)
                        await self._ws.send(orjson.dumps(message).decode())
                    else:
                        await self.aclose()
                        self._ws = await self._open(function, params)
                    frame = await self._recv(function)
                except ConnectionClosed as exc:
                    self._ws = None
                    rcvd = exc.rcvd
                    if reused and attempt == 0 and (rcvd is None or rcvd.code != CLOSE_POLICY):
                        log.debug("finx: the functions socket was closed (%s); opening a new one", rcvd)
                        continue  # FinX let an idle socket go: ask again on a new one
                    raise self._closed_error(exc, function) from None
                break
            self.requests += 1
            try:
                return self._check(function, frame)
            except FinxAuthError:
                await self.aclose()  # FinX closes the socket after refusing a key anyway
                raise

    async def _open(self, function: str, params: dict[str, str]) -> ClientConnection:
        query = urlencode({"functionName": function, "APIKey": self.api_key, **params}, safe=":")
        where = self.display_url()
        try:
            return await websockets.connect(f"{self.base_url}/backend/?{query}", open_timeout=self.open_timeout,
                                            max_size=MAX_FRAME, compression="deflate", ping_interval=20,
                                            ping_timeout=20, close_timeout=2, logger=_QUIET)
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (401, 403):
                raise FinxAuthError(f"FinX rejected the API key (HTTP {code}): set {KEY_VAR} "
                                    f"(keys rotate every 24 h)") from None
            raise FinxError(f"FinX refused the connection at {where} (HTTP {code})") from None
        except InvalidURI:
            raise FinxError(f"bad FinX URL {self.base_url!r}: expected ws:// or wss:// and a host") from None
        except TimeoutError:
            raise FinxError(f"cannot reach FinX at {where}: no answer within {self.open_timeout:g} s") from None
        except ConnectionRefusedError:
            raise FinxError(f"cannot reach FinX at {where}: connection refused") from None
        except OSError as exc:
            raise FinxError(f"cannot reach FinX at {where}: {(exc.strerror or str(exc)).lower()}") from None
        except InvalidHandshake as exc:
            raise FinxError(f"cannot connect to FinX at {where}: {self._redact(str(exc))}") from None

    async def _recv(self, function: str) -> str | bytes:
        ws = self._ws
        assert ws is not None
        try:
            async with asyncio.timeout(self.timeout):
                return await ws.recv()
        except TimeoutError:
            # A late reply would answer the next request: this socket is done.
            await self.aclose()
            raise FinxError(f"FinX sent no reply to {function} within {self.timeout:g} s") from None

    def _check(self, function: str, frame: str | bytes) -> Any:
        try:
            reply = orjson.loads(frame)
        except orjson.JSONDecodeError:
            raise FinxError(f"FinX sent something that is not JSON in reply to {function}: "
                            f"{_sample(frame)}") from None
        if type(reply) is dict:
            if "isAuth" in reply and reply["isAuth"] is not True:
                raise FinxAuthError(KEY_REJECTED)
            if "error" in reply:
                raise FinxError(f"FinX refused {function}: {self._redact(str(reply['error']))}")
        return reply

    def _closed_error(self, exc: ConnectionClosed, function: str) -> FinxError:
        rcvd = exc.rcvd
        if rcvd is not None and rcvd.code == CLOSE_POLICY:
            if "pair" in rcvd.reason.lower():
                return FinxError(f"FinX refused {function}: {self._redact(rcvd.reason)}")
            return FinxAuthError(KEY_REJECTED)
        if rcvd is None:
            return FinxError(f"FinX dropped the connection during {function}")
        reason = f", {self._redact(rcvd.reason)}" if rcvd.reason else ""
        return FinxError(f"FinX closed the connection during {function} ({rcvd.code}{reason})")

    def _symbol(self, pair: str) -> str:
        return self.table.symbol(SOURCE, pair) or pair

    def _redact(self, text: str) -> str:
        if self.api_key:
            text = text.replace(self.api_key, "***").replace(quote(self.api_key, safe=""), "***")
        return text


def _sample(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:120] + ("…" if len(text) > 120 else "")


async def fetch_history(base_url: str, api_key: str, pair: str, day: date, after_ms: int | None = None, *,
                        all_pages: bool = True, table: PairTable = DEFAULT_PAIRS,
                        timeout: float = 15.0) -> list[HistoryRow]:
    """Open a client, get ``pair``'s ticks of ``day`` after ``after_ms`` (every page unless told), close it."""
    async with FinxClient(base_url, api_key, table=table, timeout=timeout) as client:
        return await client.tick_history(pair, day, after_ms, all_pages=all_pages)


def utc_today(clock: Callable[[], float] = time.time) -> date:
    """Today's UTC day (FinX's days are UTC)."""
    return datetime.fromtimestamp(clock(), UTC).date()
