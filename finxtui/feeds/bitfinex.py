"""Bitfinex v2 public feed: P0 books kept correct by checksum and sequence, and trades from ``te``.

One socket carries every pair (book + trades = 2 channels a pair, well under the 25-channel limit). We ask
for checksums, sequence numbers and bulk updates (one frame per batch, frames being the cost). Every ``cs``
is verified against our book; a mismatch resubscribes that book, a sequence gap resubscribes every book on
the socket, and both report ``resyncing`` until the new snapshots land.

Silence: the venue heartbeats each channel every ``heartbeat`` seconds (15) but skips a channel's heartbeat
when that channel had traffic since the previous tick, so a healthy channel can go two periods between frames
(``reference/exchange-protocols.md`` A7: 20-25 s seen in a real session). A channel is stale, and resubscribed,
only after ``SILENCE_PERIODS`` periods; the socket as a whole likewise, and it is abandoned after
``DEAD_PERIODS``. Wire facts: :mod:`finxtui.wire.bitfinex`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from finxtui.feeds.recent import RecentIds
from finxtui.feeds.session import Feed, Resync
from finxtui.feeds.symbols import venue_symbols
from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import LIVE, RESYNCING, STALE, BookChange, BookUpdate, Trade
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import bitfinex as wire
from finxtui.wire.bitfinex import CHECKSUM, CHECKSUM_LEVELS, HEARTBEAT, TRADE_EXECUTED, checksum_of
from finxtui.wire.venues import BITFINEX as VENUE

log = logging.getLogger("finxtui.feeds.bitfinex")

#: heartbeat periods a channel may stay quiet before it is stale: two, because the venue skips a heartbeat after
#: traffic (A7), plus half a period for the venue's and the network's jitter (37.5 s at 15 s)
SILENCE_PERIODS = 2.5
#: heartbeat periods of a socket with no frame on any channel before it is abandoned and reconnected
DEAD_PERIODS = 4.0
LEFT_MEMORY = 64  # channel ids we unsubscribed (or never read) whose late frames are dropped without a word

_NUM = (int, float)  # JSON numbers; bool is its own type here, so true/false never pass as a number
_IGNORED_WORDS = frozenset((wire.TRADE_UPDATED, *wire.FUNDING_TRADE_WORDS))  # ``tu`` repeats a ``te``


def _entries_ok(entries: Any, snapshot: bool) -> bool:
    """Every entry is [price > 0, count >= 0, amount], with a delete's amount exactly ±1 (P0 rules)."""
    if type(entries) not in (list, tuple):
        return False
    for entry in entries:
        if type(entry) is not list or len(entry) < 3:
            return False
        price, count, amount = entry[0], entry[1], entry[2]
        if type(price) not in _NUM or type(count) not in _NUM or type(amount) not in _NUM:
            return False
        if not 0 < price < 1e15 or count < 0 or not -1e15 < amount < 1e15:
            return False
        if count == 0 and amount not in (1, -1) and not snapshot:
            return False
        if count > 0 and amount == 0:
            return False
    return True


class Channel:
    """One subscribed channel: ``kind`` (book or trades), ``pair``, ``symbol``, its ``book`` (books only),
    whether its snapshot has arrived, and ``last_rx``, the loop time of its last frame."""

    __slots__ = ("book", "kind", "last_rx", "pair", "snapshotted", "symbol")

    def __init__(self, kind: str, pair: str, symbol: str, book: OrderBook | None, now: float) -> None:
        self.kind = kind
        self.pair = pair
        self.symbol = symbol
        self.book = book
        self.snapshotted = False
        self.last_rx = now


