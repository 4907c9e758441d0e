"""Finazon websocket v1 feed: 1-minute bars for US equities, optionally interpolated into ticks.

One socket carries every ticker: a single ``subscribe`` to the ``us_stocks_essential`` dataset's ``bars``
channel at ``1s`` frequency, ``1m`` aggregation. The venue then re-sends each ticker's forming bar every
second (same ``t`` while the minute lasts), so every frame becomes a :class:`Bar` whose ``ts`` is the
minute's open in UNIX seconds. The key travels in the URL (``/v1?apikey=…``): :meth:`display_url` masks it
and nothing here logs :meth:`url`.

Choices (facts and open points: ``reference/finx-finazon-protocols.md`` part B and section C 10-17; the wire
facts themselves: :mod:`finxtui.wire.finazon`):

- No API key: the feed never connects. It yields one ``error`` status naming ``FINAZON_API_KEY`` and then
  ends the iteration (a key only arrives with a new configuration, hence a new feed). The same holds when
  none of the pairs is served by Finazon. A key refused at the handshake (HTTP 401/403) or by an error frame
  (the ``Invalid API key`` + close 1008 variant) is fatal: one ``error`` status, no retry storm.
- ``live`` comes with the ``SUCCESS_SUBSCRIPTION`` ack (only ``status`` and ``code`` are looked at) or with
  the first bar, whichever is first. A ticker the venue refuses ("unrecognized or unsupported") is named in
  the ``live`` detail and logged; when it refuses every ticker the feed reports a fatal error. Other errors
  before the ack (dataset, frequency) are fatal too: retrying the same request cannot help. "Too many
  connections" reconnects with backoff (another client may let go of its socket).
- Interpolation (``interpolate=N``): after each bar frame whose ``(t, o, c)`` differs from the previous one
  for that ticker, ``N`` :class:`Tick` events (``exchange="interpolated"``) walk evenly from the open to the
  close, both included, with timestamps evenly spaced from ``t`` to the frame's arrival (clamped to
  ``t + 60``), all in seconds. Prices are rounded to two digits finer than the pair's tick, the ends are the
  venue's own ``o`` and ``c``. ``N == 1`` gives the close alone.
- Health: the socket goes ``stale`` after ``stale_after`` seconds of silence and is abandoned after
  ``dead_after``. A ``{"event":"heartbeat"}`` goes out after ``heartbeat_every`` seconds without a client
  message, and earlier (at most every ``stale_after / 2`` seconds) while the socket is quiet, so a venue that
  answers heartbeats proves the socket alive. A subscribed ticker without a bar for ``ticker_silence``
  seconds is reported ``stale`` by name (not resubscribed: a halted stock is quiet too); its next bar
  restores ``live``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from finxtui.feeds.session import Feed, Resync
from finxtui.feeds.symbols import venue_symbols
from finxtui.model.events import ERROR, LIVE, OFF, STALE, Bar, Event, Tick
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import finazon as wire
from finxtui.wire.venues import FINAZON as VENUE

log = logging.getLogger("finxtui.feeds.finazon")

SOURCE = VENUE.tag
KEY_VAR = VENUE.key_vars[0]
FREQUENCY = "1s"  # the fastest re-send of a forming bar the venue offers (wire.FREQUENCIES)
BAR_SECONDS = wire.BAR_SECONDS
INTERPOLATED = "interpolated"
HEARTBEAT = {"event": wire.HEARTBEAT}

_AUTH_WORDS = ("api key", "apikey", "unauthorized", "unauthorised", "invalid key", "authentication", "forbidden")
_TICKER_ERROR = re.compile(r"\bticker (\S+) you have specified", re.IGNORECASE)
_NUMBER = (int, float)
_MAX_SECONDS = 1e11  # a bar time past this is in milliseconds (year 5138 in seconds): not the venue's unit

# Reasons for rejected frames: fixed texts, so each kind is logged once with a sample.
_UNKNOWN_FRAME = "neither a bar nor a status frame"
_BAR_MISSING = "bar without one of t, o, h, l, c, v"
_BAR_TYPES = "bar with a non-numeric field"
_BAR_TICKER = "bar for a ticker not subscribed"
_BAR_TIME = "bar time not in UNIX seconds"
_BAR_RANGE = "bar outside its own range (l <= o, c <= h, v >= 0)"


def is_auth_error(message: str) -> bool:
    """Whether a venue message says the API key was refused ("too many connections" names the key too)."""
    text = message.lower()
    if text.startswith("too many"):
        return False
    return any(word in text for word in _AUTH_WORDS)


def interpolation_points(o: float, c: float, t: float, end: float, n: int,
                         digits: int) -> list[tuple[float, float]]:
    """``n`` (price, ts) points from ``(o, t)`` to ``(c, end)``, evenly spaced, both ends included.

    ``end`` is clamped to ``[t, t + 60]``. Prices between the ends are rounded to ``digits``, times to the
    millisecond (still in seconds). ``n == 1`` is the close alone, at ``end``.
    """
    end = min(max(end, t), t + BAR_SECONDS)
    if n <= 0:
        return []
    if n == 1:
        return [(c, round(end, 3))]
    last = n - 1
    dp = (c - o) / last
    dt = (end - t) / last
    points = [(o, round(float(t), 3))]
    points.extend((round(o + i * dp, digits), round(t + i * dt, 3)) for i in range(1, last))
    points.append((c, round(end, 3)))
    return points


class FinazonFeed(Feed):
    source = SOURCE
    stale_after = 10.0  # bars come every second: ten quiet seconds is news
    dead_after = 30.0
    #: seconds without any client message before a heartbeat goes out
    heartbeat_every = 30.0
    #: seconds without a bar for one subscribed ticker before it is reported stale
    ticker_silence = 15.0

    def __init__(self, base_url: str, pairs: Iterable[str], *, api_key: str = "", table: PairTable = DEFAULT_PAIRS,
                 interpolate: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Checked here: the session would put the whole URL, key included, in a "bad URL" status, and a bad
        # port raises a ValueError it does not catch.
        try:
            parts = urlsplit(base_url)
            valid = parts.scheme in ("ws", "wss") and bool(parts.hostname) and not parts.query
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(f"a Finazon URL is ws:// or wss:// with a host and no query, not {base_url!r}")
        if interpolate < 0:
            raise ValueError(f"interpolate must be 0 (off) or a number of points, not {interpolate}")
        self.base_url = base_url.rstrip("/")
        self.api_key = (api_key or "").strip()
        self.interpolate = interpolate
        self.table = table
        self.symbols, self.skipped = venue_symbols(table, SOURCE, pairs)  # venue symbol -> canonical pair
        self._digits: dict[str, int] = {}
        for pair in self.symbols.values():
            info = table.get(pair)
            self._digits[pair] = info.decimals + 2 if info is not None else 6
        #: tickers the venue refused on this connection, with its message
        self.rejected_tickers: dict[str, str] = {}
        self.heartbeats_sent = 0
        self.heartbeat_replies = 0
        self._acked = False
        self._last_bar: dict[str, float] = {}  # ticker -> loop time of its last bar (subscribed, not refused)
        self._last_seen: dict[str, tuple[float, float, float]] = {}  # ticker -> (t, o, c) last interpolated
        self._last_frame = 0.0
        self._last_tx = 0.0
        self._refusal: str | None = None
        if not self.api_key:
            self._refusal = f"no Finazon API key: set {KEY_VAR}"
        elif not self.symbols:
            self._refusal = f"none of the pairs is on Finazon ({', '.join(self.skipped) or 'no pairs given'})"

    # -- URLs and credentials -------------------------------------------------------------------------

    def url(self) -> str:
        return wire.url(self.base_url, self.api_key)

    def display_url(self) -> str:
        return f"{self.base_url}{wire.PATH}?{wire.KEY_PARAM}=***"

    def credential_hint(self) -> str:
        return f"set {KEY_VAR}"

    def subscription(self) -> dict[str, Any]:
        """The one subscribe event this feed sends on every connection."""
        return {"event": wire.SUBSCRIBE, "dataset": wire.DEFAULT_DATASET, "tickers": list(self.symbols),
                "channel": wire.CHANNEL, "frequency": FREQUENCY, "aggregation": wire.AGGREGATION}

    # -- iteration ------------------------------------------------------------------------------------

    async def __anext__(self) -> Event:
        if self._refusal is not None:
            # Nothing to connect with: say why once, then end (never connect with an empty key).
            reason, self._refusal = self._refusal, None
            self.set_status(OFF if not self.api_key else ERROR, reason)  # no key: off, not a fault
            await self.aclose()
        return await super().__anext__()

    # -- connection -----------------------------------------------------------------------------------

    async def on_connected(self, ws: ClientConnection) -> None:
        self._acked = False
        self.rejected_tickers.clear()
        self._last_bar.clear()
        self._last_frame = self._last_tx = self.loop_time()
        try:
            await self.send_json(self.subscription())
        except ConnectionClosed as exc:
            # The soft-auth variant: accepted, then "Invalid API key" and close 1008 before we could speak.
            rcvd = exc.rcvd
            if rcvd is not None and is_auth_error(rcvd.reason):
                self.fatal(f"Finazon rejected the API key ({rcvd.reason}): {self.credential_hint()}")
            raise

    def on_disconnected(self) -> None:
        self._acked = False
        self._last_bar.clear()

    # -- frames ---------------------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        self._last_frame = self.loop_time()
        msg = self.json_object(frame)
        if msg is None:
            return
        if "s" in msg:
            self._bar(msg, frame)
        elif "status" in msg:
            self._status_frame(msg, frame)
        else:
            self.reject(_UNKNOWN_FRAME, frame)

    def _bar(self, msg: dict, frame: str | bytes) -> None:
        try:
            t, o, h, low, c, v = (msg[k] for k in wire.BAR_FIELDS)
        except KeyError:
            self.reject(_BAR_MISSING, frame)
            return
        for value in (t, o, h, low, c, v):
            if type(value) not in _NUMBER:  # bool is not a number here
                self.reject(_BAR_TYPES, frame)
                return
        ticker = msg["s"]
        pair = self.symbols.get(ticker) if type(ticker) is str else None
        if pair is None:
            self.reject(_BAR_TICKER, frame)
            return
        if not 0 < t < _MAX_SECONDS:
            self.reject(_BAR_TIME, frame)
            return
        if not (low <= o <= h and low <= c <= h and v >= 0):
            self.reject(_BAR_RANGE, frame)
            return
        ts = float(t)
        o = float(o)
        c = float(c)
        self.emit(Bar(SOURCE, pair, o, float(h), float(low), c, float(v), ts, BAR_SECONDS))
        if self.interpolate:
            key = (ts, o, c)
            if self._last_seen.get(ticker) != key:
                self._last_seen[ticker] = key
                for price, when in interpolation_points(o, c, ts, self.clock(), self.interpolate,
                                                        self._digits[pair]):
                    self.emit(Tick(SOURCE, pair, price, INTERPOLATED, when))
        now = self._last_frame
        if ticker not in self.rejected_tickers:
            self._last_bar[ticker] = now
        if not self._acked:
            self._ack(now)  # a bar proves the subscription even if the ack looked different
        elif self.state != LIVE:
            self._update_status(now)

    def _status_frame(self, msg: dict, frame: str | bytes) -> None:
        status = msg.get("status")
        if status == wire.STATUS_SUCCESS:
            if msg.get("code") == wire.SUCCESS_SUBSCRIPTION:
                self._ack(self.loop_time())
            elif msg.get("event") == wire.HEARTBEAT:
                self.heartbeat_replies += 1
            # Other acks (unsubscribe, reset) need nothing.
        elif status == wire.STATUS_ERROR:
            self._error(str(msg.get("message", "")))
        else:
            self.reject(_UNKNOWN_FRAME, frame)

    def _ack(self, now: float) -> None:
        first = not self._acked
        self._acked = True
        if first:
            for ticker in self.symbols:
                if ticker not in self.rejected_tickers:
                    self._last_bar.setdefault(ticker, now)
        self._update_status(now)

    def _error(self, message: str) -> None:
        if is_auth_error(message):
            self.fatal(f"Finazon rejected the API key ({message}): {self.credential_hint()}")
        if message.lower().startswith("too many connections"):
            raise Resync(f"Finazon: {message}")
        match = _TICKER_ERROR.search(message)
        if match is not None:
            ticker = match.group(1)
            log.warning("finazon refused ticker %s: %s", ticker, message)
            self.rejected_tickers[ticker] = message
            self._last_bar.pop(ticker, None)
            if all(symbol in self.rejected_tickers for symbol in self.symbols):
                self.fatal(f"Finazon serves none of the tickers: {', '.join(self.symbols)}")
            self._update_status(self.loop_time())
            return
        if "already subscribed" in message.lower():
            log.info("finazon: %s", message)
            return
        if not self._acked:
            self.fatal(f"Finazon refused the subscription: {message}")
        log.warning("finazon error: %s", message)

    # -- status and health ----------------------------------------------------------------------------

    def _live_detail(self) -> str:
        parts: list[str] = []
        if self.rejected_tickers:
            parts.append("refused: " + "; ".join(f"{self.symbols.get(t, t)} ({m})"
                                                 for t, m in sorted(self.rejected_tickers.items())))
        if self.skipped:
            parts.append("not on Finazon: " + ", ".join(self.skipped))
        return "; ".join(parts)

    def _update_status(self, now: float) -> None:
        if not self._acked:
            return
        silence = self.ticker_silence
        silent = [self.symbols[t] for t, last in self._last_bar.items() if now - last > silence]
        if silent:
            self.set_status(STALE, f"no bars for {', '.join(sorted(silent))} in {silence:g}s")
        else:
            self.set_status(LIVE, self._live_detail())

    def check_health(self, now: float) -> None:
        quiet = now - self._last_frame
        since_tx = now - self._last_tx
        probe = self.stale_after / 2
        if since_tx >= self.heartbeat_every or (quiet >= probe and since_tx >= probe):
            self.send_later(HEARTBEAT)
            self._last_tx = now
            self.heartbeats_sent += 1
        if quiet >= self.stale_after:
            return  # the session reports the whole socket stale
        self._update_status(now)


__all__ = ["FinazonFeed", "interpolation_points", "is_auth_error"]
