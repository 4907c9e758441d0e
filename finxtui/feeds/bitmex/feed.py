"""BitMEX realtime feed: L2 books, trades, 1-minute bins, instruments, and the account's positions, margin,
orders and fills.

One socket carries everything. Public topics go out at once (the welcome may come after them); with
credentials the feed authenticates with ``authKeyExpires`` and then subscribes ``position``, ``margin``,
``order`` and ``execution`` (read by :mod:`.orders`).
A rejected key is an ``error`` status scoped to the account, reported once and not retried until the user
reconnects, while the market data keeps flowing.

Books: deltas before a symbol's partial are dropped; a row's price is its own ``price`` (the 2023 API) or
the price remembered for its id (the 2021 API, as in the capture). An update or delete for an unknown id
means the book is out of sync: the symbol is resubscribed and reported ``resyncing``. BitMEX has no
checksum or sequence number, so that and per-symbol silence are the integrity checks there are.

Silence: BitMEX has no heartbeat of its own; after ``PING_AFTER`` (5 s) without a message the feed sends the
text ``ping`` and reconnects when no ``pong`` comes within ``PONG_WITHIN`` (5 s), as BitMEX recommends (B8).

Wire facts: :mod:`finxtui.wire.bitmex`; rows are read by :mod:`.rows`, the keyed tables kept by :mod:`.tables`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from finxtui.config import Credentials
from finxtui.feeds.bitmex.orders import AccountOrders
from finxtui.feeds.bitmex.rows import bad_book_rows, bin_bar, contract, margin, num, position
from finxtui.feeds.bitmex.tables import TableStore, UnknownRow, partial_symbols
from finxtui.feeds.bitmex.typed import BOOK_PREFIX, TRADE_PREFIX, L2Row, TradeRow, book_delta, trade_insert
from finxtui.feeds.recent import RecentIds
from finxtui.feeds.session import Feed, Resync
from finxtui.feeds.symbols import venue_symbols
from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import (
    ERROR,
    LIVE,
    OFF,
    RESYNCING,
    STALE,
    BookChange,
    BookUpdate,
    Instrument,
    Status,
    Trade,
)
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import bitmex as wire
from finxtui.wire.bitmex import BOOK_TABLES, BUY, DELTA_ACTIONS, INSERT, PARTIAL, UPDATE, parse_time
from finxtui.wire.venues import BITMEX as VENUE

log = logging.getLogger("finxtui.feeds.bitmex")

BOOK_SILENCE = 20.0  # a symbol with no book or instrument message for this long is resubscribed
AUTH_EXPIRY = 60  # seconds an authKeyExpires signature stays valid
#: tables stored as rows (every table we subscribe but the books); anything else is rejected, never stored
STORED_TABLES = frozenset(wire.PUBLIC_TABLES + wire.PRIVATE_TABLES) - frozenset(BOOK_TABLES)
#: subscribed after authenticating, for every symbol (orders and fills: :mod:`.orders`)
ACCOUNT_TOPICS = (wire.POSITION, wire.MARGIN, wire.ORDER, wire.EXECUTION)
TOPICS_A_MESSAGE = 10  # BitMEX takes many topics a message; ten keeps each request small
_PONGS = (wire.PONG.encode(), wire.PONG)  # the reply to our ping, as the undecoded frame (bytes) or as text


class _L2:
    """One symbol's book and the id -> (side, price) map its updates and deletes refer to."""

    __slots__ = ("book", "ids", "last_rx", "pair", "ready")

    def __init__(self, book: OrderBook, pair: str) -> None:
        self.book = book
        self.pair = pair
        self.ids: dict[int, tuple[str, float]] = {}
        self.ready = False
        self.last_rx = 0.0