class BitfinexFeed(Feed):
    """Books and trades of ``pairs`` on one socket. ``depth`` is the book length asked for (one of
    ``wire.LENGTHS``); ``heartbeat`` the venue's heartbeat period in seconds, from which every silence limit
    follows (a test that compresses the venue's time scales it)."""

    source = VENUE.tag

    def __init__(self, base_url: str, pairs: Iterable[str], *, depth: int = 25, books: bool = True,
                 trades: bool = True, bulk: bool = True, table: PairTable = DEFAULT_PAIRS,
                 heartbeat: float = wire.HEARTBEAT_SECONDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if depth not in wire.LENGTHS:
            raise ValueError(f"Bitfinex book length must be one of {wire.LENGTHS}, not {depth}")
        self.base_url = base_url.rstrip("/")
        self.depth = depth
        self.want_books = books
        self.want_trades = trades
        self.flags = wire.FLAG_SEQ_ALL | wire.FLAG_CHECKSUM | (wire.FLAG_BULK if bulk else 0)
        self.heartbeat = heartbeat
        #: seconds without a frame before a channel is stale and resubscribed (a test may lower it)
        self.channel_silence = heartbeat * SILENCE_PERIODS
        self.stale_after = heartbeat * SILENCE_PERIODS
        self.dead_after = heartbeat * DEAD_PERIODS
        self.symbols, self.skipped = venue_symbols(table, self.source, pairs)  # venue symbol -> canonical pair
        self.books: dict[str, OrderBook] = {p: OrderBook(self.source, p) for p in self.symbols.values()}
        self.checksums_ok = 0
        self.resyncs = 0
        self.rejected_subscriptions: dict[str, str] = {}
        self._chans: dict[int, Channel] = {}
        self._left: deque[int] = deque(maxlen=LEFT_MEMORY)
        self._seq = 0
        self._maintenance = False
        self._seen_trades: dict[str, RecentIds] = {p: RecentIds(200) for p in self.symbols.values()}
        self._last_trade_id: dict[str, int] = {}

    def url(self) -> str:
        return self.base_url + wire.PATH

    # -- what tests and tools may read ----------------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The last sequence number read on this socket (0 before the first): the next frame must carry one more."""
        return self._seq

    @property
    def channels(self) -> Mapping[int, Channel]:
        """The channels of this connection by channel id (a read-only view)."""
        return MappingProxyType(self._chans)

    @property
    def remembered_channels(self) -> int:
        """Channel ids held in memory, ours and recently left ones: bounded whatever the venue sends."""
        return len(self._chans) + len(self._left)

    # -- connection -----------------------------------------------------------------------------------

    async def on_connected(self, ws: ClientConnection) -> None:
        self._chans.clear()
        self._seq = 0
        self._maintenance = False
        await self.send_json({"event": wire.CONF, "flags": self.flags})
        for symbol in self.symbols:
            for msg in self._subscriptions(symbol):
                await self.send_json(msg)

    def _subscriptions(self, symbol: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.want_books:
            out.append({"event": wire.SUBSCRIBE, "channel": wire.BOOK, "symbol": symbol, "prec": wire.PRECISION,
                        "freq": wire.FREQUENCIES[0], "len": str(self.depth)})
        if self.want_trades:
            out.append({"event": wire.SUBSCRIBE, "channel": wire.TRADES, "symbol": symbol})
        return out

    def on_disconnected(self) -> None:
        self._chans.clear()

    # -- frames ---------------------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        msg = orjson.loads(frame)
        if type(msg) is not list:
            if type(msg) is dict:
                self._event(msg)
            else:
                self.reject("neither an event nor a channel frame", frame)
            return
        # Channel data, ``[CHAN_ID, payload, ..., SEQ]``: read here rather than in a method of its own, and the
        # common frame (one book level) applied here too, as one Python call a frame costs ~5% at full rate.
        if len(msg) < 3 or type(msg[-1]) is not int:
            self.reject("channel frame without a sequence number", frame)
            return
        seq = msg[-1]
        if seq != self._seq + 1 and self._seq:
            expected = self._seq + 1
            self._seq = seq
            self._resync_all(f"sequence gap: expected {expected}, got {seq}")
            return
        self._seq = seq
        chan = self._chans.get(msg[0])
        if chan is None:
            if msg[0] not in self._left and msg[1] != HEARTBEAT:
                # Heartbeats may precede a channel's ack (seen in the 2021 capture); anything else for a channel
                # that is neither ours nor one we just left is counted and logged (capped), never stored.
                self.reject("frame for a channel we never subscribed", frame)
            return
        chan.last_rx = self._last_rx  # the session stamped this frame on arrival
        payload = msg[1]
        if type(payload) is not list:
            self._word(chan, payload, msg, frame)
            return
        book = chan.book
        if book is None:
            self._trade_snapshot(chan, payload)
            return
        if len(payload) == 3 and chan.snapshotted:
            price, count, amount = payload
            tp, ta = type(price), type(amount)
            if ((tp is float or tp is int) and (ta is float or ta is int) and type(count) is int
                    and 0 < price < 1e15 and -1e15 < amount < 1e15):
                if count > 0:
                    if amount > 0:
                        book.set_bid(price, amount)
                        change = (BID, price, amount)
                    elif amount < 0:
                        book.set_ask(price, -amount)
                        change = (ASK, price, -amount)
                    else:
                        change = None
                elif count == 0 and amount == 1:
                    book.set_bid(price, 0)
                    change = (BID, price, 0.0)
                elif count == 0 and amount == -1:
                    book.set_ask(price, 0)
                    change = (ASK, price, 0.0)
                else:
                    change = None
                if change is not None:
                    self._out.append(BookUpdate(self.source, chan.pair, book, False, [change], self.clock()))
                    return
        self._book(chan, payload, frame)  # a snapshot, a bulk list, or an entry to reject: nothing applied yet

    def _word(self, chan: Channel, payload: Any, msg: list, frame: str | bytes) -> None:
        """A channel frame whose payload is a word: heartbeat, checksum, trade."""
        if payload == HEARTBEAT:
            pass
        elif payload == CHECKSUM:
            self._checksum(chan, msg[2])
        elif payload == TRADE_EXECUTED:
            self._trade(chan.pair, msg[2])
        elif payload in _IGNORED_WORDS:
            pass
        else:
            self.reject(f"unknown channel message {payload!r}", frame)

    def _book(self, chan: Channel, payload: list, frame: str | bytes) -> None:
        book = chan.book
        assert book is not None
        snapshot = not chan.snapshotted
        entries = payload if snapshot or (payload and type(payload[0]) is list) else (payload,)
        if not _entries_ok(entries, snapshot):
            # Corrupt book data: applying part of it would leave a book that only looks right.
            self.reject("malformed book entry", frame)
            self._resubscribe(chan, f"malformed book data on {chan.pair}")
            return
        changes: list[BookChange] = []
        add = changes.append
        if snapshot:
            bids: list[tuple[float, float]] = []
            asks: list[tuple[float, float]] = []
            for entry in entries:
                price, count, amount = entry[0], entry[1], entry[2]
                if count > 0:
                    if amount > 0:
                        bids.append((price, amount))
                        add((BID, price, amount))
                    else:
                        asks.append((price, -amount))
                        add((ASK, price, -amount))
            book.load(bids, asks)
            chan.snapshotted = True
            self.emit(BookUpdate(self.source, chan.pair, book, True, changes, self.clock()))
            self.refresh_status()
            return
        for entry in entries:
            price, count, amount = entry[0], entry[1], entry[2]
            if count > 0:
                if amount > 0:
                    add((BID, price, amount))
                else:
                    add((ASK, price, -amount))
            elif amount == 1:
                add((BID, price, 0.0))
            else:
                add((ASK, price, 0.0))
        if changes:
            book.apply(changes)
            self.emit(BookUpdate(self.source, chan.pair, book, False, changes, self.clock()))

    def _checksum(self, chan: Channel, value: Any) -> None:
        book = chan.book
        if book is None or not chan.snapshotted:
            return
        mine = checksum_of(book.top_bids(CHECKSUM_LEVELS), book.top_asks(CHECKSUM_LEVELS))  # never the whole book
        if mine == value:
            self.checksums_ok += 1
            return
        self._resubscribe(chan, f"checksum mismatch on {chan.pair} (venue {value}, ours {mine})")

    def _trade(self, pair: str, row: Any) -> None:
        if (type(row) is not list or len(row) < 4 or type(row[0]) is not int or type(row[1]) not in _NUM
                or type(row[2]) not in _NUM or type(row[3]) not in _NUM or not row[2] or not row[3] > 0):
            self.reject("malformed trade", orjson.dumps(row))
            return
        trade_id, mts, amount, price = row[0], row[1], row[2], row[3]
        if not self._seen_trades[pair].add(trade_id):
            return  # a repeat
        last = self._last_trade_id
        if trade_id > last.get(pair, 0):
            last[pair] = trade_id
        self.emit(Trade(self.source, pair, price, abs(amount), "buy" if amount > 0 else "sell", mts / 1000.0,
                        str(trade_id)))

    def _trade_snapshot(self, chan: Channel, rows: list) -> None:
        chan.snapshotted = True
        last = self._last_trade_id.get(chan.pair, 0)
        # Only trades newer than what we already reported (a reconnect replays the recent ones).
        for row in sorted((r for r in rows if type(r) is list and len(r) >= 4), key=lambda r: r[0]):
            if row[0] > last:
                self._trade(chan.pair, row)
        self.refresh_status()

    # -- events ---------------------------------------------------------------------------------------

    def _event(self, msg: dict) -> None:
        event = msg.get("event")
        if event == wire.SUBSCRIBED:
            symbol = msg.get("symbol", "")
            pair = self.symbols.get(symbol)
            if pair is None:
                return
            kind = msg.get("channel", "")
            chan_id = msg.get("chanId")
            if type(chan_id) is not int:
                self.reject("subscription ack without a channel id", orjson.dumps(msg))
                return
            if kind not in (wire.BOOK, wire.TRADES):
                self._left.append(chan_id)  # a channel we do not read (ticker, candles): ignore it
                return
            book = self.books[pair] if kind == wire.BOOK else None
            self._chans[chan_id] = Channel(kind, pair, symbol, book, self.loop_time())
            self.rejected_subscriptions.pop(f"{kind} {symbol}", None)
        elif event == wire.UNSUBSCRIBED:
            pass
        elif event == wire.ERROR:
            self._error(msg)
        elif event == wire.INFO:
            self._info(msg)
        elif event in (wire.CONF, wire.PONG):
            if event == wire.CONF and msg.get("status") != wire.STATUS_OK:
                log.warning("bitfinex refused conf flags %s: %s", self.flags, msg)
        else:
            self.reject(f"unknown event {event!r}", orjson.dumps(msg))

    def _error(self, msg: dict) -> None:
        code = msg.get("code")
        if code == wire.ERR_ALREADY_SUBSCRIBED:
            return  # the channel we have is fine
        what = f"{msg.get('channel', '?')} {msg.get('symbol', msg.get('chanId', ''))}".strip()
        text = f"{msg.get('msg', 'error')} ({code})"
        self.rejected_subscriptions[what] = text
        log.warning("bitfinex rejected %s: %s", what, text)
        self.refresh_status()

    def _info(self, msg: dict) -> None:
        code = msg.get("code")
        if "version" in msg:
            if msg["version"] != wire.API_VERSION:
                self.fatal(f"server speaks API version {msg['version']}, not {wire.API_VERSION}")
            if msg.get("platform", {}).get("status") == wire.PLATFORM_MAINTENANCE:
                self.set_status(STALE, "venue in maintenance (platform status 0)")
            return
        if code == wire.INFO_RESTART:
            raise Resync(f"venue restarting (info {code})")
        if code == wire.INFO_MAINTENANCE:
            self._maintenance = True
            self.set_status(STALE, f"venue maintenance (info {code}): paused")
        elif code == wire.INFO_MAINTENANCE_OVER:
            self._maintenance = False
            self._resync_all(f"maintenance over (info {code})")

    # -- resync and health ----------------------------------------------------------------------------

    def _resubscribe(self, chan: Channel, reason: str) -> None:
        self.resyncs += 1
        for chan_id, c in list(self._chans.items()):
            if c is chan:
                del self._chans[chan_id]
                self._left.append(chan_id)  # its last frames may still be on the wire
                self.send_later({"event": wire.UNSUBSCRIBE, "chanId": chan_id})
        sub = next(m for m in self._subscriptions(chan.symbol) if m["channel"] == chan.kind)
        self.send_later(sub)
        self.set_status(RESYNCING, reason)

    def _resync_all(self, reason: str) -> None:
        for chan in list(self._chans.values()):
            if chan.kind == wire.BOOK:
                self._resubscribe(chan, reason)
        self.set_status(RESYNCING, reason)

    def refresh_status(self) -> None:
        wanted = len(self.symbols) * (int(self.want_books) + int(self.want_trades))
        live = [c for c in self._chans.values() if c.snapshotted]
        if len(live) + len(self.rejected_subscriptions) < wanted:
            if self.state == LIVE:
                self.set_status(RESYNCING, f"waiting for {wanted - len(live)} channel(s)")
            return
        if self._maintenance:
            return
        detail = ""
        if self.rejected_subscriptions:
            detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.rejected_subscriptions.items()))
        if self.skipped:
            detail = "; ".join(filter(None, [detail, f"not on {VENUE.name}: " + ", ".join(self.skipped)]))
        self.set_status(LIVE, detail)

    def check_health(self, now: float) -> None:
        if self._maintenance or self.ws is None:
            return
        for chan in list(self._chans.values()):
            silent = now - chan.last_rx
            if silent > self.channel_silence:
                self._resubscribe(chan, f"no data on {chan.pair} {chan.kind} for {silent:.0f}s")
                self.set_status(STALE, f"{chan.pair} {chan.kind} silent for {silent:.0f}s; resubscribing")
