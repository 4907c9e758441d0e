"""What one BitMEX client holds of each table, and how the market's changes reach it.

:class:`Tables` belongs to one connection. ``start`` registers what a topic needs and returns its partial's
rows; ``on_book``, ``on_trade`` and ``on_timer`` publish: book tables as the net change of every touched
level (at most one delete, one update and one insert message per batch, in that order), ``quote`` one row
per change of the top, ``trade`` rows of one dispatch together (one message per symbol), ``instrument``,
``position`` and ``margin`` updates (keys + changed fields + timestamp) about once a second, ``tradeBin1m``
inserts at each minute close with the bin's ``timestamp`` at its END.

A stall delays, never drops (so it never makes the stream lie): while a pair is stalled (``stall``), or the
whole socket is, the pair's books keep their net changes, its trades and closed bins wait in order, and its
instrument and position updates wait (they are computed against what the client last received); when the
stall ends each book sends its net change, the quote its top as it is, and the held trades and bins follow in
order. Only rows the socket actually sent count as received.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

from sortedcontainers import SortedDict

from finxtui.sim.bitmex.books import BookStream, QuoteState, Top, book_row
from finxtui.sim.bitmex.trading import Message
from finxtui.sim.bitmex.venue import BitmexVenue
from finxtui.sim.core.subscriptions import Subscriber
from finxtui.sim.core.window import WindowChange
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import ASK, BID, SimTrade
from finxtui.wire import bitmex as bmx
from finxtui.wire.bitmex import iso
from finxtui.wire.jsnum import wire_number

WINDOW_DEPTH = 25  # orderBookL2_25
INSTRUMENT_REFRESH = 5.0  # seconds: an unchanged instrument is still re-sent (timestamp), as on the venue
ACCOUNT_TABLES = ("position", "margin")  # private tables computed from the account, sent as diffs
ORDER_TABLES = ("order", "execution")  # private tables the demo trader writes, forwarded as it writes them

Row = dict[str, Any]


class Sink(Protocol):
    """The connection as its tables see it: where rows go, and what the client holds topics for."""

    @property
    def closed(self) -> bool: ...

    def rows(self, table: str, action: str, data: list[Row]) -> bool: ...

    def covers(self, table: str, symbol: str) -> bool: ...

    def stalled(self) -> bool: ...


class Tables:
    def __init__(self, venue: BitmexVenue, owner: Subscriber, sink: Sink) -> None:
        self.venue = venue
        self.ctx = venue.ctx
        self.owner = owner  # what subscribes to the market (the connection, which forwards here)
        self.sink = sink
        self.books: dict[tuple[str, str], BookStream] = {}  # (table, symbol)
        self.quotes: dict[str, QuoteState] = {}  # symbol
        self.full_registered: set[str] = set()  # pairs registered for the full book
        self.trade_registered: set[str] = set()
        self.pair_stalls: dict[str, float] = {}  # pair -> venue clock time the stall ends
        self.sent_rows: dict[tuple[str, tuple[Any, ...]], Row] = {}  # (table, key values) -> last full row
        self.sent_at: dict[tuple[str, tuple[Any, ...]], float] = {}  # (table, key values) -> when last sent
        self.bin_minute = 0
        self.next_update = 0.0
        self.trade_rows: dict[str, list[Row]] = {}  # symbol -> rows waiting for the dispatch's end or a stall
        self.held_bins: dict[str, list[Row]] = {}  # symbol -> bins closed during a stall
        self._trade_flush: asyncio.Handle | None = None
        self.account_queue: deque[tuple[str, str, list[Row], str]] = deque()  # (table, action, rows, pair), held
        venue.account_listeners.append(self.on_account)

    def now(self) -> str:
        return iso(self.ctx.clock())

    def covered(self, table: str) -> list[BitmexContract]:
        return [c for s, c in self.venue.contracts.items() if self.sink.covers(table, s)]

    def held_back(self, pair: str) -> bool:
        """True while ``pair`` (or the whole socket) is stalled: its rows wait."""
        until = self.pair_stalls.get(pair)
        return (until is not None and self.ctx.loop_time() < until) or self.sink.stalled()

    # -- subscribing ----------------------------------------------------------------------------------

    def start(self, table: str, contracts: list[BitmexContract], ts: str) -> list[Row]:
        """Register what ``table`` needs for ``contracts``; the rows of its partial."""
        venue = self.venue
        data: list[Row] = []
        if table in bmx.BOOK_TABLES:
            if self.ctx.take("early_deltas"):
                self._early_deltas(table, contracts[0], ts)
            for c in contracts:
                data.extend(self._book_image(self._book_stream(table, c), ts))
        elif table == "quote":
            for c in contracts:
                qs = self._quote_state(c)
                row = self._quote_row(c, qs.top(), ts)
                qs.sent = qs.top()
                if row is not None:
                    data.append(row)
        elif table == "trade":
            for c in contracts:
                if c.pair not in self.trade_registered:
                    self.trade_registered.add(c.pair)
                    self.ctx.subscribe_trades(self.owner, c.pair)
                recent = venue.recent.of(c.pair)
                if recent:
                    data.append(venue.trade_row(c, recent, len(recent) - 1))
        elif table == "tradeBin1m":
            minute = int(self.ctx.clock() // 60)
            self.bin_minute = minute
            data = [venue.bin_row(c, (minute - 1) * 60) for c in contracts]
        elif table == "instrument":
            for c in contracts:
                row = venue.instrument_row(c, ts)
                self.sent_rows[("instrument", (c.symbol,))] = row
                data.append(row)
        elif table in ACCOUNT_TABLES:
            data = self._account_rows(table, ts, {c.symbol for c in contracts})
            for row in data:
                self.sent_rows[(table, tuple(row[k] for k in bmx.ROW_KEYS[table]))] = row
        elif table in ORDER_TABLES:
            symbols = {c.symbol for c in contracts}
            # The image is the state now: messages held back by a stall are already in it.
            self._drop_held(table, symbols)
            trader = venue.trader
            data = trader.order_rows(symbols, ts) if table == "order" else trader.execution_rows(symbols)
        return data

    def release(self, table: str, contract: BitmexContract) -> None:
        """Drop what ``table`` held for ``contract`` once no topic covers it any more."""
        symbol, pair = contract.symbol, contract.pair
        if self.sink.covers(table, symbol):
            return
        if table in bmx.BOOK_TABLES:
            stream = self.books.pop((table, symbol), None)
            if stream is not None and stream.window is not None:
                self.ctx.unsubscribe_book(self.owner, pair, WINDOW_DEPTH)
        elif table == "quote":
            self.quotes.pop(symbol, None)
        elif table == "trade" and pair in self.trade_registered:
            self.trade_registered.discard(pair)
            self.ctx.unsubscribe_trades(self.owner, pair)
            self.trade_rows.pop(symbol, None)
        elif table == "tradeBin1m":
            self.held_bins.pop(symbol, None)
        elif table == "instrument":
            self.sent_rows.pop(("instrument", (symbol,)), None)
        elif table in ACCOUNT_TABLES:
            for key in [k for k in self.sent_rows if k[0] == table and (table == "margin" or symbol in k[1])]:
                del self.sent_rows[key]
        elif table in ORDER_TABLES:
            self._drop_held(table, {symbol})
        if (pair in self.full_registered and symbol not in self.quotes
                and (bmx.L2_FULL, symbol) not in self.books):
            self.full_registered.discard(pair)
            self.ctx.unsubscribe_book(self.owner, pair, None)

    def close(self) -> None:
        if self.on_account in self.venue.account_listeners:
            self.venue.account_listeners.remove(self.on_account)
        if self._trade_flush is not None:
            self._trade_flush.cancel()
            self._trade_flush = None

    # -- books ----------------------------------------------------------------------------------------

    def _register_full(self, contract: BitmexContract) -> None:
        if contract.pair not in self.full_registered:
            self.full_registered.add(contract.pair)
            self.ctx.subscribe_book(self.owner, contract.pair, None)

    def _book_stream(self, table: str, contract: BitmexContract) -> BookStream:
        stream = self.books.get((table, contract.symbol))
        if stream is None:
            if table == bmx.L2_FULL:
                self._register_full(contract)
                window = None
            else:
                window = self.ctx.subscribe_book(self.owner, contract.pair, WINDOW_DEPTH)
            stream = BookStream(table, contract, self.venue.book(contract), window)
            self.books[(table, contract.symbol)] = stream
        return stream

    def _book_image(self, stream: BookStream, ts: str) -> list[Row]:
        """The partial's rows; the stream now holds exactly them (ids of known levels are kept)."""
        old = stream.held
        stream.held = {}
        stream.pending = {}
        rows = []
        for side, idx, steps in stream.levels_desc():
            known = old.get((side, idx))
            level_id = known[0] if known is not None else self.ctx.new_id()
            stream.held[(side, idx)] = (level_id, steps)
            rows.append(book_row(stream, side, idx, level_id, steps, ts))
        return rows

    def _flush_book(self, stream: BookStream, ts: str | None = None) -> None:
        """Publish the net change of every touched level: at most one delete, update and insert message."""
        if not stream.pending or self.held_back(stream.contract.pair) or self.sink.closed:
            return
        ts = ts or self.now()
        pending, stream.pending = stream.pending, {}
        held = stream.held
        deletes: list[Row] = []
        updates: list[Row] = []
        inserts: list[Row] = []
        for side, idx in pending:
            target = stream.target(side, idx)
            have = held.get((side, idx))
            if have is None:
                if target:
                    level_id = self.ctx.new_id()
                    held[(side, idx)] = (level_id, target)
                    inserts.append(book_row(stream, side, idx, level_id, target, ts))
            elif not target:
                del held[(side, idx)]
                deletes.append(book_row(stream, side, idx, have[0], None, ts))
            elif have[1] != target:
                held[(side, idx)] = (have[0], target)
                updates.append(book_row(stream, side, idx, have[0], target, ts))
        for action, rows in (("delete", deletes), ("update", updates), ("insert", inserts)):
            if rows:
                self.sink.rows(stream.table, action, rows)

    def _early_deltas(self, table: str, contract: BitmexContract, ts: str) -> None:
        """Rows a client must drop: they come before the partial, with ids never used again."""
        book = self.venue.book(contract)
        stream = BookStream(table, contract, book, None)
        bb, ba = book.best_bid(), book.best_ask()
        updates = []
        if bb is not None:
            updates.append(book_row(stream, BID, bb, self.ctx.new_id(), book.bids[bb] + 1, ts))
        if ba is not None:
            updates.append(book_row(stream, ASK, ba, self.ctx.new_id(), book.asks[ba] + 1, ts))
        if updates:
            self.sink.rows(table, "update", updates)
        idx = (bb - 1) if bb is not None else (ba + 1 if ba is not None else 1)
        self.sink.rows(table, "insert", [book_row(stream, BID, idx, self.ctx.new_id(), 1, ts)])

    def on_book(self, key: tuple[str, str], depth: int | None, changes: list[WindowChange]) -> None:
        contract = self.venue.by_pair.get(key[1])
        if contract is None:
            return
        ts = self.now()
        if depth is None:
            qs = self.quotes.get(contract.symbol)
            if qs is not None:
                self._publish_quotes(contract, qs, qs.replay(changes), ts)
            stream = self.books.get((bmx.L2_FULL, contract.symbol))
        else:
            stream = self.books.get((bmx.L2_25, contract.symbol)) if depth == WINDOW_DEPTH else None
        if stream is not None:
            pending = stream.pending
            for side, idx, _ in changes:
                pending[(side, idx)] = None
            self._flush_book(stream, ts)

    def unknown_id(self) -> bool:
        """An update for an id this client never saw, on every book subscription."""
        ts = self.now()
        sent = False
        for stream in self.books.values():
            bids = [idx for side, idx in stream.held if side == BID]
            idx = (min(bids) - 1) if bids else (stream.book.best_bid() or 1)
            row = book_row(stream, BID, max(idx, 1), self.ctx.new_id(), 1, ts)
            sent = self.sink.rows(stream.table, "update", [row]) or sent
        return sent

    # -- quotes ---------------------------------------------------------------------------------------

    def _quote_state(self, contract: BitmexContract) -> QuoteState:
        qs = self.quotes.get(contract.symbol)
        if qs is None:
            book = self.venue.book(contract)
            self._register_full(contract)
            qs = self.quotes[contract.symbol] = QuoteState(SortedDict(book.bids), SortedDict(book.asks))
        return qs

    def _quote_row(self, contract: BitmexContract, top: Top, ts: str) -> Row | None:
        bb, bsteps, ba, asteps = top
        if bb is None and ba is None:
            return None
        book = self.venue.book(contract)
        row: Row = {"timestamp": ts, "symbol": contract.symbol}
        if bb is not None:
            row["bidSize"] = int(book.size(bsteps))
            row["bidPrice"] = wire_number(book.price(bb))
        if ba is not None:
            row["askPrice"] = wire_number(book.price(ba))
            row["askSize"] = int(book.size(asteps))
        return row

    def _publish_quotes(self, contract: BitmexContract, qs: QuoteState, tops: list[Top], ts: str) -> None:
        if not tops or self.held_back(contract.pair):
            return
        rows = [r for r in (self._quote_row(contract, t, ts) for t in tops) if r is not None]
        if rows and self.sink.rows("quote", "insert", rows):
            qs.sent = tops[-1]

    # -- trades ---------------------------------------------------------------------------------------

    def on_trade(self, trade: SimTrade) -> None:
        contract = self.venue.by_pair.get(trade.pair)
        if contract is None:
            return
        recent = self.venue.recent.of(trade.pair)
        i = len(recent) - 1
        while i > 0 and recent[i].id != trade.id:
            i -= 1
        self.trade_rows.setdefault(contract.symbol, []).append(self.venue.trade_row(contract, recent, i))
        if self._trade_flush is None:
            # Every trade of this dispatch is in before the loop runs the callback: one message per symbol.
            self._trade_flush = asyncio.get_running_loop().call_soon(self._flush_trades)

    def _flush_trades(self) -> None:
        self._trade_flush = None
        for symbol in list(self.trade_rows):
            if not self.held_back(self.venue.contracts[symbol].pair):
                self.sink.rows("trade", "insert", self.trade_rows.pop(symbol))

    # -- the account's orders and executions ----------------------------------------------------------

    def on_account(self, messages: list[Message], moved: set[str]) -> None:
        """The demo trader's messages, as they happen, for the symbols this client holds; then, at once, the
        positions (and margin) its fills moved, as BitMEX follows an execution with the position's update."""
        for table, action, rows in messages:
            rows = [r for r in rows if self.sink.covers(table, r["symbol"])]
            if rows:
                self.account_queue.append((table, action, rows, self.venue.contracts[rows[0]["symbol"]].pair))
        self._flush_account()
        if moved:
            held = {s for s in moved if self.sink.covers("position", s)
                    and not self.held_back(self.venue.contracts[s].pair)}
            ts = self.now()
            if held:
                self._send_changes("position", self._account_rows("position", ts, held), bmx.ROW_KEYS["position"])
            if self.sink.covers("margin", "") and not self.sink.stalled():
                self._send_changes("margin", self._account_rows("margin", ts), bmx.ROW_KEYS["margin"])

    def _flush_account(self) -> None:
        """Send held order and execution messages in order, up to the first whose pair is still stalled."""
        queue = self.account_queue
        while queue and not self.sink.closed and not self.held_back(queue[0][3]):
            table, action, rows, _ = queue.popleft()
            self.sink.rows(table, action, rows)

    def _drop_held(self, table: str, symbols: set[str]) -> None:
        kept = [m for m in self.account_queue if not (m[0] == table and m[2][0]["symbol"] in symbols)]
        self.account_queue = deque(kept)

    # -- periodic tables ------------------------------------------------------------------------------

    def _account_rows(self, table: str, ts: str, symbols: set[str] | None = None) -> list[Row]:
        account = self.venue.account
        if table == "position":
            return account.position_rows(self.venue.marks(), ts, symbols, self.venue.trader.open_qty())
        return account.margin_rows(self.venue.marks(), ts)

    def _send_changes(self, table: str, rows: list[Row], keys: tuple[str, ...], refresh: float | None = None) -> None:
        """``update`` rows with the keys, the fields that changed and the timestamp (one message).

        With ``refresh``, a row unchanged for that many seconds is still re-sent with its new timestamp, as the
        live venue does for instruments (their marks tick every few seconds even in a quiet market).
        """
        out: list[Row] = []
        sent: list[tuple[tuple[str, tuple[Any, ...]], Row]] = []
        now = self.ctx.loop_time()
        for row in rows:
            k = (table, tuple(row[f] for f in keys))
            old = self.sent_rows.get(k)
            if old is None:
                continue
            diff = {f: v for f, v in row.items() if f != "timestamp" and old.get(f) != v}
            if diff or (refresh is not None and now - self.sent_at.get(k, 0.0) >= refresh):
                change = {f: row[f] for f in keys}
                change.update(diff)
                change["timestamp"] = row["timestamp"]
                out.append(change)
                sent.append((k, row))
        if out and self.sink.rows(table, "update", out):
            for k, row in sent:  # only what the client received is what it holds
                self.sent_rows[k] = row
                self.sent_at[k] = now

    def _periodic_updates(self) -> None:
        ts = self.now()
        venue = self.venue
        for c in self.covered("instrument"):
            if not self.held_back(c.pair):
                self._send_changes("instrument", [venue.instrument_row(c, ts)], ("symbol",),
                                   refresh=INSTRUMENT_REFRESH)
        held = {c.symbol for c in self.covered("position") if not self.held_back(c.pair)}
        if held:
            self._send_changes("position", self._account_rows("position", ts, held), bmx.ROW_KEYS["position"])
        if self.sink.covers("margin", "") and not self.sink.stalled():
            self._send_changes("margin", self._account_rows("margin", ts), bmx.ROW_KEYS["margin"])

    def _close_bins(self) -> None:
        contracts = self.covered("tradeBin1m")
        if not contracts:
            return
        minute = int(self.ctx.clock() // 60)
        if minute <= self.bin_minute:
            return
        self.bin_minute = minute
        for c in contracts:
            self.held_bins.setdefault(c.symbol, []).append(self.venue.bin_row(c, (minute - 1) * 60))

    def _flush_bins(self) -> None:
        for symbol in list(self.held_bins):
            if not self.held_back(self.venue.contracts[symbol].pair):
                for row in self.held_bins.pop(symbol):
                    self.sink.rows("tradeBin1m", "insert", [row])

    # -- time and faults ------------------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        for pair, until in list(self.pair_stalls.items()):
            if now >= until:
                del self.pair_stalls[pair]
        if not self.sink.stalled():
            for stream in self.books.values():
                if stream.pending:
                    self._flush_book(stream)
            for symbol, qs in self.quotes.items():
                top = qs.top()
                if top != qs.sent:  # quotes held back by a stall: publish the top as it is now
                    self._publish_quotes(self.venue.contracts[symbol], qs, [top], self.now())
        if self._trade_flush is None and self.trade_rows:
            self._flush_trades()  # trades held back by a stall, in order
        if self.account_queue:
            self._flush_account()
        if now >= self.next_update:
            self.next_update = now + self.ctx.settings.bitmex_update_interval
            self._periodic_updates()
        self._close_bins()
        self._flush_bins()

    def stall(self, pair: str, seconds: float) -> None:
        self.pair_stalls[pair] = self.ctx.loop_time() + seconds