class BitmexFeed(Feed):
    source = VENUE.tag
    book_silence = BOOK_SILENCE
    stale_after = 15.0
    dead_after = 30.0

    def __init__(self, base_url: str, pairs: Iterable[str], *, full_book: bool = False,
                 credentials: Credentials | None = None, table: PairTable = DEFAULT_PAIRS,
                 books: bool = True, trades: bool = True, account: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.book_table = wire.L2_FULL if full_book else wire.L2_25
        self.credentials = credentials or Credentials()
        self.want_books = books
        self.want_trades = trades
        self.want_account = account and self.credentials.bitmex
        self.table = table
        self.symbols, self.skipped = venue_symbols(table, self.source, pairs)  # venue symbol -> canonical pair
        self.books: dict[str, OrderBook] = {p: OrderBook(self.source, p) for p in self.symbols.values()}
        self._l2: dict[str, _L2] = {s: _L2(self.books[p], p) for s, p in self.symbols.items()}
        self.store = TableStore()
        self.orders = AccountOrders(self.source, table, self.store, self.emit, self._known_symbol)
        self.instruments: dict[str, dict[str, Any]] = {}
        self.rejected_topics: dict[str, str] = {}
        self.resyncs = 0
        self.account_state = ""
        self.account_detail = ""
        self._auth_failed: str | None = None
        self._ping_sent = 0.0
        self._seen_trades = RecentIds(500)

    def url(self) -> str:
        return self.base_url + wire.PATH

    def credential_hint(self) -> str:
        return " / ".join(VENUE.key_vars)

    # -- connection -----------------------------------------------------------------------------------

    def _topics(self) -> list[str]:
        topics: list[str] = []
        for symbol in self.symbols:
            topics.append(wire.topic(wire.INSTRUMENT, symbol))
            if self.want_books:
                topics.append(wire.topic(self.book_table, symbol))
            if self.want_trades:
                topics += [wire.topic(wire.TRADE, symbol), wire.topic(wire.TRADE_BIN_1M, symbol)]
        return topics

    async def on_connected(self, ws: ClientConnection) -> None:
        self.store.reset()
        for l2 in self._l2.values():
            l2.ready = False
            l2.ids.clear()
            l2.last_rx = self.loop_time()
        self._ping_sent = 0.0
        topics = self._topics()
        for i in range(0, len(topics), TOPICS_A_MESSAGE):
            await self.send_json({"op": wire.SUBSCRIBE, "args": topics[i:i + TOPICS_A_MESSAGE]})
        if self.want_account and self._auth_failed is None:
            expires = int(time.time()) + AUTH_EXPIRY
            signature = wire.auth_signature(self.credentials.bitmex_secret, expires)
            await self.send_json({"op": wire.AUTH_KEY_EXPIRES,
                                  "args": [self.credentials.bitmex_key, expires, signature]})
            self._set_account("connecting", "authenticating")
        elif not self.credentials.bitmex and self.account_state == "":
            self._set_account(OFF, f"no BitMEX credentials: set {VENUE.key_hint()} (a read-only key) to see "
                                     "positions")

    def reconnect(self, reason: str = "reconnect requested") -> None:
        self._auth_failed = None  # the user may have fixed the key
        super().reconnect(reason)

    def on_disconnected(self) -> None:
        for l2 in self._l2.values():
            l2.ready = False

    # -- frames ---------------------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        if frame in _PONGS:
            self._ping_sent = 0.0
            return
        if type(frame) is bytes and frame.startswith(BOOK_PREFIX):
            delta = book_delta(frame)  # the full-rate message, decoded and checked in C
            if delta is not None:
                self._book_deltas(delta.action, delta.data)
                return
        elif type(frame) is bytes and frame.startswith(TRADE_PREFIX):
            trades = trade_insert(frame)  # the other full-rate message, also decoded and checked in C
            if trades is not None:
                self._typed_trades(trades)
                return
        msg = orjson.loads(frame)
        if type(msg) is not dict:
            self.reject("not a JSON object", frame)
            return
        table = msg.get("table")
        if table is not None:
            if table in BOOK_TABLES:
                self._book(msg, frame)
            else:
                self._table(msg, frame)
            return
        if "info" in msg:
            return  # welcome
        if "success" in msg:
            self._success(msg)
        elif "error" in msg or "status" in msg:
            self._error(msg)
        else:
            self.reject("unknown message", frame)

    # -- books ----------------------------------------------------------------------------------------

    def _book(self, msg: dict, frame: str | bytes) -> None:
        action = msg.get("action")
        data = msg.get("data")
        if type(data) is not list:
            self.reject("table message without data", frame)
            return
        bad = bad_book_rows(data, action)
        if bad:
            # Corrupt rows: applying the rest would leave a book that only looks right. Rebuild it.
            self.reject("malformed book row", frame)
            for symbol in bad & self._l2.keys():
                self._resubscribe(symbol, f"malformed book data on {self._l2[symbol].pair}")
            return
        if action == PARTIAL:
            self._book_partial(msg, data)
        elif action in DELTA_ACTIONS:
            self._book_deltas(action, [L2Row(r.get("symbol"), r.get("id"), r["side"], r.get("size"), r.get("price"))
                                       for r in data])
        else:
            self.reject(f"unknown action {action!r}", frame)

    def _book_partial(self, msg: dict, data: list) -> None:
        symbols = partial_symbols(msg)
        targets = [s for s in symbols if s in self._l2] if symbols != [None] else list(self._l2)
        now = self.loop_time()
        for symbol in targets:
            l2 = self._l2[symbol]
            l2.ids.clear()
            bids: list[tuple[float, float]] = []
            asks: list[tuple[float, float]] = []
            changes: list[BookChange] = []
            for row in data:
                if row.get("symbol") != symbol:
                    continue
                side = BID if row["side"] == BUY else ASK
                price = row["price"]
                size = row["size"]
                l2.ids[row["id"]] = (side, price)
                (bids if side == BID else asks).append((price, size))
                changes.append((side, price, size))
            l2.book.load(bids, asks)
            l2.ready = True
            l2.last_rx = now
            self.emit(BookUpdate(self.source, l2.pair, l2.book, True, changes, self.clock()))
        self.refresh_status()

    def _book_deltas(self, action: str, rows: list[L2Row]) -> None:
        per_symbol: dict[str, list[BookChange]] = {}
        now = self._last_rx  # the session stamped this frame on arrival
        books = self._l2
        insert = action == INSERT
        update = action == UPDATE
        price: float
        size: float
        for row in rows:
            symbol = row.symbol
            l2 = books.get(symbol)
            if l2 is None or not l2.ready:
                self.store.dropped_before_partial += 1
                continue
            l2.last_rx = now
            rid = row.id
            if insert:
                side = BID if row.side == BUY else ASK
                price = row.price  # type: ignore[assignment]  # a checked delta: new levels have both
                size = row.size  # type: ignore[assignment]
                l2.ids[rid] = (side, price)
            else:
                known = l2.ids.get(rid) if update else l2.ids.pop(rid, None)
                if known is None:
                    self._resubscribe(symbol, f"{action} for unknown level id {rid} on {l2.pair}")
                    per_symbol.pop(symbol, None)
                    continue
                side, price = known
                size = row.size if update else 0.0  # type: ignore[assignment]  # an update has a size
            if side == BID:
                l2.book.set_bid(price, size)
            else:
                l2.book.set_ask(price, size)
            changes = per_symbol.get(symbol)
            if changes is None:
                per_symbol[symbol] = [(side, price, size)]
            else:
                changes.append((side, price, size))
        if not per_symbol:
            return
        ts = self.clock()
        for symbol, changed in per_symbol.items():
            l2 = books[symbol]
            if l2.ready:
                self._out.append(BookUpdate(self.source, l2.pair, l2.book, False, changed, ts))

    def _resubscribe(self, symbol: str, reason: str) -> None:
        l2 = self._l2[symbol]
        if not l2.ready:
            return
        l2.ready = False
        self.resyncs += 1
        topic = wire.topic(self.book_table, symbol)
        self.send_later({"op": wire.UNSUBSCRIBE, "args": [topic]})
        self.send_later({"op": wire.SUBSCRIBE, "args": [topic]})
        self.set_status(RESYNCING, reason)

    # -- other tables ---------------------------------------------------------------------------------

    def _table(self, msg: dict, frame: str | bytes) -> None:
        table = msg["table"]
        if table not in STORED_TABLES:
            # Only tables we asked for are stored: a flood of others costs a count, not memory.
            self.reject(f"table we did not subscribe: {str(table)[:40]}", frame)
            return
        try:
            rows = self.store.apply(msg)
        except UnknownRow as exc:
            # A keyed table out of sync: its next partial (after resubscribing) repairs it.
            self.reject(str(exc), frame)
            self._resubscribe_table(table, msg)
            return
        except ValueError as exc:
            self.reject(str(exc), frame)
            return
        action = msg.get("action")
        if not rows and not (table == wire.ORDER and action == PARTIAL):  # an empty image still says what is gone
            return
        if table == wire.INSTRUMENT:
            now = self.loop_time()
            for row in rows:
                symbol = row.get("symbol")
                if isinstance(symbol, str):
                    l2 = self._l2.get(symbol)
                    if l2 is not None:
                        l2.last_rx = now  # the venue re-sends instruments every few seconds: a symbol's pulse
                    facts = self.instruments.setdefault(symbol, {})
                    before = contract(symbol, facts)
                    facts.update(row)
                    after = contract(symbol, facts)
                    pair = self.symbols.get(symbol)
                    if after is not None and after != before and pair is not None:
                        inverse, value, unit = after
                        self.emit(Instrument(self.source, pair, symbol, inverse, value, unit,
                                             num(facts.get("tickSize")), num(facts.get("lotSize"))))
        elif table == wire.TRADE:
            if action != PARTIAL:
                self._trades(rows)
        elif table == wire.TRADE_BIN_1M:
            if action != PARTIAL:
                self._bins(rows)
        elif table == wire.POSITION:
            for row in rows:
                self._position(row)
            if action == PARTIAL:
                self._set_account(LIVE, "")
        elif table == wire.MARGIN:
            for row in rows:
                self._margin(row)
        elif table == wire.ORDER:
            self.orders.orders(msg, rows)
        elif table == wire.EXECUTION:
            self.orders.executions(rows)

    def _known_symbol(self, symbol: str) -> bool:
        """A symbol the monitor can place: one of its pairs, or an instrument this feed has seen."""
        return self.table.pair_for(self.source, symbol) is not None or symbol in self.instruments

    def _resubscribe_table(self, table: str, msg: dict) -> None:
        symbols = {row.get("symbol") for row in msg.get("data", []) if isinstance(row, dict)}
        topics = [table] if table in ACCOUNT_TOPICS else [wire.topic(table, s) for s in symbols if s]
        for topic in topics:
            self.send_later({"op": wire.UNSUBSCRIBE, "args": [topic]})
            self.send_later({"op": wire.SUBSCRIBE, "args": [topic]})

    def _trades(self, rows: list[dict]) -> None:
        for row in rows:
            pair = self.symbols.get(row.get("symbol", ""))
            match = str(row.get("trdMatchID", ""))
            if pair is None or (match and match in self._seen_trades):
                continue
            if match:
                self._seen_trades.add(match)
            price, size = row.get("price"), row.get("size")
            if not isinstance(price, (int, float)) or not isinstance(size, (int, float)):
                self.reject("trade row without price or size", orjson.dumps(row))
                continue
            side = "buy" if row.get("side") == BUY else "sell"
            self.emit(Trade(self.source, pair, price, size, side, parse_time(row.get("timestamp")), match))

    def _typed_trades(self, rows: list[TradeRow]) -> None:
        """:meth:`_trades` for rows decoded in C, with the store's partial gate; the rows are not kept in the
        store (its bounded trade rows are never read: the tape is built from the Trade events)."""
        gate = self.store.gate
        seen = self._seen_trades
        source = self.source
        for row in rows:
            symbol = row.symbol
            if not gate.is_open(wire.TRADE, symbol):
                self.store.dropped_before_partial += 1
                continue
            pair = self.symbols.get(symbol)  # type: ignore[arg-type]  # None is simply not a symbol
            match = row.trdMatchID
            if pair is None or (match and not seen.add(match)):  # not ours, or a repeat
                continue
            side = "buy" if row.side == BUY else "sell"
            self.emit(Trade(source, pair, row.price, row.size, side, parse_time(row.timestamp), match))

    def _bins(self, rows: list[dict]) -> None:
        for row in rows:
            pair = self.symbols.get(row.get("symbol", ""))
            bar = bin_bar(self.source, pair, row) if pair is not None else None
            if bar is not None:
                self.emit(bar)

    def _position(self, row: dict) -> None:
        symbol = row.get("symbol", "")
        event = position(self.source, self.table.pair_for(self.source, symbol), row, self.instruments.get(symbol, {}))
        if event is not None:
            self.emit(event)

    def _margin(self, row: dict) -> None:
        self.emit(margin(self.source, row))

    # -- replies --------------------------------------------------------------------------------------

    def _success(self, msg: dict) -> None:
        request = msg.get("request") or {}
        if msg.get("success") is False:
            self._error(msg)
            return
        if request.get("op") in wire.AUTH_OPS:
            self._set_account("connecting", "authenticated; subscribing")
            self.send_later({"op": wire.SUBSCRIBE, "args": list(ACCOUNT_TOPICS)})
        elif wire.SUBSCRIBE in msg:  # {"success": true, "subscribe": TOPIC}
            self.rejected_topics.pop(str(msg[wire.SUBSCRIBE]), None)

    def _error(self, msg: dict) -> None:
        status = msg.get("status")
        text = str(msg.get("error", "error"))
        request = msg.get("request") or {}
        op = request.get("op")
        if op in wire.AUTH_OPS or status in (401, 403):
            self._auth_failed = text
            self._set_account(ERROR, f"BitMEX rejected the API key ({status}: {text}); check {VENUE.key_hint()}. "
                                     "Market data continues; press r to retry")
            return
        if status == 429:
            raise Resync(f"rate limited by BitMEX: {text}")
        args = request.get("args")
        topics = args if isinstance(args, list) else [args] if args else []
        for topic in topics:
            self.rejected_topics[str(topic)] = f"{text} ({status})"
        log.warning("bitmex error %s: %s (request %s)", status, text, request)
        self.refresh_status()

    def _set_account(self, state: str, detail: str) -> None:
        if (state, detail) == (self.account_state, self.account_detail):
            return
        self.account_state, self.account_detail = state, detail
        self.emit(Status(self.source, state, detail, self.clock(), scope="account"))

    # -- status and health ----------------------------------------------------------------------------

    def refresh_status(self) -> None:
        waiting = [l2.pair for s, l2 in self._l2.items() if self.want_books and not l2.ready
                   and wire.topic(self.book_table, s) not in self.rejected_topics]
        if waiting:
            if self.state == LIVE:
                self.set_status(RESYNCING, "waiting for " + ", ".join(waiting))
            return
        notes = [f"{t}: {why}" for t, why in sorted(self.rejected_topics.items())]
        if self.skipped:
            notes.append(f"not on {VENUE.name}: " + ", ".join(self.skipped))
        self.set_status(LIVE, "; ".join(notes))

    def check_health(self, now: float) -> None:
        if self.ws is None:
            return
        idle = now - self._last_rx
        if self._ping_sent:
            if now - self._ping_sent > wire.PONG_WITHIN:
                raise Resync(f"no pong within {wire.PONG_WITHIN:.0f}s")
        elif idle > wire.PING_AFTER:
            self._ping_sent = now
            self.send_later(wire.PING)
        if not self.want_books:
            return
        for symbol, l2 in self._l2.items():
            if l2.ready and now - l2.last_rx > self.book_silence:
                silent = now - l2.last_rx
                self._resubscribe(symbol, f"no book data for {l2.pair} for {silent:.0f}s")
                self.set_status(STALE, f"{l2.pair} book silent for {silent:.0f}s; resubscribing")
