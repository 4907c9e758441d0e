"""Bitfinex API v2 public websocket, as ``wss://api-pub.bitfinex.com/ws/2`` speaks it (one socket).

Facts from ``reference/exchange-protocols.md`` part A (the constants live in :mod:`finxtui.wire.bitfinex`):
info first; ``conf`` flags (checksum, sequence, timestamp, bulk); ``book`` P0 with len 1/25/100/250 acked
with ``len`` as a string; snapshot bids then asks, best first; single-entry updates (or one array of them
with the bulk flag); deletes ``[price,0,±1]``; ``cs`` frames with the signed CRC-32 over the top 25 per
side; one sequence counter per socket shared by every array frame; ``trades`` with a snapshot, ``te`` then
``tu``; error events with the real codes. Non-JSON text gets no reply (as observed on the live venue).

Heartbeats (A7, corrected): ``[CHAN_ID,"hb"]`` on a fixed tick per channel (``SimSettings.bitfinex_heartbeat``,
15 s), skipped for a channel that had traffic since the previous tick.

A per-pair stall (``{"op":"stall","source":"bitfinex","pair":…}``) delays, never drops: the pair's channels
hold every frame they would have sent, in order, and send them when the stall ends, each numbered when it is
actually sent, then a checksum of the book as it is. So a client sees a silent channel, then the updates late
and in order, with no sequence gap and a book that ends equal to the venue's. (The venue's book keeps moving
meanwhile: it is shared with every other socket.) A stall that would hold more than
``SimSettings.bitfinex_stall_hold`` frames cuts the socket instead. A whole-socket stall drops frames, but
their sequence numbers are consumed, so a client sees the gap. Maintenance (info 20060 until 20061) holds
every channel the same way as a stall; after 20061 the venue advises a resubscription anyway.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson
from websockets.asyncio.server import ServerConnection

from finxtui.sim.bitfinex.channels import Channel, Payload
from finxtui.sim.bitfinex.venue import BitfinexVenue
from finxtui.sim.core.connection import SimConnection
from finxtui.sim.core.window import WindowChange
from finxtui.sim.market import ASK, BID, SimBook, SimTrade
from finxtui.wire import bitfinex as bfx
from finxtui.wire.jsnum import wire_number

TU_DELAY = 1.0  # seconds between a trade's ``te`` and its ``tu``
TRADES_SNAPSHOT = 30  # trades in a ``trades`` snapshot
CLOSE_AFTER_RESTART = 0.2  # seconds between info 20051 and the close
MAINTENANCE_TEXT = ("Entering in Maintenance mode. Please pause any activity and resume after receiving the "
                    "info message 20061 (it should take 120 seconds at most).")


class BitfinexConnection(SimConnection):
    venue: ClassVar[str] = "bitfinex"

    def __init__(self, venue: BitfinexVenue, ws: ServerConnection, path: str, query: Mapping[str, str]) -> None:
        super().__init__(venue.ctx, ws, path, query)
        self.recent = venue.recent
        self.flags = 0
        self.seq = 0
        self.channels: dict[int, Channel] = {}
        self.by_key: dict[tuple[str, ...], int] = {}
        self.maintenance_until = 0.0

    # -- framing --------------------------------------------------------------------------------------

    def _emit(self, chan: Channel, *payload: Any) -> None:
        """Send a channel frame now, or hold it back while the channel is stalled (or the venue in maintenance)."""
        if self._holding(chan):
            self._hold(chan, payload)
        else:
            self._write(chan, payload)

    def _holding(self, chan: Channel) -> bool:
        if chan.stalled_until is None and not chan.held:  # the usual case, once per frame: no clock read
            return bool(self.maintenance_until)
        if self.maintenance_until or chan.stalled(self.ctx.loop_time()):
            return True
        self._resume(chan)  # the stall is over: what it held goes first
        return False

    def _write(self, chan: Channel, payload: Payload, *, heartbeat: bool = False) -> None:
        frame = [chan.chan_id, *payload]
        flags = self.flags
        if flags & bfx.FLAG_SEQ_ALL:
            self.seq += 2 if self.ctx.take("skip_seq") else 1  # numbered when sent, so a stall leaves no gap
            frame.append(self.seq)
        if flags & bfx.FLAG_TIMESTAMP:
            frame.append(int(self.ctx.clock() * 1000))
        if self.send(orjson.dumps(frame)) and not heartbeat:
            chan.traffic = True

    def _hold(self, chan: Channel, payload: Payload) -> None:
        chan.held.append(payload)
        if len(chan.held) > self.ctx.settings.bitfinex_stall_hold:
            self.log.warning("a stalled channel held %d frames: cutting the socket", len(chan.held))
            chan.held.clear()
            self.abort()

    def _resume(self, chan: Channel) -> None:
        """The stall is over: what it held goes out in order, then the book's checksum as it is now."""
        chan.stalled_until = None
        held, chan.held = chan.held, type(chan.held)()
        for payload in held:
            self._write(chan, payload)
        if chan.channel == bfx.BOOK and chan.cs_due:
            self._maybe_checksum(chan, force=True)

    def _error(self, request: dict[str, Any], msg: str, code: int, **extra: Any) -> None:
        reply = {k: v for k, v in request.items() if k != "event"}
        reply.update({"event": "error", "msg": msg, "code": code})
        reply.update(extra)
        self.send_json(reply)

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        server_id = uuid.UUID(int=random.Random(self.ctx.new_id()).getrandbits(128), version=4)
        self.send_json({"event": "info", "version": bfx.API_VERSION, "serverId": str(server_id),
                        "platform": {"status": 1}})

    async def on_message(self, message: str | bytes) -> None:
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError:
            return  # the live venue ignores non-JSON text and keeps the socket open
        if not isinstance(req, dict):
            self.send_json({"event": "error", "msg": "event: invalid", "code": bfx.ERR_UNKNOWN_EVENT})
            return
        event = req.get("event")
        if event == "conf":
            self._conf(req)
        elif event == "subscribe":
            self._subscribe(req)
        elif event == "unsubscribe":
            self._unsubscribe(req)
        elif event == "ping":
            reply: dict[str, Any] = {"event": "pong", "ts": int(self.ctx.clock() * 1000)}
            if "cid" in req:
                reply["cid"] = req["cid"]
            self.send_json(reply)
        else:
            self.send_json({"event": "error", "msg": f"event: invalid ({event})", "code": bfx.ERR_UNKNOWN_EVENT})

    def _conf(self, req: dict[str, Any]) -> None:
        flags = req.get("flags", 0)
        if isinstance(flags, int) and not isinstance(flags, bool) and flags >= 0:
            self.flags = flags
            self.send_json({"event": "conf", "status": "OK", "flags": flags})
        elif isinstance(flags, str) and flags.isdigit():
            self.flags = int(flags)
            self.send_json({"event": "conf", "status": "OK"})
        else:
            self._error(req, "conf: invalid", bfx.ERR_UNKNOWN_EVENT)

    def _subscribe(self, req: dict[str, Any]) -> None:
        channel = req.get("channel")
        raw = req.get("symbol") or (("t" + req["pair"]) if isinstance(req.get("pair"), str) else None)
        if not isinstance(raw, str):
            self._error(req, "symbol: invalid", bfx.ERR_SUBSCRIBE)
            return
        symbol = raw if raw.startswith(("t", "f")) and raw[1:2].isupper() else "t" + raw
        book = self.ctx.market.by_symbol.get((self.venue, symbol))
        if channel not in (bfx.BOOK, bfx.TRADES):
            self._error(req, "channel: unknown", bfx.ERR_SUBSCRIBE)
            return
        if book is None:
            self._error(req, "symbol: invalid", bfx.ERR_SUBSCRIBE, pair=symbol[1:])
            return
        depth = None
        if channel == bfx.BOOK:
            prec = req.get("prec", bfx.PRECISION)
            if prec != bfx.PRECISION:
                self._error(req, "prec: invalid (the simulator serves P0 books only)", bfx.ERR_SUBSCRIBE,
                            pair=symbol[1:])
                return
            length = str(req.get("len", "25"))
            if not length.isdigit() or int(length) not in bfx.LENGTHS:
                self._error(req, "length: invalid", bfx.ERR_SUBSCRIBE, pair=symbol[1:])
                return
            depth = int(length)
            freq = req.get("freq", bfx.FREQUENCIES[0])
            if freq not in bfx.FREQUENCIES:
                self._error(req, "freq: invalid", bfx.ERR_SUBSCRIBE, pair=symbol[1:])
                return
            key: tuple[str, ...] = (bfx.BOOK, symbol, prec, freq, str(depth))
        else:
            key = (bfx.TRADES, symbol)
        if key in self.by_key:
            self._error(req, "subscribe: dup", bfx.ERR_ALREADY_SUBSCRIBED, chanId=self.by_key[key], pair=symbol[1:])
            return
        if len(self.channels) >= self.ctx.settings.bitfinex_channel_limit:
            self._error(req, "subscribe: limit", bfx.ERR_SUBSCRIPTION_LIMIT, pair=symbol[1:])
            return
        next_tick = self.ctx.loop_time() + self.ctx.settings.bitfinex_heartbeat
        chan = Channel(self.ctx.new_id(), channel, symbol, book.spec.pair, req, next_tick, depth=depth, book=book)
        self.channels[chan.chan_id] = chan
        self.by_key[key] = chan.chan_id
        ack: dict[str, Any] = {"event": "subscribed", "channel": channel, "chanId": chan.chan_id, "symbol": symbol}
        if channel == bfx.BOOK:
            ack.update({"prec": bfx.PRECISION, "freq": req.get("freq", bfx.FREQUENCIES[0]), "len": str(depth)})
        if "subId" in req:
            ack["subId"] = req["subId"]
        ack["pair"] = symbol[1:]
        self.send_json(ack)
        if channel == bfx.BOOK:
            chan.window = self.ctx.subscribe_book(self, book.spec.pair, depth)
            self._snapshot(chan)
        else:
            self.ctx.subscribe_trades(self, book.spec.pair)
            recent = self.recent.of(book.spec.pair)[-TRADES_SNAPSHOT:]
            self._emit(chan, [self._trade_row(t) for t in reversed(recent)])

    def _unsubscribe(self, req: dict[str, Any]) -> None:
        chan_id = req.get("chanId")
        chan = self.channels.pop(chan_id, None) if isinstance(chan_id, int) else None
        if chan is None:
            self._error(req, "unsubscribe: invalid", bfx.ERR_UNSUBSCRIBE)
            return
        self.by_key = {k: v for k, v in self.by_key.items() if v != chan_id}
        if chan.channel == bfx.BOOK:
            if not any(c.channel == bfx.BOOK and c.pair == chan.pair and c.depth == chan.depth
                       for c in self.channels.values()):
                self.ctx.unsubscribe_book(self, chan.pair, chan.depth)
        elif not any(c.channel == bfx.TRADES and c.pair == chan.pair for c in self.channels.values()):
            self.ctx.unsubscribe_trades(self, chan.pair)
        self.send_json({"event": "unsubscribed", "status": "OK", "chanId": chan_id})

    # -- book -----------------------------------------------------------------------------------------

    @staticmethod
    def _entry(book: SimBook, side: str, idx: int, steps: int) -> list[Any]:
        price = wire_number(book.price(idx))
        if steps <= 0:
            return [price, 0, 1 if side == BID else -1]
        size = book.size(steps)
        count = 1 + (idx * 7 + steps) % 6  # orders at the level: the model has none, so a stable guess
        return [price, count, wire_number(size if side == BID else -size)]

    def _snapshot(self, chan: Channel) -> None:
        window, book = chan.window, chan.book
        assert window is not None and book is not None
        entries = [self._entry(book, BID, i, s) for i, s in window.levels(BID)]
        entries += [self._entry(book, ASK, i, s) for i, s in window.levels(ASK)]
        self._emit(chan, entries)
        chan.cs_due = True
        self._maybe_checksum(chan, force=True)

    def on_book(self, key: tuple[str, str], depth: int | None, changes: list[WindowChange]) -> None:
        for chan in self.channels.values():
            if chan.channel != bfx.BOOK or chan.pair != key[1] or chan.depth != depth:
                continue
            book = chan.book
            assert book is not None
            if self.flags & bfx.FLAG_BULK:
                self._emit(chan, [self._entry(book, s, i, n) for s, i, n in changes])
            else:
                for side, idx, steps in changes:
                    self._emit(chan, self._entry(book, side, idx, steps))
            chan.cs_due = True
            self._maybe_checksum(chan)

    def _maybe_checksum(self, chan: Channel, force: bool = False) -> None:
        if not self.flags & bfx.FLAG_CHECKSUM or not chan.cs_due:
            return
        now = self.ctx.loop_time()
        if chan.stalled(now) or self.maintenance_until:
            return  # the resume sends one after what the stall held
        if not force and now - chan.last_cs < self.ctx.settings.bitfinex_checksum_interval:
            return
        window, book = chan.window, chan.book
        assert window is not None and book is not None
        top = bfx.CHECKSUM_LEVELS
        bids = [(book.price(i), book.size(s)) for i, s in window.levels(BID)[:top]]
        asks = [(book.price(i), book.size(s)) for i, s in window.levels(ASK)[:top]]
        value = bfx.checksum_of(bids, asks)
        if self.ctx.take("bad_checksum"):
            value = (value ^ 0x5A5A5A) & 0x7FFFFFFF
            self.log.info("sending a wrong checksum on %s", chan.symbol)
        chan.last_cs = now
        chan.cs_due = False
        self._emit(chan, bfx.CHECKSUM, value)

    # -- trades ---------------------------------------------------------------------------------------

    @staticmethod
    def _trade_row(t: SimTrade) -> list[Any]:
        amount = t.size if t.side == "buy" else -t.size
        return [t.id, int(t.ts * 1000), wire_number(amount), wire_number(t.price)]

    def on_trade(self, trade: SimTrade) -> None:
        due = self.ctx.loop_time() + TU_DELAY
        for chan in self.channels.values():
            if chan.channel == bfx.TRADES and chan.pair == trade.pair:
                row = self._trade_row(trade)
                self._emit(chan, bfx.TRADE_EXECUTED, row)
                chan.pending_tu.append((due, row))

    # -- time -----------------------------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        if self.maintenance_until and now >= self.maintenance_until:
            self.maintenance_until = 0.0
            self.send_json({"event": "info", "code": bfx.INFO_MAINTENANCE_OVER, "msg": "Maintenance ended"})
        period = self.ctx.settings.bitfinex_heartbeat
        for chan in list(self.channels.values()):
            self._holding(chan)  # resumes a channel whose stall (or the maintenance) just ended
            while chan.pending_tu and chan.pending_tu[0][0] <= now:
                _, row = chan.pending_tu.popleft()
                self._emit(chan, bfx.TRADE_UPDATED, row)
            if chan.channel == bfx.BOOK and chan.cs_due:
                self._maybe_checksum(chan)
            if chan.heartbeat_due(now, period) and not self._holding(chan):
                self._write(chan, (bfx.HEARTBEAT,), heartbeat=True)
        if not self.channels and now - self.last_client_frame > self.ctx.settings.bitfinex_idle_close:
            self.abort()

    # -- faults ---------------------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> bool:
        if fault == "stall" and params.get("pair"):
            until = self.ctx.loop_time() + float(params.get("seconds", 5.0))
            hit = False
            for chan in self.channels.values():
                if chan.pair == params["pair"]:
                    chan.stalled_until = until
                    hit = True
            return hit
        if fault == "info":
            return self._info(int(params.get("code", bfx.INFO_RESTART)), float(params.get("seconds", 3.0)))
        return False

    def _info(self, code: int, seconds: float) -> bool:
        if code == bfx.INFO_RESTART:
            self.send_json({"event": "info", "code": code, "msg": "Stopping. Please try to reconnect"})
            self.ctx.spawn(self._close_soon())
        elif code == bfx.INFO_MAINTENANCE:
            self.send_json({"event": "info", "code": code, "msg": MAINTENANCE_TEXT})
            self.maintenance_until = self.ctx.loop_time() + seconds
        elif code == bfx.INFO_MAINTENANCE_OVER:
            self.maintenance_until = 0.0
            self.send_json({"event": "info", "code": code, "msg": "Maintenance ended"})
        else:
            return False
        return True

    async def _close_soon(self) -> None:
        await asyncio.sleep(CLOSE_AFTER_RESTART)
        await self.close(1012, "Stopping")
