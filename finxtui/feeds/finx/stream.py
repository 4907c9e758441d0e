"""FinX streaming: ticks of several pairs, one socket per pair, run together as one feed.

FinX streams one pair per socket, ``{base}/streaming/{APIKey}/{pair}`` (the pair raw with its colon, as FinX's
SDK writes it), so the feed is one :class:`FinxStream` per pair run together by
:class:`~finxtui.feeds.merge.MergedFeed`: one iterator, one aggregated ``finx`` status. Each pushed
``{"results":"streaming","resultData":{"pair","date","time","exchange","price"}}`` becomes a
:class:`~finxtui.model.events.Tick` with ``ts`` in UNIX seconds (UTC date + time, millisecond precision); the
flat ``getSpotRates`` form (``unixDate``/``UTCDate``) is read too. Facts: ``reference/finx-finazon-protocols.md``
part A and :mod:`finxtui.wire.finx`; the choices for what FinX never documented follow its section C:

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
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection

from finxtui.feeds.backoff import Backoff
from finxtui.feeds.finx.errors import KEY_REJECTED, KEY_VAR, NO_KEY, redact
from finxtui.feeds.finx.rows import SOURCE, parse_row
from finxtui.feeds.merge import MergedFeed
from finxtui.feeds.session import FatalFeedError, Feed
from finxtui.model.events import ERROR, LIVE, OFF, STALE, Tick
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import finx as wire
from finxtui.wire.venues import FINX as VENUE

log = logging.getLogger("finxtui.feeds.finx")

# Reasons for rejected frames: fixed texts, so each kind is logged once with a sample.
_UNKNOWN_FRAME = "neither a tick nor a status frame"
_BAD_TICK = "tick with a bad field"
_OTHER_PAIR = "tick for another pair"


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
    keepalive_every = wire.KEEPALIVE_EVERY

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
        return self.base_url + wire.stream_path(self.api_key, self.symbol)

    def display_url(self) -> str:
        return f"{self.base_url}{wire.STREAMING}***/{quote(self.symbol, safe=':')}"

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
        if rcvd is None or rcvd.code != wire.CLOSE_POLICY:
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
        msg = self.json_object(frame)
        if msg is None:
            return
        data = msg.get(wire.RESULT_DATA)
        if data is not None or msg.get("results") == wire.STREAMING_RESULT:
            self._tick(data, frame)
        elif "unixDate" in msg or "UTCDate" in msg:
            self._tick(msg, frame)
        elif wire.IS_AUTH in msg:
            if msg[wire.IS_AUTH] is not True:
                self._refused = True
                self.fatal(KEY_REJECTED)
        elif wire.KEEP_ALIVE in msg:
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
            self.send_later({wire.KEY_FIELD: self.api_key, wire.FUNCTION_FIELD: wire.KEEP_ALIVE})

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
            refusal = f"none of the pairs is on {VENUE.name} ({', '.join(self.skipped) or 'no pairs given'})"
        note = f"not on {VENUE.name}: {', '.join(self.skipped)}" if self.skipped else ""
        super().__init__(SOURCE, streams, note=note, clock=clock, redact=self._redact, backoff=backoff)
        self.streams: dict[str, FinxStream] = streams
        if refusal is not None:
            # The only event; the iteration then ends, nothing connects. No key is a choice, not a fault.
            self.set_status(OFF if not self.api_key else ERROR, refusal)

    def _redact(self, text: str) -> str:
        return redact(text, self.api_key)
