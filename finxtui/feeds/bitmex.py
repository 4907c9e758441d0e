"""BitMEX realtime feed: L2 books, trades, 1-minute bins, instruments, and the account's positions and margin.

One socket carries everything. Public topics go out at once (the welcome may come after them); with
credentials the feed authenticates with ``authKeyExpires`` and then subscribes ``position`` and ``margin``.
A rejected key is an ``error`` status scoped to the account, reported once and not retried until the user
reconnects, while the market data keeps flowing.

Books: deltas before a symbol's partial are dropped; a row's price is its own ``price`` (the 2023 API) or
the price remembered for its id (the 2021 API, as in the capture). An update or delete for an unknown id
means the book is out of sync: the symbol is resubscribed and reported ``resyncing``. BitMEX has no
checksum or sequence number, so that and per-symbol silence are the integrity checks there are.
Facts: ``reference/exchange-protocols.md`` part B.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from finxtui.config import Credentials
from finxtui.feeds.session import Feed, RecentIds, Resync
from finxtui.model.bitmex_store import TableStore, UnknownRow, partial_symbols
from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import (
    ERROR,
    LIVE,
    RESYNCING,
    STALE,
    Bar,
    BookChange,
    BookUpdate,
    Instrument,
    Margin,
    Position,
    Status,
    Trade,
)
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.model.signing import bitmex_signature

log = logging.getLogger("finxtui.feeds.bitmex")

PING_AFTER = 5.0  # BitMEX: after 5 s without a message send "ping"...
PONG_WITHIN = 5.0  # ...and reconnect if no "pong" within 5 s
BOOK_SILENCE = 20.0  # a symbol with no book or instrument message for this long is resubscribed
AUTH_EXPIRY = 60  # seconds an authKeyExpires signature stays valid
MINOR_UNITS = {"XBt": ("XBT", 1e8), "USDt": ("USDT", 1e6), "Gwei": ("ETH", 1e9), "XBT": ("XBT", 1.0),
               "USDT": ("USDT", 1.0)}
L2_TABLES = ("orderBookL2", "orderBookL2_25")
TABLES = frozenset({"instrument", "trade", "tradeBin1m", "quote", "position", "margin", "order", "execution"})


def parse_time(text: Any) -> float:
    """BitMEX ISO-8601 UTC (``2021-07-22T22:36:07.865Z``) as UNIX seconds."""
    if not isinstance(text, str):
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def money(value: Any, currency: Any) -> tuple[float | None, str]:
    """A minor-unit integer (XBt, USDt) in its currency's units, with the currency's display name."""
    name, scale = MINOR_UNITS.get(currency, (str(currency or ""), 1.0))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None, name
    return value / scale, name


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
    source = "bitmex"
    book_silence = BOOK_SILENCE
    stale_after = 15.0
    dead_after = 30.0

    def __init__(self, base_url: str, pairs: Iterable[str], *, full_book: bool = False,
                 credentials: Credentials | None = None, table: PairTable = DEFAULT_PAIRS,
                 books: bool = True, trades: bool = True, account: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.book_table = "orderBookL2" if full_book else "orderBookL2_25"
        self.credentials = credentials or Credentials()
        self.want_books = books
        self.want_trades = trades
        self.want_account = account and self.credentials.bitmex
        self.table = table
        self.symbols: dict[str, str] = {}
        self.skipped: list[str] = []
        for pair in pairs:
            symbol = table.symbol("bitmex", pair)
            if symbol is None:
                self.skipped.append(pair)
            else:
                self.symbols[symbol] = pair
        self.books: dict[str, OrderBook] = {p: OrderBook(self.source, p) for p in self.symbols.values()}
        self._l2: dict[str, _L2] = {s: _L2(self.books[p], p) for s, p in self.symbols.items()}
        self.store = TableStore()
        self.instruments: dict[str, dict[str, Any]] = {}
        self.rejected_topics: dict[str, str] = {}
        self.resyncs = 0
        self.account_state = ""
        self.account_detail = ""
        self._auth_failed: str | None = None
        self._ping_sent = 0.0
        self._seen_trades = RecentIds(500)

    def url(self) -> str:
        return self.base_url + "/realtime"

    def credential_hint(self) -> str:
        return "BITMEX_API_KEY / BITMEX_API_SECRET"

    # -- connection -----------------------------------------------------------------------------------

    def _topics(self) -> list[str]:
        topics: list[str] = []
        for symbol in self.symbols:
            topics.append(f"instrument:{symbol}")
            if self.want_books:
                topics.append(f"{self.book_table}:{symbol}")
            if self.want_trades:
                topics += [f"trade:{symbol}", f"tradeBin1m:{symbol}"]
        return topics

    async def on_connected(self, ws: ClientConnection) -> None:
        self.store.reset()
        for l2 in self._l2.values():
            l2.ready = False
            l2.ids.clear()
            l2.last_rx = self.loop_time()
        self._ping_sent = 0.0
        topics = self._topics()
        # BitMEX accepts many topics per message; 10 a message keeps each request small.
        for i in range(0, len(topics), 10):
            await self.send_json({"op": "subscribe", "args": topics[i:i + 10]})
        if self.want_account and self._auth_failed is None:
            expires = int(time.time()) + AUTH_EXPIRY
            signature = bitmex_signature(self.credentials.bitmex_secret, "GET", "/realtime", expires)
            await self.send_json({"op": "authKeyExpires", "args": [self.credentials.bitmex_key, expires, signature]})
            self._set_account("connecting", "authenticating")
        elif not self.credentials.bitmex and self.account_state == "":
            self._set_account(ERROR, "no BitMEX credentials: set BITMEX_API_KEY and BITMEX_API_SECRET "
                                     "(a read-only key) to see positions")

    def reconnect(self, reason: str = "reconnect requested") -> None:
        self._auth_failed = None  # the user may have fixed the key
        super().reconnect(reason)

    def on_disconnected(self) -> None:
        for l2 in self._l2.values():
            l2.ready = False

    # -- frames ---------------------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        if frame == b"pong" or frame == "pong":
            self._ping_sent = 0.0
            return
        msg = orjson.loads(frame)
        if type(msg) is not dict:
            self.reject("not a JSON object", frame)
            return
        table = msg.get("table")
        if table is not None:
            if table in L2_TABLES:
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
        bad = _bad_rows(data, action)
        if bad:
            # Corrupt rows: applying the rest would leave a book that only looks right. Rebuild it.
            self.reject("malformed book row", frame)
            for symbol in bad & self._l2.keys():
                self._resubscribe(symbol, f"malformed book data on {self._l2[symbol].pair}")
            return
        if action == "partial":
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
                    side = BID if row["side"] == "Buy" else ASK
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
            return
        if action not in ("insert", "update", "delete"):
            self.reject(f"unknown action {action!r}", frame)
            return
        per_symbol: dict[str, list[BookChange]] = {}
        now = self._last_rx  # the session stamped this frame on arrival
        for row in data:
            symbol = row.get("symbol")
            l2 = self._l2.get(symbol)  # type: ignore[arg-type]
            if l2 is None or not l2.ready:
                self.store.dropped_before_partial += 1
                continue
            l2.last_rx = now
            rid = row.get("id")
            if action == "insert":
                side = BID if row["side"] == "Buy" else ASK
                price = row["price"]
                size = row["size"]
                l2.ids[rid] = (side, price)
            else:
                known = l2.ids.get(rid) if action == "update" else l2.ids.pop(rid, None)
                if known is None:
                    self._resubscribe(symbol, f"{action} for unknown level id {rid} on {l2.pair}")
                    per_symbol.pop(symbol, None)
                    continue
                side, price = known
                size = row["size"] if action == "update" else 0.0
            if side == BID:
                l2.book.set_bid(price, size)
            else:
                l2.book.set_ask(price, size)
            changes = per_symbol.get(symbol)
            if changes is None:
                changes = per_symbol[symbol] = []
            changes.append((side, price, size))
        ts = self.clock()
        for symbol, changes in per_symbol.items():
            l2 = self._l2[symbol]
            if l2.ready:
                self.emit(BookUpdate(self.source, l2.pair, l2.book, False, changes, ts))

    def _resubscribe(self, symbol: str, reason: str) -> None:
        l2 = self._l2[symbol]
        if not l2.ready:
            return
        l2.ready = False
        self.resyncs += 1
        topic = f"{self.book_table}:{symbol}"
        self.send_later({"op": "unsubscribe", "args": [topic]})
        self.send_later({"op": "subscribe", "args": [topic]})
        self.set_status(RESYNCING, reason)

    # -- other tables ---------------------------------------------------------------------------------

    def _table(self, msg: dict, frame: str | bytes) -> None:
        table = msg["table"]
        if table not in TABLES:
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
        if not rows:
            return
        action = msg.get("action")
        if table == "instrument":
            now = self.loop_time()
            for row in rows:
                symbol = row.get("symbol")
                if isinstance(symbol, str):
                    l2 = self._l2.get(symbol)
                    if l2 is not None:
                        l2.last_rx = now  # the venue re-sends instruments every few seconds: a symbol's pulse
                    facts = self.instruments.setdefault(symbol, {})
                    before = _contract(symbol, facts)
                    facts.update(row)
                    after = _contract(symbol, facts)
                    pair = self.symbols.get(symbol)
                    if after is not None and after != before and pair is not None:
                        inverse, value, unit = after
                        self.emit(Instrument(self.source, pair, symbol, inverse, value, unit,
                                             _num(facts.get("tickSize")), _num(facts.get("lotSize"))))
        elif table == "trade":
            if action != "partial":
                self._trades(rows)
        elif table == "tradeBin1m":
            if action != "partial":
                self._bins(rows)
        elif table == "position":
            for row in rows:
                self._position(row)
            if action == "partial":
                self._set_account(LIVE, "")
        elif table == "margin":
            for row in rows:
                self._margin(row)

    def _resubscribe_table(self, table: str, msg: dict) -> None:
        symbols = {row.get("symbol") for row in msg.get("data", []) if isinstance(row, dict)}
        topics = [table] if table in ("position", "margin") else [f"{table}:{s}" for s in symbols if s]
        for topic in topics:
            self.send_later({"op": "unsubscribe", "args": [topic]})
            self.send_later({"op": "subscribe", "args": [topic]})

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
            side = "buy" if row.get("side") == "Buy" else "sell"
            self.emit(Trade(self.source, pair, price, size, side, parse_time(row.get("timestamp")), match))

    def _bins(self, rows: list[dict]) -> None:
        for row in rows:
            pair = self.symbols.get(row.get("symbol", ""))
            if pair is None or not isinstance(row.get("open"), (int, float)):
                continue  # a bin with no trades carries no prices
            end = parse_time(row.get("timestamp"))
            # BitMEX labels a bin with its END; events carry the open time.
            self.emit(Bar(self.source, pair, row["open"], row["high"], row["low"], row["close"],
                          row.get("volume", 0), end - 60.0))

    def _position(self, row: dict) -> None:
        symbol = row.get("symbol", "")
        qty = row.get("currentQty")
        if not isinstance(qty, (int, float)):
            return
        inst = self.instruments.get(symbol, {})
        mark = row.get("markPrice") if isinstance(row.get("markPrice"), (int, float)) else inst.get("markPrice")
        pnl, currency = money(row.get("unrealisedPnl"), row.get("currency"))
        realised, _ = money(row.get("realisedPnl"), row.get("currency"))
        base = None
        if inst.get("isInverse") and isinstance(mark, (int, float)) and mark:
            base = qty / mark  # inverse contracts are quoted in USD: 1 contract = 1 USD of the coin
        elif isinstance(inst.get("underlyingToPositionMultiplier"), (int, float)) and inst[
                "underlyingToPositionMultiplier"]:
            base = qty / inst["underlyingToPositionMultiplier"]
        elif isinstance(row.get("homeNotional"), (int, float)):
            base = row["homeNotional"]
        leverage = row.get("leverage")
        self.emit(Position(self.source, self.table.pair_for("bitmex", symbol), symbol, qty,
                           _num(row.get("avgEntryPrice")), _num(mark), _num(row.get("liquidationPrice")),
                           pnl, _num(leverage), currency, base, realised, parse_time(row.get("timestamp"))))

    def _margin(self, row: dict) -> None:
        currency = row.get("currency")
        wallet, name = money(row.get("walletBalance"), currency)
        balance, _ = money(row.get("marginBalance"), currency)
        available, _ = money(row.get("availableMargin"), currency)
        pnl, _ = money(row.get("unrealisedPnl"), currency)
        self.emit(Margin(self.source, name, wallet, balance, available, pnl, parse_time(row.get("timestamp"))))

    # -- replies --------------------------------------------------------------------------------------

    def _success(self, msg: dict) -> None:
        request = msg.get("request") or {}
        if msg.get("success") is False:
            self._error(msg)
            return
        if request.get("op") in ("authKeyExpires", "authKey"):
            self._set_account("connecting", "authenticated; subscribing")
            self.send_later({"op": "subscribe", "args": ["position", "margin"]})
        elif "subscribe" in msg:
            self.rejected_topics.pop(str(msg["subscribe"]), None)

    def _error(self, msg: dict) -> None:
        status = msg.get("status")
        text = str(msg.get("error", "error"))
        request = msg.get("request") or {}
        op = request.get("op")
        if op in ("authKeyExpires", "authKey") or status in (401, 403):
            self._auth_failed = text
            self._set_account(ERROR, f"BitMEX rejected the API key ({status}: {text}); check BITMEX_API_KEY and "
                                     "BITMEX_API_SECRET. Market data continues; press r to retry")
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
                   and f"{self.book_table}:{s}" not in self.rejected_topics]
        if waiting:
            if self.state == LIVE:
                self.set_status(RESYNCING, "waiting for " + ", ".join(waiting))
            return
        notes = [f"{t}: {why}" for t, why in sorted(self.rejected_topics.items())]
        if self.skipped:
            notes.append("not on BitMEX: " + ", ".join(self.skipped))
        self.set_status(LIVE, "; ".join(notes))

    def check_health(self, now: float) -> None:
        if self.ws is None:
            return
        idle = now - self._last_rx
        if self._ping_sent:
            if now - self._ping_sent > PONG_WITHIN:
                raise Resync(f"no pong within {PONG_WITHIN:.0f}s")
        elif idle > PING_AFTER:
            self._ping_sent = now
            self.send_later("ping")
        if not self.want_books:
            return
        for symbol, l2 in self._l2.items():
            if l2.ready and now - l2.last_rx > self.book_silence:
                silent = now - l2.last_rx
                self._resubscribe(symbol, f"no book data for {l2.pair} for {silent:.0f}s")
                self.set_status(STALE, f"{l2.pair} book silent for {silent:.0f}s; resubscribing")


_NUM = (int, float)  # bool is its own type here, so true/false never pass as a number


def _bad_rows(data: list, action: Any) -> set[str]:
    """The symbols of book rows that break the table's rules (an empty set when every row is sound)."""
    bad: set[str] = set()
    for row in data:
        if type(row) is not dict:
            bad.add("")
            continue
        symbol = row.get("symbol")
        symbol = symbol if type(symbol) is str else ""
        if row.get("side") not in ("Buy", "Sell") or type(row.get("id")) is not int:
            bad.add(symbol)
            continue
        price, size = row.get("price"), row.get("size")
        price_ok = type(price) in _NUM and 0 < price < 1e15
        if not price_ok and (price is not None or action in ("partial", "insert")):
            bad.add(symbol)  # a price is required on new levels, and must be sound wherever it is given
        elif action != "delete" and (type(size) not in _NUM or not 0 < size < 1e18):
            bad.add(symbol)
    return bad


def _contract(symbol: str, facts: dict[str, Any]) -> tuple[bool, float, str] | None:
    """(inverse, value of one contract, its currency) from an instrument row, once it says enough."""
    if facts.get("isInverse"):
        return True, 1.0, str(facts.get("quoteCurrency") or "USD")
    per = facts.get("underlyingToPositionMultiplier")
    if isinstance(per, (int, float)) and per:
        return False, 1.0 / per, str(facts.get("underlying") or symbol)
    return None


def _num(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
