"""Finazon websocket v1, as ``wss://ws.finazon.io/v1?apikey=...`` speaks it.

Facts from ``reference/finx-finazon-protocols.md`` part B: the key is checked at the handshake (the server
answers a bad one with HTTP 401 before this class runs); client events ``subscribe`` / ``unsubscribe`` with
``dataset`` (v1.0: ``publisher``), ``tickers``, ``channel`` ``bars``, ``frequency`` ``1s``/``10s``/``1m`` and
``aggregation`` ``1m``; the ``SUCCESS_SUBSCRIPTION`` ack; bar frames
``{"d","p","ch","f","aggr","s","t","o","h","l","c","v"}`` that re-send the forming 1-minute bar every ``f``;
error frames ``{"status":"error","message":...}`` with the texts seen from the live service; at most 100 event
messages a minute and 100 KB an event per connection.

Choices on the points the reference leaves open (its section C, items 10-17):

- The acks: ``data`` echoes the request with ``dataset`` (and ``publisher`` too when the client used the v1.0
  name); ``unsubscribe`` answers ``SUCCESS_UNSUBSCRIPTION``, ``reset`` answers ``SUCCESS_RESET``, ``heartbeat``
  answers ``{"event":"heartbeat","status":"success"}``. A ``request_id`` in an event is echoed at the top level
  of every reply to it, errors included.
- A subscription is keyed by ticker: subscribing to a ticker already subscribed (whatever the dataset or
  frequency) is the "already subscribed" error. In a batch, each unknown ticker gets its own error frame,
  the already-subscribed ones one frame listing them, and then the ack lists the tickers that were added
  (no ack when none was). Unsubscribing a ticker that is not subscribed gets "You are not subscribed to
  ticker: X." and the rest of the batch is still removed.
- ``channel`` and ``aggregation`` may be left out (they have one value each); ``dataset`` and ``frequency``
  are required on ``subscribe``. ``unsubscribe`` checks the fields it is given and needs only ``dataset``
  and ``tickers``.
- Bars: the first bar of a ticker goes out with the ack, then one every ``f`` on the event loop's clock, the
  bar itself read from the venue's :class:`~finxtui.sim.bars.BarBuilder` at the wall (or injected) clock.
  ``t`` is the minute start in UNIX seconds, ``o``/``h``/``l``/``c`` are floats and ``v`` is an integer,
  cumulative within the minute. In a minute with no trade yet the bar repeats the last close as
  ``o``/``h``/``l``/``c`` with ``v`` 0 at the new minute's ``t``. A ticker that has never traded in this
  simulator sends no bar until its first trade.
- Limits (in ``SimSettings``): past ``finazon_event_limit`` event messages in a sliding
  ``finazon_event_window`` the message is refused with an error frame and counts as a strike; the
  ``finazon_max_strikes``-th strike in a window also closes the socket with 1008. Every client frame counts as
  an event message, malformed or not. An event over ``finazon_max_event_bytes`` gets an error frame and the
  socket stays open. At most ``finazon_max_connections`` open sockets per API key (the dataset pages say 3):
  one more gets an error frame and close 1008. A socket with no subscription that sends nothing for
  ``finazon_idle_close`` seconds is closed with 1000 (RFC 6455 pings are answered by websockets itself and are
  invisible here, so a subscribed socket is never closed for idleness).
- A per-ticker stall skips that ticker's bar frames until it ends; each bar frame re-sends the forming bar
  whole, so the first one after the stall is again the truth.
- With the ``soft_auth`` fault (``sim.faults.finazon_soft_auth = True``) the handshake accepts any key; a
  wrong one then gets ``{"status":"error","message":"Invalid API key"}`` and close 1008.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from websockets.asyncio.server import ServerConnection

from finxtui.sim.bars import BarBuilder
from finxtui.sim.core.connection import SimConnection
from finxtui.sim.finazon.venue import FinazonVenue
from finxtui.wire import finazon as fz

BarValues = tuple[int, float, float, float, float, int]


@dataclass(slots=True)
class Subscription:
    ticker: str
    pair: str
    dataset: str
    publisher: str
    frequency: str
    period: float
    next_due: float
    stalled_until: float = 0.0


def bar_values(builder: BarBuilder, now: float) -> BarValues | None:
    """The forming 1-minute bar at wall time ``now`` as ``(t, o, h, l, c, v)``, or None before any trade.

    A minute with no trade yet repeats the last close as open, high, low and close, with no volume.
    """
    minute = int(now // builder.width) * builder.width
    bar = builder.current
    if bar is not None and bar.t >= minute:
        return bar.t, float(bar.o), float(bar.h), float(bar.l), float(bar.c), round(bar.v)
    last = bar if bar is not None else builder.closed
    if last is None:
        return None
    close = float(last.c)
    return minute, close, close, close, close, 0


class FinazonConnection(SimConnection):
    venue: ClassVar[str] = "finazon"

    def __init__(self, venue: FinazonVenue, ws: ServerConnection, path: str, query: Mapping[str, str]) -> None:
        super().__init__(venue.ctx, ws, path, query)
        self.finazon = venue
        self.settings = venue.ctx.settings
        self.subs: dict[str, Subscription] = {}
        self.authed = False
        self._events: deque[float] = deque()
        self._strikes: deque[float] = deque()
        self._closing = False

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        key = self.query.get(fz.KEY_PARAM)
        if key != self.ctx.credentials.finazon_key:
            # Only reachable with the soft-auth fault: the handshake rejects a bad key with 401 otherwise.
            self.send_json({"status": "error", "message": "Invalid API key"})
            await self.close(fz.CLOSE_POLICY, "Invalid API key")
            return
        peers = [c for c in self.finazon.connections
                 if c is not self and isinstance(c, FinazonConnection) and c.authed and not c.closed
                 and c.query.get(fz.KEY_PARAM) == key]
        limit = self.settings.finazon_max_connections
        if len(peers) >= limit:
            self.send_json({"status": "error",
                            "message": f"Too many connections: up to {limit} active "
                                       f"connections are allowed for each API key."})
            await self.close(fz.CLOSE_POLICY, "Too many connections")
            return
        self.authed = True

    async def on_message(self, message: str | bytes) -> None:
        if not self.authed or self.closed:
            return
        now = self.ctx.loop_time()
        if not self._admit(now):
            await self._refuse(now)
            return
        size = len(message) if isinstance(message, bytes) else len(message.encode())
        max_bytes = self.settings.finazon_max_event_bytes
        if size > max_bytes:
            self._error(f"The event message is {size} bytes; the maximum size for an event message "
                        f"is {max_bytes // 1024}kb.")
            return
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError:
            self._error("The event message is not valid JSON.")
            return
        if not isinstance(req, dict):
            self._error("The event message must be a JSON object.")
            return
        event = req.get("event")
        if event == fz.SUBSCRIBE:
            self._subscribe(req)
        elif event == fz.UNSUBSCRIBE:
            self._unsubscribe(req)
        elif event == fz.HEARTBEAT:
            self._reply(req, {"event": fz.HEARTBEAT, "status": "success"})
        elif event == fz.RESET:
            self.subs.clear()
            self._reply(req, {"status": "success", "code": fz.SUCCESS_RESET})
        elif event is None:
            self._error("The event field is required.", req)
        else:
            self._error(f"The event {event} is unrecognized or unsupported.", req)

    # -- limits ---------------------------------------------------------------------------------------

    def _admit(self, now: float) -> bool:
        """Count one event message; False when it is over the per-connection limit."""
        horizon = now - self.settings.finazon_event_window
        for stamps in (self._events, self._strikes):
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
        if len(self._events) >= self.settings.finazon_event_limit:
            return False
        self._events.append(now)
        return True

    async def _refuse(self, now: float) -> None:
        self._strikes.append(now)
        self._error(f"Too many event messages: each connection can handle up to "
                    f"{self.settings.finazon_event_limit} event messages every minute.")
        if len(self._strikes) >= self.settings.finazon_max_strikes:
            self.log.info("closing a connection over the event limit")
            await self.close(fz.CLOSE_POLICY, "Too many event messages")

    # -- replies --------------------------------------------------------------------------------------

    def _reply(self, req: dict[str, Any] | None, frame: dict[str, Any]) -> None:
        if req is not None and "request_id" in req:
            frame["request_id"] = req["request_id"]
        self.send_json(frame)

    def _error(self, message: str, req: dict[str, Any] | None = None) -> None:
        self._reply(req, {"status": "error", "message": message})

    # -- subscriptions --------------------------------------------------------------------------------

    def _fields(self, req: dict[str, Any], *, subscribing: bool) -> tuple[str, str | None, list[str]] | None:
        """The checked (dataset, frequency, tickers) of a subscribe or unsubscribe, or None after an error."""
        dataset = req.get("dataset", req.get("publisher"))
        if dataset is None:
            self._error("The dataset field is required.", req)
            return None
        if not isinstance(dataset, str) or dataset not in fz.DATASETS:
            self._error(f"The dataset {dataset} you have specified is unrecognized or unsupported.", req)
            return None
        channel = req.get("channel", fz.CHANNEL)
        if channel != fz.CHANNEL:
            self._error(f"The channel {channel} is not supported. Accepted channel: {fz.CHANNEL}.", req)
            return None
        aggregation = req.get("aggregation", fz.AGGREGATION)
        if aggregation != fz.AGGREGATION:
            self._error(f"The aggregation {aggregation} is not supported. Accepted aggregation: {fz.AGGREGATION}.",
                        req)
            return None
        frequency = req.get("frequency")
        if frequency is None and subscribing:
            self._error("The frequency field is required.", req)
            return None
        if frequency is not None and frequency not in fz.FREQUENCIES:
            self._error(f"The frequency {frequency} is not supported. Accepted frequencies: "
                        f"{', '.join(fz.FREQUENCIES)}.", req)
            return None
        tickers = req.get("tickers")
        if (not isinstance(tickers, list) or not tickers
                or not all(isinstance(t, str) and t for t in tickers)):
            self._error("The tickers field must be a non-empty list of tickers.", req)
            return None
        return dataset, frequency, list(dict.fromkeys(tickers))

    def _ack_data(self, req: dict[str, Any], event: str, dataset: str, frequency: str,
                  tickers: list[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"event": event, "dataset": dataset}
        if "publisher" in req and "dataset" not in req:
            data["publisher"] = dataset
        data.update({"channel": fz.CHANNEL, "frequency": frequency, "aggregation": fz.AGGREGATION, "tickers": tickers})
        return data

    def _subscribe(self, req: dict[str, Any]) -> None:
        fields = self._fields(req, subscribing=True)
        if fields is None:
            return
        dataset, frequency, tickers = fields
        assert frequency is not None
        now = self.ctx.loop_time()
        period = fz.FREQUENCIES[frequency]
        added: list[Subscription] = []
        already: list[str] = []
        for ticker in tickers:
            pair = self.finazon.tickers.get(ticker)
            if pair is None:
                self._error(f"The ticker {ticker} you have specified is unrecognized or unsupported.", req)
            elif ticker in self.subs:
                already.append(ticker)
            else:
                sub = Subscription(ticker, pair, dataset, fz.DATASETS[dataset], frequency, period, now + period)
                self.subs[ticker] = sub
                added.append(sub)
        if already:
            self._error(f"You are already subscribed to ticker: {', '.join(already)}.", req)
        if not added:
            return
        data = self._ack_data(req, "subscribe", dataset, frequency, [s.ticker for s in added])
        self._reply(req, {"status": "success", "code": fz.SUCCESS_SUBSCRIPTION, "data": data})
        for sub in added:
            self._send_bar(sub)

    def _unsubscribe(self, req: dict[str, Any]) -> None:
        fields = self._fields(req, subscribing=False)
        if fields is None:
            return
        dataset, frequency, tickers = fields
        removed: list[Subscription] = []
        missing: list[str] = []
        for ticker in tickers:
            sub = self.subs.pop(ticker, None)
            if sub is None:
                missing.append(ticker)
            else:
                removed.append(sub)
        if missing:
            self._error(f"You are not subscribed to ticker: {', '.join(missing)}.", req)
        if not removed:
            return
        data = self._ack_data(req, "unsubscribe", dataset, frequency or removed[0].frequency,
                              [s.ticker for s in removed])
        self._reply(req, {"status": "success", "code": fz.SUCCESS_UNSUBSCRIPTION, "data": data})

    # -- bars -----------------------------------------------------------------------------------------

    def _send_bar(self, sub: Subscription) -> None:
        builder = self.finazon.bars.get(sub.pair)
        if builder is None:
            return
        values = bar_values(builder, self.ctx.clock())
        if values is None:
            return
        t, o, h, low, c, v = values
        self.send(orjson.dumps({"d": sub.dataset, "p": sub.publisher, "ch": fz.CHANNEL, "f": sub.frequency,
                                "aggr": fz.AGGREGATION, "s": sub.ticker, "t": t, "o": o, "h": h, "l": low, "c": c,
                                "v": v}))

    def on_timer(self, now: float) -> None:
        if not self.authed or self.closed:
            return
        for sub in tuple(self.subs.values()):
            if now < sub.next_due:
                continue
            sub.next_due += sub.period
            if sub.next_due <= now:  # the loop fell behind: keep the cadence, do not burst
                sub.next_due = now + sub.period
            if sub.stalled_until:
                if now < sub.stalled_until:
                    continue
                sub.stalled_until = 0.0
            self._send_bar(sub)
        if not self.subs and now - self.last_client_frame > self.settings.finazon_idle_close and not self._closing:
            self._closing = True
            self.ctx.spawn(self.close(1000, "Idle timeout"))

    # -- faults ---------------------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> bool:
        if fault == "stall" and params.get("pair"):
            until = self.ctx.loop_time() + float(params.get("seconds", 5.0))
            hit = False
            for sub in self.subs.values():
                if params["pair"] in (sub.pair, sub.ticker):
                    sub.stalled_until = until
                    hit = True
            return hit
        return False
