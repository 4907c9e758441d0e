"""Bitfinex API v2 public websocket, as ``wss://api-pub.bitfinex.com/ws/2`` speaks it.

Facts from ``reference/exchange-protocols.md`` part A: info first; ``conf`` flags (checksum 131072,
sequence 65536, timestamp 32768, bulk 536870912); ``book`` P0 with len 1/25/100/250 acked with ``len`` as a
string; snapshot bids then asks, best first; single-entry updates; deletes ``[price,0,±1]``; ``cs`` frames
with the signed CRC-32 over the top 25 per side; one sequence counter per socket shared by every array
frame; ``hb`` after 15 s of silence per channel; ``trades`` with snapshot, ``te`` then ``tu``; error events
with the real codes. Non-JSON text gets no reply (as observed on the live venue).
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from finxtui.model.book import checksum_of
from finxtui.model.jsnum import wire_number
from finxtui.sim.conn import SimConnection, log
from finxtui.sim.market import ASK, BID, SimBook, SimTrade

if TYPE_CHECKING:
    from finxtui.sim.window import Window, WindowChange

FLAG_TIMESTAMP = 32768
FLAG_SEQ_ALL = 65536
FLAG_CHECKSUM = 131072
FLAG_BULK = 536870912

CHANNEL_LIMIT = 25
LENGTHS = {"1": 1, "25": 25, "100": 100, "250": 250}
HEARTBEAT_SECONDS = 15.0
CHECKSUM_INTERVAL = 0.2  # at most one cs per channel this often (the live venue: every ~2.5 s)
TU_DELAY = 1.0
IDLE_CLOSE_SECONDS = 60.0


@dataclass
class Channel:
    chan_id: int
    channel: str  # book | trades
    symbol: str
    pair: str
    request: dict[str, Any]
    depth: int | None = None
    window: Window | None = None
    book: SimBook | None = None
    last_sent: float = 0.0
    last_cs: float = 0.0
    cs_due: bool = False
    stalled_until: float = 0.0
    pending_tu: deque = field(default_factory=deque)


class BitfinexConnection(SimConnection):
    venue = "bitfinex"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flags = 0
        self.seq = 0
        self.channels: dict[int, Channel] = {}
        self.by_key: dict[tuple, int] = {}
        self.hb_seconds = getattr(self.sim, "bitfinex_hb", HEARTBEAT_SECONDS)
        self.maintenance_until = 0.0

    # -- framing --------------------------------------------------------------------------------------

    def _emit(self, chan: Channel, *payload: Any) -> None:
        if chan.stalled_until:
            if self.sim.loop_time() < chan.stalled_until:
                return
            chan.stalled_until = 0.0
        if self.maintenance_until:
            return
        frame = [chan.chan_id, *payload]
        flags = self.flags
        if flags & FLAG_SEQ_ALL:
            self.seq += 2 if self.sim.faults.take("skip_seq", "bitfinex") else 1
            frame.append(self.seq)
        if flags & FLAG_TIMESTAMP:
            frame.append(int(self.sim.clock() * 1000))
        if self.send(orjson.dumps(frame)):
            chan.last_sent = self.sim.loop_time()

    def _error(self, request: dict[str, Any], msg: str, code: int, **extra: Any) -> None:
        reply = {k: v for k, v in request.items() if k != "event"}
        reply.update({"event": "error", "msg": msg, "code": code})
        reply.update(extra)
        self.send_json(reply)

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        server_id = uuid.UUID(int=random.Random(self.sim.new_id()).getrandbits(128), version=4)
        self.send_json({"event": "info", "version": 2, "serverId": str(server_id),
                        "platform": {"status": 1}})

    async def on_message(self, message: str | bytes) -> None:
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError:
            return  # the live venue ignores non-JSON text and keeps the socket open
        if not isinstance(req, dict):
            self.send_json({"event": "error", "msg": "event: invalid", "code": 10000})
            return
        event = req.get("event")
        if event == "conf":
            self._conf(req)
        elif event == "subscribe":
            self._subscribe(req)
        elif event == "unsubscribe":
            self._unsubscribe(req)
        elif event == "ping":
            reply: dict[str, Any] = {"event": "pong", "ts": int(self.sim.clock() * 1000)}
            if "cid" in req:
                reply["cid"] = req["cid"]
            self.send_json(reply)
        else:
            self.send_json({"event": "error", "msg": f"event: invalid ({event})", "code": 10000})

    def _conf(self, req: dict[str, Any]) -> None:
        flags = req.get("flags", 0)
        if isinstance(flags, int) and not isinstance(flags, bool) and flags >= 0:
            self.flags = flags
            self.send_json({"event": "conf", "status": "OK", "flags": flags})
        elif isinstance(flags, str) and flags.isdigit():
            self.flags = int(flags)
            self.send_json({"event": "conf", "status": "OK"})
        else:
            self._error(req, "conf: invalid", 10000)

    def _subscribe(self, req: dict[str, Any]) -> None:
        channel = req.get("channel")
        raw = req.get("symbol") or (("t" + req["pair"]) if isinstance(req.get("pair"), str) else None)
        if not isinstance(raw, str):
            self._error(req, "symbol: invalid", 10300)
            return
        symbol = raw if raw.startswith(("t", "f")) and raw[1:2].isupper() else "t" + raw
        book = self.sim.market.by_symbol.get(("bitfinex", symbol))
        if channel not in ("book", "trades"):
            self._error(req, "channel: unknown", 10300)
            return
        if book is None:
            self._error(req, "symbol: invalid", 10300, pair=symbol[1:])
            return
        depth = None
        if channel == "book":
            prec = req.get("prec", "P0")
            if prec != "P0":
                self._error(req, "prec: invalid (the simulator serves P0 books only)", 10300, pair=symbol[1:])
                return
            length = str(req.get("len", "25"))
            if length not in LENGTHS:
                self._error(req, "length: invalid", 10300, pair=symbol[1:])
                return
            depth = LENGTHS[length]
            freq = req.get("freq", "F0")
            if freq not in ("F0", "F1"):
                self._error(req, "freq: invalid", 10300, pair=symbol[1:])
                return
            key: tuple = ("book", symbol, prec, freq, length)
        else:
            key = ("trades", symbol)
        if key in self.by_key:
            self._error(req, "subscribe: dup", 10301, chanId=self.by_key[key], pair=symbol[1:])
            return
        if len(self.channels) >= CHANNEL_LIMIT:
            self._error(req, "subscribe: limit", 10305, pair=symbol[1:])
            return
        chan = Channel(self.sim.new_id(), channel, symbol, book.spec.pair, req, depth=depth, book=book)
        self.channels[chan.chan_id] = chan
        self.by_key[key] = chan.chan_id
        ack: dict[str, Any] = {"event": "subscribed", "channel": channel, "chanId": chan.chan_id,
                               "symbol": symbol}
        if channel == "book":
            ack.update({"prec": "P0", "freq": req.get("freq", "F0"), "len": str(depth)})
        if "subId" in req:
            ack["subId"] = req["subId"]
        ack["pair"] = symbol[1:]
        self.send_json(ack)
        if channel == "book":
            chan.window = self.sim.subscribe_book(self, "bitfinex", book.spec.pair, depth)
            self._snapshot(chan)
        else:
            self.sim.trade_subs[("bitfinex", book.spec.pair)].add(self)
            recent = list(self.sim.recent_trades[("bitfinex", book.spec.pair)])[-30:]
            self._emit(chan, [self._trade_row(t) for t in reversed(recent)])

    def _unsubscribe(self, req: dict[str, Any]) -> None:
        chan_id = req.get("chanId")
        chan = self.channels.pop(chan_id, None) if isinstance(chan_id, int) else None
        if chan is None:
            self._error(req, "unsubscribe: invalid", 10400)
            return
        self.by_key = {k: v for k, v in self.by_key.items() if v != chan_id}
        if chan.channel == "book":
            if not any(c.channel == "book" and c.pair == chan.pair and c.depth == chan.depth
                       for c in self.channels.values()):
                self.sim.unsubscribe_book(self, "bitfinex", chan.pair, chan.depth)
        elif not any(c.channel == "trades" and c.pair == chan.pair for c in self.channels.values()):
            self.sim.trade_subs[("bitfinex", chan.pair)].discard(self)
        self.send_json({"event": "unsubscribed", "status": "OK", "chanId": chan_id})

    # -- book -----------------------------------------------------------------------------------------

    def _entry(self, book: SimBook, side: str, idx: int, steps: int) -> list:
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
            if chan.channel != "book" or chan.pair != key[1] or chan.depth != depth:
                continue
            book = chan.book
            assert book is not None
            if self.flags & FLAG_BULK:
                self._emit(chan, [self._entry(book, s, i, n) for s, i, n in changes])
            else:
                for side, idx, steps in changes:
                    self._emit(chan, self._entry(book, side, idx, steps))
            chan.cs_due = True
            self._maybe_checksum(chan)

    def _maybe_checksum(self, chan: Channel, force: bool = False) -> None:
        if not self.flags & FLAG_CHECKSUM or not chan.cs_due:
            return
        now = self.sim.loop_time()
        if not force and now - chan.last_cs < CHECKSUM_INTERVAL:
            return
        window, book = chan.window, chan.book
        assert window is not None and book is not None
        bids = [(book.price(i), book.size(s)) for i, s in window.levels(BID)[:25]]
        asks = [(book.price(i), book.size(s)) for i, s in window.levels(ASK)[:25]]
        value = checksum_of(bids, asks)
        if self.sim.faults.take("bad_checksum", "bitfinex"):
            value = (value ^ 0x5A5A5A) & 0x7FFFFFFF
            log.info("bitfinex: sending a wrong checksum on %s", chan.symbol)
        chan.last_cs = now
        chan.cs_due = False
        self._emit(chan, "cs", value)

    # -- trades ---------------------------------------------------------------------------------------

    @staticmethod
    def _trade_row(t: SimTrade) -> list:
        amount = t.size if t.side == "buy" else -t.size
        return [t.id, int(t.ts * 1000), wire_number(amount), wire_number(t.price)]

    def on_trade(self, trade: SimTrade) -> None:
        due = self.sim.loop_time() + TU_DELAY
        for chan in self.channels.values():
            if chan.channel == "trades" and chan.pair == trade.pair:
                row = self._trade_row(trade)
                self._emit(chan, "te", row)
                chan.pending_tu.append((due, row))

    # -- time -----------------------------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        if self.maintenance_until and now >= self.maintenance_until:
            self.maintenance_until = 0.0
            self.send_json({"event": "info", "code": 20061, "msg": "Maintenance ended"})
        for chan in list(self.channels.values()):
            while chan.pending_tu and chan.pending_tu[0][0] <= now:
                _, row = chan.pending_tu.popleft()
                self._emit(chan, "tu", row)
            if chan.channel == "book" and chan.cs_due:
                self._maybe_checksum(chan)
            if now - chan.last_sent >= self.hb_seconds:
                self._emit(chan, "hb")
                chan.last_sent = now
        if not self.channels and now - self.last_client_frame > IDLE_CLOSE_SECONDS:
            self.abort()

    # -- faults ---------------------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> bool:
        if fault == "stall" and params.get("pair"):
            until = self.sim.loop_time() + float(params.get("seconds", 5.0))
            hit = False
            for chan in self.channels.values():
                if chan.pair == params["pair"]:
                    chan.stalled_until = until
                    hit = True
            return hit
        if fault == "info":
            code = int(params.get("code", 20051))
            if code == 20051:
                self.send_json({"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"})
                self.sim.faults._spawn(self._close_soon())
            elif code == 20060:
                self.send_json({"event": "info", "code": 20060,
                                "msg": "Entering in Maintenance mode. Please pause any activity and resume "
                                       "after receiving the info message 20061 (it should take 120 seconds "
                                       "at most)."})
                self.maintenance_until = self.sim.loop_time() + float(params.get("seconds", 3.0))
            elif code == 20061:
                self.maintenance_until = 0.0
                self.send_json({"event": "info", "code": 20061, "msg": "Maintenance ended"})
            else:
                return False
            return True
        return False

    async def _close_soon(self) -> None:
        import asyncio

        await asyncio.sleep(0.2)
        await self.close(1012, "Stopping")
