"""BitMEX realtime websocket, as ``wss://ws.bitmex.com/realtime`` speaks it.

Facts from ``reference/exchange-protocols.md`` part B and E7-E10: the welcome frame first (with
``limit.remaining``); ``{"op":...,"args":...}`` commands where a single argument may stand without its array;
one success frame per topic, each echoing the whole request; error frames ``{"status","error","meta","request"}``
with the real texts ("Signature not valid.", "Invalid API Key.", "Unknown or expired symbol.",
"Unknown table: X", "You are already subscribed to this topic: X", "Failed to decode incoming data: ...",
and the 401 "User requested an account-locked subscription but no authorization was provided." with its
``meta.notes``); ``authKeyExpires`` with ``hex(HMAC_SHA256(secret, "GET/realtime" + expires))`` checked for
real, or the ``api-key``/``api-expires``/``api-signature`` upgrade headers or query parameters; text
``ping`` answered with text ``pong``; a partial (``keys``, ``types``, ``foreignKeys``, ``attributes``,
``filter``, ``data``) before any insert/update/delete of every table and symbol; the 2023 book: arbitrary ids
stable for a level's life, ``price`` and ``timestamp`` on insert, update and delete, update rows with only
keys + size + price + timestamp; null fields omitted; ISO-8601 UTC millisecond timestamps; money in XBt/USDt
minor units (the account lives in :mod:`finxtui.sim.account`).

Choices where the reference is [UNCONFIRMED] or silent:

- Welcome: ``version`` is a fixed build stamp, ``heartbeatEnabled`` false and last; ``limit.remaining`` is
  60 minus the BitMEX connections opened on this simulator in the last hour (never refused).
- A subscribe request is checked topic by topic: good topics are acked (acks first, in order, errors in
  between), bad ones get their own error frame; then the partials follow in topic order. ``T:SYM`` while
  the bare ``T`` is held (or the same topic twice) is "already subscribed"; a bare ``T`` taken while some
  ``T:SYM`` is held is accepted and its all-symbol partial (``filter: {}``) re-images those symbols.
  Unsubscribing a topic not held: 400 "You are not subscribed to this topic: X".
- Real tables the simulator does not serve (orderBook10, liquidation, wallet, ...) get 400
  "Table not served by this simulator: X"; unknown names get the real 400 "Unknown table: X".
  ``margin`` takes no symbol (``margin:X`` is "Unknown or expired symbol.").
- ``authKeyExpires``: ``expires`` must be a JSON number (a string gets 400 "Invalid expires: must be a
  number, not a string."); the key is checked first, then expiry, then the signature (lower-case hex, exact).
  An expired ``expires`` gets 401 "This request has expired - `expires` is in the past. Current time: N"
  (BitMEX's REST text). Authenticating twice: 400 "Already authenticated. Authentication can only be
  performed once per connection." The deprecated nonce ``authKey`` is refused with 400.
- Header or query-string auth that fails sends the same 401 frame (without ``request``) right after the
  welcome and leaves the socket open and unauthenticated. ``?subscribe=`` topics are acked with
  ``"request":{"op":"subscribe","args":[...the URL topics]}`` after the welcome and any URL auth.
- ``cancelAllAfter`` before auth: 401 "Not authenticated. cancelAllAfter requires authentication."
- Non-object JSON, or a missing ``op``: 400 "Invalid request: expected {\"op\": string, \"args\": [...]}.";
  an unknown op: 400 "Unknown or unsupported op: X." ``help`` (text or op) lists the tables served here.
- Book partial rows are ordered by price descending (all Sells high to low, then Buys), as in the 2021
  capture. Ids are kept per connection and table, (side, tick index) -> id from ``sim.new_id()``,
  forgotten on delete; a level leaving the top 25 of ``orderBookL2_25`` arrives as a delete.
- One ``on_book`` call gives at most three book messages, one per action, in the order delete, update,
  insert; changes of one level within the call are netted, so a window table never holds more than 25 per
  side after any message.
- ``quote`` rows replay the step's changes on a private copy of the book, one row per change of the top;
  ``trade`` rows of one dispatch go out together, one message per symbol. ``instrument``, ``position`` and
  ``margin`` updates (keys + changed fields + timestamp) about once a second; ``order`` and ``execution``
  stay empty (nothing trades on the demo account); ``tradeBin1m`` inserts at each minute close with the bin
  ``timestamp`` at the END of the bin. Instrument statistics (volume24h, turnover, high/low) are a fixed
  daily base plus the trades this simulator has seen, polled from ``sim.recent_trades`` (approximate at
  unbounded rates).
- Faults: ``stall`` for one pair holds that pair's rows (books keep their net changes and catch up when the
  stall ends, trades and bins in the stall are lost), ``unknown_id`` sends an update for a never-published
  id to every book subscription, an armed ``early_deltas`` sends an update and an insert (with ids never
  used again) after the ack and before the partial of the next L2 subscription.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from sortedcontainers import SortedDict

from finxtui.model.jsnum import wire_number
from finxtui.model.signing import bitmex_signature
from finxtui.sim.account import CONTRACTS, Account, round_to_tick, trade_values
from finxtui.sim.conn import SimConnection
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import ASK, BID, SimBook, SimTrade

if TYPE_CHECKING:
    from finxtui.sim.server import Simulator
    from finxtui.sim.window import Window, WindowChange

VERSION = "2025-06-02T08:00:00.000Z"
DOCS = "https://www.bitmex.com/app/wsAPI"
CONNECTIONS_PER_HOUR = 60
WINDOW_DEPTH = 25
UPDATE_INTERVAL = 1.0
INSTRUMENT_REFRESH = 5.0  # seconds: an unchanged instrument is still re-sent (timestamp), as on the venue
FUNDING_RATE = 0.0001
FUNDING_INTERVAL = 8 * 3600

BOOK_TABLES = ("orderBookL2", "orderBookL2_25")
PUBLIC_TABLES = ("instrument", "quote", "trade", "tradeBin1m", *BOOK_TABLES)
PRIVATE_TABLES = ("position", "margin", "order", "execution")
NO_SYMBOL_TABLES = ("margin",)
REAL_PUBLIC = ("announcement", "connected", "chat", "publicNotifications", "instrument", "settlement", "funding",
               "insurance", "liquidation", "orderBookL2", "orderBookL2_25", "orderBook10", "quote", "trade",
               "quoteBin1m", "quoteBin5m", "quoteBin1h", "quoteBin1d", "tradeBin1m", "tradeBin5m", "tradeBin1h",
               "tradeBin1d")
REAL_PRIVATE = ("privateNotifications", "account", "wallet", "affiliate", "margin", "position", "transact", "order",
                "execution")
SIDE = {BID: "Buy", ASK: "Sell"}

NOT_AUTHED = "User requested an account-locked subscription but no authorization was provided."
NOT_AUTHED_META = {"notes": "Account-locked tables include the following: "
                            "account,affiliate,execution,margin,order,position,privateNotifications,transact,wallet"}
BAD_REQUEST = 'Invalid request: expected {"op": string, "args": [...]}.'

# -- table schemas (partial ``keys``, ``types``, ``foreignKeys``, ``attributes``) ----------------------------

_BOOK_SCHEMA = (["symbol", "id", "side"],
                {"symbol": "symbol", "id": "long", "side": "symbol", "size": "long", "price": "float",
                 "timestamp": "timestamp"},
                {"symbol": "instrument", "side": "side"},
                {"symbol": "parted", "id": "sorted"})
SCHEMAS: dict[str, tuple[list[str], dict[str, str], dict[str, str], dict[str, str]]] = {
    "orderBookL2": _BOOK_SCHEMA,
    "orderBookL2_25": _BOOK_SCHEMA,
    "quote": ([], {"timestamp": "timestamp", "symbol": "symbol", "bidSize": "long", "bidPrice": "float",
                   "askPrice": "float", "askSize": "long"},
              {"symbol": "instrument"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "trade": ([], {"timestamp": "timestamp", "symbol": "symbol", "side": "symbol", "size": "long", "price": "float",
                   "tickDirection": "symbol", "trdMatchID": "guid", "grossValue": "long", "homeNotional": "float",
                   "foreignNotional": "float", "trdType": "symbol"},
              {"symbol": "instrument", "side": "side"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "tradeBin1m": ([], {"timestamp": "timestamp", "symbol": "symbol", "open": "float", "high": "float",
                        "low": "float", "close": "float", "trades": "long", "volume": "long", "vwap": "float",
                        "lastSize": "long", "turnover": "long", "homeNotional": "float",
                        "foreignNotional": "float"},
                   {"symbol": "instrument"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "instrument": (["symbol"], {
        "symbol": "symbol", "rootSymbol": "symbol", "state": "symbol", "typ": "symbol", "listing": "timestamp",
        "front": "timestamp", "positionCurrency": "symbol", "underlying": "symbol", "quoteCurrency": "symbol",
        "underlyingSymbol": "symbol", "reference": "symbol", "referenceSymbol": "symbol", "maxOrderQty": "long",
        "maxPrice": "float", "lotSize": "long", "tickSize": "float", "multiplier": "long",
        "settlCurrency": "symbol", "underlyingToPositionMultiplier": "long",
        "underlyingToSettleMultiplier": "long", "quoteToSettleMultiplier": "long", "isQuanto": "boolean",
        "isInverse": "boolean", "initMargin": "float", "maintMargin": "float", "riskLimit": "long",
        "riskStep": "long", "taxed": "boolean", "deleverage": "boolean", "makerFee": "float",
        "takerFee": "float", "settlementFee": "float", "fundingBaseSymbol": "symbol",
        "fundingQuoteSymbol": "symbol", "fundingPremiumSymbol": "symbol", "fundingTimestamp": "timestamp",
        "fundingInterval": "timespan", "fundingRate": "float", "indicativeFundingRate": "float",
        "prevClosePrice": "float", "totalVolume": "long", "volume": "long", "volume24h": "long",
        "totalTurnover": "long", "turnover": "long", "turnover24h": "long", "homeNotional24h": "float",
        "foreignNotional24h": "float", "prevPrice24h": "float", "vwap": "float", "highPrice": "float",
        "lowPrice": "float", "lastPrice": "float", "lastPriceProtected": "float", "lastTickDirection": "symbol",
        "lastChangePcnt": "float", "bidPrice": "float", "midPrice": "float", "askPrice": "float",
        "hasLiquidity": "boolean", "openInterest": "long", "openValue": "long", "fairMethod": "symbol",
        "fairBasisRate": "float", "fairBasis": "float", "fairPrice": "float", "markMethod": "symbol",
        "markPrice": "float", "indicativeSettlePrice": "float", "timestamp": "timestamp"},
        {"inverseLeg": "instrument", "underlying": "currency", "quoteCurrency": "currency",
         "settlCurrency": "currency"},
        {"symbol": "unique"}),
    "position": (["account", "symbol", "currency"], {
        "account": "long", "symbol": "symbol", "currency": "symbol", "underlying": "symbol",
        "quoteCurrency": "symbol", "commission": "float", "initMarginReq": "float", "maintMarginReq": "float",
        "riskLimit": "long", "leverage": "float", "crossMargin": "boolean", "rebalancedPnl": "long",
        "prevRealisedPnl": "long", "openOrderBuyQty": "long", "openOrderSellQty": "long", "currentQty": "long",
        "currentCost": "long", "currentComm": "long", "realisedCost": "long", "unrealisedCost": "long",
        "isOpen": "boolean", "markPrice": "float", "markValue": "long", "riskValue": "long",
        "homeNotional": "float", "foreignNotional": "float", "posState": "symbol", "posCost": "long",
        "posCross": "long", "posComm": "long", "posLoss": "long", "posMargin": "long", "posMaint": "long",
        "posInit": "long", "initMargin": "long", "maintMargin": "long", "realisedPnl": "long",
        "unrealisedPnl": "long", "unrealisedPnlPcnt": "float", "unrealisedRoePcnt": "float",
        "avgCostPrice": "float", "avgEntryPrice": "float", "breakEvenPrice": "float", "marginCallPrice": "float",
        "liquidationPrice": "float", "bankruptPrice": "float", "lastPrice": "float", "lastValue": "long",
        "timestamp": "timestamp"},
        {"symbol": "instrument"},
        {"account": "sorted", "symbol": "grouped", "currency": "grouped", "underlying": "grouped",
         "quoteCurrency": "grouped"}),
    "margin": (["account", "currency"], {
        "account": "long", "currency": "symbol", "riskLimit": "long", "amount": "long",
        "prevRealisedPnl": "long", "grossComm": "long", "grossOpenCost": "long", "grossOpenPremium": "long",
        "grossExecCost": "long", "grossMarkValue": "long", "riskValue": "long", "initMargin": "long",
        "maintMargin": "long", "targetExcessMargin": "long", "realisedPnl": "long", "unrealisedPnl": "long",
        "walletBalance": "long", "marginBalance": "long", "marginLeverage": "float", "marginUsedPcnt": "float",
        "excessMargin": "long", "availableMargin": "long", "withdrawableMargin": "long",
        "timestamp": "timestamp"},
        {}, {"account": "sorted", "currency": "grouped"}),
    "order": (["orderID"], {
        "orderID": "guid", "clOrdID": "symbol", "account": "long", "symbol": "symbol", "side": "symbol",
        "orderQty": "long", "price": "float", "displayQty": "long", "stopPx": "float", "pegPriceType": "symbol",
        "currency": "symbol", "settlCurrency": "symbol", "ordType": "symbol", "timeInForce": "symbol",
        "execInst": "symbol", "ordStatus": "symbol", "workingIndicator": "boolean", "leavesQty": "long",
        "cumQty": "long", "avgPx": "float", "text": "symbol", "transactTime": "timestamp",
        "timestamp": "timestamp"},
        {"symbol": "instrument", "side": "side", "ordStatus": "ordStatus"},
        {"orderID": "grouped", "account": "grouped", "ordStatus": "grouped", "workingIndicator": "grouped"}),
    "execution": (["execID"], {
        "execID": "guid", "orderID": "guid", "clOrdID": "symbol", "account": "long", "symbol": "symbol",
        "side": "symbol", "lastQty": "long", "lastPx": "float", "orderQty": "long", "price": "float",
        "currency": "symbol", "settlCurrency": "symbol", "execType": "symbol", "ordType": "symbol",
        "ordStatus": "symbol", "leavesQty": "long", "cumQty": "long", "avgPx": "float", "commission": "float",
        "execCost": "long", "execComm": "long", "trdMatchID": "guid", "transactTime": "timestamp",
        "timestamp": "timestamp"},
        {"symbol": "instrument", "side": "side", "ordStatus": "ordStatus"},
        {"execID": "grouped", "account": "grouped", "execType": "grouped", "transactTime": "sorted"}),
}
ROW_KEYS = {"position": ("account", "symbol", "currency"), "margin": ("account", "currency")}

HELP = {
    "info": "See https://www.bitmex.com/app/wsAPI and https://www.bitmex.com/explorer for more documentation.",
    "usage": 'Send a message in the format: {"op": string, "args": Array<string>}',
    "ops": ["authKey", "authKeyExpires", "cancelAllAfter", "subscribe", "unsubscribe"],
    "subscribe": 'To subscribe, send: {"op": "subscribe", "args": [subscriptionTopic, ...]}.',
    "subscriptionSubjects": {"authenticationRequired": list(PRIVATE_TABLES), "public": list(PUBLIC_TABLES)},
}


# -- small helpers ----------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _iso_second(sec: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))


def iso(ts: float) -> str:
    """``2021-07-22T22:36:10.014Z``: UTC, milliseconds, ``Z``."""
    sec, ms = divmod(int(ts * 1000), 1000)
    return f"{_iso_second(sec)}.{ms:03d}Z"


def trade_match_id(seed: int, trade_id: int) -> str:
    """A stable guid for a trade (the same on every connection, and for the same seed)."""
    digest = hashlib.blake2b(f"bitmex:{seed}:{trade_id}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest))


def tick_direction(trades: list[SimTrade], i: int) -> str:
    """BitMEX's tickDirection of ``trades[i]`` against the trades before it."""
    price = trades[i].price
    for j in range(i - 1, -1, -1):
        prev = trades[j].price
        if prev != price:
            up = price > prev
            return ("PlusTick" if up else "MinusTick") if j == i - 1 else ("ZeroPlusTick" if up else "ZeroMinusTick")
    return "ZeroPlusTick"


def _js_error(text: str, pos: int) -> str:
    """A JSON.parse message, as the Node.js venue words it."""
    if pos >= len(text):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[pos]} in JSON at position {pos}"


def _partial_frame(table: str, filt: dict[str, Any], data: list[dict[str, Any]]) -> dict[str, Any]:
    keys, types, foreign, attributes = SCHEMAS[table]
    return {"table": table, "action": "partial", "keys": keys, "types": types, "foreignKeys": foreign,
            "attributes": attributes, "filter": filt, "data": data}


# -- what every BitMEX connection to one simulator shares ------------------------------------------------


@dataclass(slots=True)
class _Bin:
    trades: int = 0
    volume: int = 0
    pv: float = 0.0  # sum of price * size
    last_size: int = 0
    turnover: int = 0
    home: float = 0.0
    foreign: float = 0.0


@dataclass(slots=True)
class _Stats:
    seen: int = 0  # the last trade id folded in
    volume: int = 0
    turnover: int = 0
    home: float = 0.0
    foreign: float = 0.0
    high: float | None = None
    low: float | None = None
    bins: dict[int, _Bin] = field(default_factory=dict)


class BitmexVenue:
    """The exchange behind the sockets: the demo account, trade statistics, the connection allowance."""

    _registry: weakref.WeakKeyDictionary[Simulator, BitmexVenue] = weakref.WeakKeyDictionary()

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.contracts: dict[str, BitmexContract] = {
            s: c for s, c in CONTRACTS.items() if ("bitmex", c.pair) in sim.market.books}
        self.by_pair: dict[str, BitmexContract] = {c.pair: c for c in self.contracts.values()}
        start = {s: sim.market.open_price[c.pair] for s, c in self.contracts.items()}
        self.account = Account.demo(start)
        self.stats: dict[str, _Stats] = {s: _Stats() for s in self.contracts}
        self.opened: list[float] = []
        self._observed_at = -1.0

    @classmethod
    def of(cls, sim: Simulator) -> BitmexVenue:
        venue = cls._registry.get(sim)
        if venue is None:
            venue = cls._registry[sim] = cls(sim)
        return venue

    def connection_opened(self) -> int:
        """Register a connection; returns what the welcome's ``limit.remaining`` says."""
        now = self.sim.loop_time()
        self.opened = [t for t in self.opened if now - t < 3600] + [now]
        return max(0, CONNECTIONS_PER_HOUR - len(self.opened))

    def book(self, contract: BitmexContract) -> SimBook:
        return self.sim.market.books[("bitmex", contract.pair)]

    def mark(self, contract: BitmexContract) -> float:
        return round_to_tick(contract, self.sim.market.fair[contract.pair])

    def marks(self) -> dict[str, float]:
        return {s: self.mark(c) for s, c in self.contracts.items()}

    def observe(self, now: float | None = None) -> None:
        """Fold the trades published since the last call into the statistics (once per timer tick)."""
        if now is not None:
            if now == self._observed_at:
                return
            self._observed_at = now
        for symbol, contract in self.contracts.items():
            recent = self.sim.recent_trades[("bitmex", contract.pair)]
            st = self.stats[symbol]
            if not recent or recent[-1].id <= st.seen:
                continue
            for t in recent:
                if t.id <= st.seen:
                    continue
                st.seen = t.id
                size = int(t.size)
                gross, home, foreign = trade_values(contract, size, t.price)
                st.volume += size
                st.turnover += gross
                st.home += home
                st.foreign += foreign
                st.high = t.price if st.high is None else max(st.high, t.price)
                st.low = t.price if st.low is None else min(st.low, t.price)
                start = int(t.ts // 60) * 60
                b = st.bins.get(start)
                if b is None:
                    b = st.bins[start] = _Bin()
                    for old in [k for k in st.bins if k < start - 180]:
                        del st.bins[old]
                b.trades += 1
                b.volume += size
                b.pv += t.price * size
                b.last_size = size
                b.turnover += gross
                b.home += home
                b.foreign += foreign

    # -- public rows ----------------------------------------------------------------------------------

    def instrument_row(self, contract: BitmexContract, timestamp: str) -> dict[str, Any]:
        """The full instrument row (the partial); updates send the fields that changed since."""
        sim = self.sim
        c = contract
        book = self.book(c)
        mark = self.mark(c)
        index = round_to_tick(c, sim.market.fair[c.pair] / (1 + FUNDING_RATE / 2))
        prev24 = round_to_tick(c, sim.market.open_price[c.pair])
        last = sim.market.last_trade.get(("bitmex", c.pair), mark)
        st = self.stats[c.symbol]
        base_volume = int(book.spec.size_scale * 2500 // c.lot_size * c.lot_size)
        base_gross, base_home, base_foreign = trade_values(c, base_volume, prev24)
        recent = list(sim.recent_trades[("bitmex", c.pair)])
        linear = not c.inverse
        row: dict[str, Any] = {
            "symbol": c.symbol, "rootSymbol": c.underlying, "state": "Open", "typ": "FFWCSX",
            "listing": "2016-05-13T12:00:00.000Z" if c.inverse else "2021-06-25T04:00:00.000Z",
            "front": "2016-05-13T12:00:00.000Z" if c.inverse else "2021-06-25T04:00:00.000Z",
            "positionCurrency": "USD" if c.inverse else c.underlying, "underlying": c.underlying,
            "quoteCurrency": c.quote_currency,
            "underlyingSymbol": f"{c.underlying}=" if c.inverse else f"{c.underlying}T=",
            "reference": "BMEX", "referenceSymbol": f".B{c.underlying}" if c.inverse else f".B{c.underlying}T",
            "maxOrderQty": 10_000_000 if c.inverse else 1_000_000_000, "maxPrice": 1_000_000 if c.inverse else 10_000,
            "lotSize": c.lot_size, "tickSize": wire_number(c.tick), "multiplier": c.multiplier,
            "settlCurrency": c.settle_currency,
        }
        if linear:
            row["underlyingToPositionMultiplier"] = c.underlying_to_position
            row["quoteToSettleMultiplier"] = 1_000_000
        else:
            row["underlyingToSettleMultiplier"] = c.multiplier
        row.update({
            "isQuanto": False, "isInverse": c.inverse, "initMargin": 0.01, "maintMargin": 0.005,
            "riskLimit": 20_000_000_000, "riskStep": 15_000_000_000, "taxed": True, "deleverage": True,
            "makerFee": -0.0001, "takerFee": 0.00075, "settlementFee": 0,
            "fundingBaseSymbol": f".{c.underlying}BON8H",
            "fundingQuoteSymbol": ".USDBON8H" if c.inverse else ".USDTBON8H",
            "fundingPremiumSymbol": f".{c.symbol}PI8H",
            "fundingTimestamp": iso((int(sim.clock()) // FUNDING_INTERVAL + 1) * FUNDING_INTERVAL),
            "fundingInterval": "2000-01-01T08:00:00.000Z", "fundingRate": FUNDING_RATE,
            "indicativeFundingRate": FUNDING_RATE, "prevClosePrice": wire_number(prev24),
            "totalVolume": base_volume * 40 + st.volume, "volume": st.volume, "volume24h": base_volume + st.volume,
            "totalTurnover": base_gross * 40 + st.turnover, "turnover": st.turnover,
            "turnover24h": base_gross + st.turnover,
            "homeNotional24h": wire_number(round(base_home + st.home, 8)),
            "foreignNotional24h": wire_number(round(base_foreign + st.foreign, 8)),
            "prevPrice24h": wire_number(prev24),
            "vwap": wire_number(round_to_tick(c, (base_foreign + st.foreign) / (base_home + st.home))),
            "highPrice": wire_number(max(prev24, st.high or prev24, last)),
            "lowPrice": wire_number(min(prev24, st.low or prev24, last)),
            "lastPrice": wire_number(last), "lastPriceProtected": wire_number(last),
        })
        if recent:
            row["lastTickDirection"] = tick_direction(recent, len(recent) - 1)
        row["lastChangePcnt"] = round(last / prev24 - 1, 4)
        bb, ba = book.best_bid(), book.best_ask()
        if bb is not None:
            row["bidPrice"] = wire_number(book.price(bb))
        if bb is not None and ba is not None:
            row["midPrice"] = wire_number(round((book.price(bb) + book.price(ba)) / 2, book.pdec + 1))
        if ba is not None:
            row["askPrice"] = wire_number(book.price(ba))
        open_interest = int(book.spec.size_scale * 800 // c.lot_size * c.lot_size)
        open_gross, _, _ = trade_values(c, open_interest, mark)
        row.update({
            "hasLiquidity": True, "openInterest": open_interest, "openValue": open_gross,
            "fairMethod": "FundingRate", "fairBasisRate": round(FUNDING_RATE * 3 * 365, 6),
            "fairBasis": wire_number(round(mark - index, book.pdec)), "fairPrice": wire_number(mark),
            "markMethod": "FairPrice", "markPrice": wire_number(mark), "indicativeSettlePrice": wire_number(index),
            "timestamp": timestamp,
        })
        return row

    def bin_row(self, contract: BitmexContract, start: int) -> dict[str, Any]:
        """The ``tradeBin1m`` row for the minute starting at ``start`` (labelled with its end)."""
        key = ("bitmex", contract.pair)
        builder = self.sim.venue_bars[key]
        bars = [b for b in (builder.current, builder.closed) if b is not None]
        bar = next((b for b in bars if b.t == start), None)
        row: dict[str, Any] = {"timestamp": iso(start + 60), "symbol": contract.symbol}
        if bar is None:
            before = [b for b in bars if b.t < start]
            price = (max(before, key=lambda b: b.t).c if before
                     else self.sim.market.last_trade.get(key, self.mark(contract)))
            p = wire_number(price)
            row.update({"open": p, "high": p, "low": p, "close": p, "trades": 0, "volume": 0, "turnover": 0,
                        "homeNotional": 0, "foreignNotional": 0})
            return row
        volume = int(bar.v)
        row.update({"open": wire_number(bar.o), "high": wire_number(bar.h), "low": wire_number(bar.l),
                    "close": wire_number(bar.c), "trades": bar.trades, "volume": volume})
        acc = self.stats[contract.symbol].bins.get(start)
        if acc is not None and acc.trades == bar.trades and acc.volume == volume:
            row.update({"vwap": wire_number(round(acc.pv / acc.volume, 8)) if acc.volume else wire_number(bar.c),
                        "lastSize": acc.last_size, "turnover": acc.turnover,
                        "homeNotional": wire_number(round(acc.home, 8)),
                        "foreignNotional": wire_number(round(acc.foreign, 8))})
        else:  # trades before the statistics started: value the volume at the bar's typical price
            gross, home, foreign = trade_values(contract, volume, (bar.h + bar.l + bar.c) / 3)
            row.update({"turnover": gross, "homeNotional": wire_number(home),
                        "foreignNotional": wire_number(foreign)})
        return row


# -- per-connection state ---------------------------------------------------------------------------------


@dataclass(slots=True)
class BookStream:
    """One L2 table of one symbol as this client holds it."""

    table: str
    contract: BitmexContract
    book: SimBook
    window: Window | None
    held: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # (side, idx) -> (id, steps)
    pending: dict[tuple[str, int], None] = field(default_factory=dict)  # touched levels not yet published

    def target(self, side: str, idx: int) -> int:
        """The level's size in steps as the table should hold it now (0 = absent)."""
        source = self.window.sides[side] if self.window is not None else self.book.side(side)
        return source.get(idx, 0)

    def levels_desc(self) -> list[tuple[str, int, int]]:
        """(side, idx, steps), price descending: Sells high to low, then Buys high to low."""
        out: list[tuple[str, int, int]] = []
        for side in (ASK, BID):
            source = self.window.sides[side] if self.window is not None else self.book.side(side)
            out.extend((side, idx, source[idx]) for idx in reversed(source.keys()))
        return out


@dataclass(slots=True)
class QuoteState:
    """A private copy of the book for replaying a dispatch's changes top by top."""

    bids: SortedDict
    asks: SortedDict
    sent: tuple | None = None  # the last top published

    def top(self) -> tuple:
        bb = self.bids.keys()[-1] if self.bids else None
        ba = self.asks.keys()[0] if self.asks else None
        return (bb, self.bids[bb] if bb is not None else 0, ba, self.asks[ba] if ba is not None else 0)

    def replay(self, changes: list[WindowChange]) -> list[tuple]:
        """Apply ``changes`` in order; the top after every change that moved it."""
        tops: list[tuple] = []
        current = self.top()
        for side, idx, steps in changes:
            levels = self.bids if side == BID else self.asks
            if steps > 0:
                levels[idx] = steps
            else:
                levels.pop(idx, None)
            # Only a change at or better than the current top can move it.
            if side == BID:
                if current[0] is not None and idx < current[0]:
                    continue
            elif current[2] is not None and idx > current[2]:
                continue
            new = self.top()
            if new != current:
                tops.append(new)
                current = new
        return tops


class BitmexConnection(SimConnection):
    venue = "bitmex"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bitmex = BitmexVenue.of(self.sim)
        self.topics: set[str] = set()
        self.authenticated = False
        self.books: dict[tuple[str, str], BookStream] = {}  # (table, symbol)
        self.quotes: dict[str, QuoteState] = {}  # symbol
        self.full_registered: set[str] = set()  # pairs registered for the full book
        self.trade_registered: set[str] = set()
        self.pair_stalls: dict[str, float] = {}  # pair -> loop time the stall ends
        self.sent_rows: dict[tuple[str, tuple], dict[str, Any]] = {}  # (table, key values) -> last full row
        self.sent_at: dict[tuple[str, tuple], float] = {}  # (table, key values) -> loop time last sent
        self.bin_minute = 0
        self.next_update = 0.0
        self._trade_rows: dict[str, list[dict[str, Any]]] = {}
        self._trade_flush: asyncio.Handle | None = None

    # -- framing --------------------------------------------------------------------------------------

    def _now(self) -> str:
        return iso(self.sim.clock())

    def _error(self, status: int, text: str, request: Any = None, meta: dict[str, Any] | None = None) -> None:
        frame: dict[str, Any] = {"status": status, "error": text, "meta": meta or {}}
        if request is not None:
            frame["request"] = request
        self.send_json(frame)

    def _rows(self, table: str, action: str, data: list[dict[str, Any]]) -> bool:
        return self.send(orjson.dumps({"table": table, "action": action, "data": data}))

    def _pair_stalled(self, pair: str) -> bool:
        until = self.pair_stalls.get(pair)
        return until is not None and self.sim.loop_time() < until

    def _covers(self, table: str, symbol: str) -> bool:
        return table in self.topics or f"{table}:{symbol}" in self.topics

    def _covered(self, table: str) -> list[BitmexContract]:
        return [c for s, c in self.bitmex.contracts.items() if self._covers(table, s)]

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        self.send_json({"info": "Welcome to the BitMEX Realtime API.", "version": VERSION,
                        "timestamp": self._now(), "docs": DOCS,
                        "limit": {"remaining": self.bitmex.connection_opened()}, "heartbeatEnabled": False})
        self._auth_from_upgrade()
        url_topics = [t for t in self.query.get("subscribe", "").split(",") if t]
        if url_topics:
            self._subscribe({"op": "subscribe", "args": url_topics}, url_topics)

    def _auth_from_upgrade(self) -> None:
        headers = self.ws.request.headers if self.ws.request is not None else {}
        values = [headers.get(name) or self.query.get(name) for name in ("api-key", "api-expires", "api-signature")]
        if not any(values):
            return
        key, expires_text, signature = values
        try:
            expires = int(expires_text or "")
        except ValueError:
            self._error(400, "Invalid api-expires: must be a UNIX time in seconds.")
            return
        failure = self._check_auth(key, expires, signature)
        if failure is not None:
            self._error(*failure)
        else:
            self.authenticated = True

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            try:
                message = message.decode()
            except UnicodeDecodeError:
                message = message.decode(errors="replace")
        if message == "ping":
            self.send("pong")
            return
        if message == "help":
            self.send_json(HELP)
            return
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            self._error(400, f"Failed to decode incoming data: {_js_error(message, exc.pos)}. "
                             f"Please see the documentation at {DOCS}.")
            return
        if not isinstance(req, dict) or not isinstance(req.get("op"), str):
            self._error(400, BAD_REQUEST, req)
            return
        op = req["op"]
        args = req.get("args", [])
        self.sim.client_ops[("bitmex", op)] += 1  # tests check a client never sends anything but reads
        if op == "subscribe":
            self._subscribe(req, args)
        elif op == "unsubscribe":
            self._unsubscribe(req, args)
        elif op == "authKeyExpires":
            self._auth_op(req, args)
        elif op == "authKey":
            self._error(400, "authKey is deprecated and not supported here: use authKeyExpires.", req)
        elif op == "cancelAllAfter":
            self._cancel_all_after(req, args)
        elif op == "help":
            self.send_json(HELP)
        else:
            self._error(400, f"Unknown or unsupported op: {op}.", req)

    # -- auth -----------------------------------------------------------------------------------------

    def _check_auth(self, key: Any, expires: int, signature: Any) -> tuple[int, str] | None:
        """None if the three values authenticate, else (status, error text)."""
        creds = self.sim.credentials
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), creds.bitmex_key.encode()):
            return 401, "Invalid API Key."
        now = self.sim.clock()
        if expires <= now:
            return 401, f"This request has expired - `expires` is in the past. Current time: {int(now)}"
        expected = bitmex_signature(creds.bitmex_secret, "GET", "/realtime", expires)
        if not isinstance(signature, str) or not hmac.compare_digest(signature.encode(), expected.encode()):
            return 401, "Signature not valid."
        return None

    def _auth_op(self, req: dict[str, Any], args: Any) -> None:
        if self.authenticated:
            self._error(400, "Already authenticated. Authentication can only be performed once per connection.",
                        req)
            return
        if not isinstance(args, list) or len(args) != 3:
            self._error(400, "authKeyExpires takes [apiKey, expires, signature].", req)
            return
        key, expires, signature = args
        if isinstance(expires, str):
            self._error(400, "Invalid expires: must be a number, not a string.", req)
            return
        if isinstance(expires, float) and expires.is_integer():
            expires = int(expires)
        if not isinstance(expires, int) or isinstance(expires, bool):
            self._error(400, "Invalid expires: must be a UNIX time in seconds.", req)
            return
        failure = self._check_auth(key, expires, signature)
        if failure is not None:
            self._error(*failure, req)
            return
        self.authenticated = True
        self.send_json({"success": True, "request": req})

    def _cancel_all_after(self, req: dict[str, Any], args: Any) -> None:
        if not self.authenticated:
            self._error(401, "Not authenticated. cancelAllAfter requires authentication.", req)
            return
        timeout = args[0] if isinstance(args, list) and len(args) == 1 else args
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
            self._error(400, "cancelAllAfter takes a timeout in milliseconds (0 cancels the timer).", req)
            return
        now = self.sim.clock()
        # No orders exist here, so the timer has nothing to cancel; the reply is what clients check.
        self.send_json({"now": iso(now), "cancelTime": iso(now + timeout / 1000) if timeout else 0,
                        "request": req})

    # -- subscriptions --------------------------------------------------------------------------------

    def _parse_topic(self, topic: Any, req: dict[str, Any]) -> tuple[str, BitmexContract | None] | None:
        """(table, contract or None for all symbols), or None after sending the error frame."""
        if not isinstance(topic, str) or not topic:
            self._error(400, BAD_REQUEST, req)
            return None
        table, _, symbol = topic.partition(":")
        if table not in REAL_PUBLIC and table not in REAL_PRIVATE:
            self._error(400, f"Unknown table: {table}", req)
            return None
        private = table in REAL_PRIVATE
        if private and not self.authenticated:
            self._error(401, NOT_AUTHED, req, NOT_AUTHED_META)
            return None
        if table not in PUBLIC_TABLES and table not in PRIVATE_TABLES:
            self._error(400, f"Table not served by this simulator: {table}", req)
            return None
        contract = None
        if symbol:
            contract = self.bitmex.contracts.get(symbol)
            if contract is None or table in NO_SYMBOL_TABLES:
                self._error(400, "Unknown or expired symbol.", req)
                return None
        return table, contract

    def _subscribe(self, req: dict[str, Any], args: Any) -> None:
        topics = [args] if isinstance(args, str) else args
        if not isinstance(topics, list) or not topics:
            self._error(400, BAD_REQUEST, req)
            return
        started: list[tuple[str, BitmexContract | None]] = []
        for topic in topics:
            parsed = self._parse_topic(topic, req)
            if parsed is None:
                continue
            table, contract = parsed
            if topic in self.topics or (contract is not None and table in self.topics):
                self._error(400, f"You are already subscribed to this topic: {topic}", req)
                continue
            self.topics.add(topic)
            self.send_json({"success": True, "subscribe": topic, "request": req})
            started.append(parsed)
        for table, contract in started:
            self._start(table, contract)

    def _unsubscribe(self, req: dict[str, Any], args: Any) -> None:
        topics = [args] if isinstance(args, str) else args
        if not isinstance(topics, list) or not topics:
            self._error(400, BAD_REQUEST, req)
            return
        for topic in topics:
            if not isinstance(topic, str) or topic not in self.topics:
                self._error(400, f"You are not subscribed to this topic: {topic}", req)
                continue
            self.topics.discard(topic)
            self.send_json({"success": True, "unsubscribe": topic, "request": req})
            table = topic.partition(":")[0]
            for contract in self.bitmex.contracts.values():
                self._release(table, contract)

    def _start(self, table: str, contract: BitmexContract | None) -> None:
        """Register what ``table`` needs and send its partial."""
        contracts = [contract] if contract is not None else list(self.bitmex.contracts.values())
        private = table in PRIVATE_TABLES
        if private:
            filt: dict[str, Any] = {"account": self.bitmex.account.account}
            if contract is not None:
                filt["symbol"] = contract.symbol
        else:
            filt = {"symbol": contract.symbol} if contract is not None else {}
        ts = self._now()
        data: list[dict[str, Any]] = []
        if table in BOOK_TABLES:
            if self.sim.faults.take("early_deltas", "bitmex"):
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
                    self.sim.trade_subs[("bitmex", c.pair)].add(self)
                recent = list(self.sim.recent_trades[("bitmex", c.pair)])
                if recent:
                    data.append(self._trade_row(c, recent, len(recent) - 1))
        elif table == "tradeBin1m":
            minute = int(self.sim.clock() // 60)
            self.bin_minute = minute
            self.bitmex.observe()
            data = [self.bitmex.bin_row(c, (minute - 1) * 60) for c in contracts]
        elif table == "instrument":
            self.bitmex.observe()
            for c in contracts:
                row = self.bitmex.instrument_row(c, ts)
                self.sent_rows[("instrument", (c.symbol,))] = row
                data.append(row)
        elif table in ROW_KEYS:
            data = self._private_rows(table, self.bitmex.marks(), ts, {c.symbol for c in contracts})
            for row in data:
                self.sent_rows[(table, tuple(row[k] for k in ROW_KEYS[table]))] = row
        self.send_json(_partial_frame(table, filt, data))

    def _release(self, table: str, contract: BitmexContract) -> None:
        """Drop what ``table`` held for ``contract`` once no topic covers it any more."""
        symbol, pair = contract.symbol, contract.pair
        if self._covers(table, symbol):
            return
        if table in BOOK_TABLES:
            stream = self.books.pop((table, symbol), None)
            if stream is not None and stream.window is not None:
                self.sim.unsubscribe_book(self, "bitmex", pair, WINDOW_DEPTH)
        elif table == "quote":
            self.quotes.pop(symbol, None)
        elif table == "trade" and pair in self.trade_registered:
            self.trade_registered.discard(pair)
            self.sim.trade_subs[("bitmex", pair)].discard(self)
            self._trade_rows.pop(symbol, None)
        elif table == "instrument":
            self.sent_rows.pop(("instrument", (symbol,)), None)
        elif table in ROW_KEYS:
            for key in [k for k in self.sent_rows if k[0] == table and (table == "margin" or symbol in k[1])]:
                del self.sent_rows[key]
        if (pair in self.full_registered and symbol not in self.quotes
                and ("orderBookL2", symbol) not in self.books):
            self.full_registered.discard(pair)
            self.sim.unsubscribe_book(self, "bitmex", pair, None)

    # -- books ----------------------------------------------------------------------------------------

    def _register_full(self, contract: BitmexContract) -> None:
        if contract.pair not in self.full_registered:
            self.full_registered.add(contract.pair)
            self.sim.subscribe_book(self, "bitmex", contract.pair, None)

    def _book_stream(self, table: str, contract: BitmexContract) -> BookStream:
        stream = self.books.get((table, contract.symbol))
        if stream is None:
            if table == "orderBookL2":
                self._register_full(contract)
                window = None
            else:
                window = self.sim.subscribe_book(self, "bitmex", contract.pair, WINDOW_DEPTH)
            stream = BookStream(table, contract, self.bitmex.book(contract), window)
            self.books[(table, contract.symbol)] = stream
        return stream

    def _book_row(self, stream: BookStream, side: str, idx: int, level_id: int, steps: int | None,
                  ts: str) -> dict[str, Any]:
        row: dict[str, Any] = {"symbol": stream.contract.symbol, "id": level_id, "side": SIDE[side]}
        if steps is not None:
            row["size"] = int(stream.book.size(steps))
        row["price"] = wire_number(stream.book.price(idx))
        row["timestamp"] = ts
        return row

    def _book_image(self, stream: BookStream, ts: str) -> list[dict[str, Any]]:
        """The partial's rows; the stream now holds exactly them (ids of known levels are kept)."""
        old = stream.held
        stream.held = {}
        stream.pending = {}
        rows = []
        for side, idx, steps in stream.levels_desc():
            known = old.get((side, idx))
            level_id = known[0] if known is not None else self.sim.new_id()
            stream.held[(side, idx)] = (level_id, steps)
            rows.append(self._book_row(stream, side, idx, level_id, steps, ts))
        return rows

    def _flush_book(self, stream: BookStream, ts: str | None = None) -> None:
        """Publish the net change of every touched level: at most one delete, update and insert message."""
        if not stream.pending or self._pair_stalled(stream.contract.pair) or self.stalled() or self.closed:
            return
        ts = ts or self._now()
        pending, stream.pending = stream.pending, {}
        held = stream.held
        deletes: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for side, idx in pending:
            target = stream.target(side, idx)
            have = held.get((side, idx))
            if have is None:
                if target:
                    level_id = self.sim.new_id()
                    held[(side, idx)] = (level_id, target)
                    inserts.append(self._book_row(stream, side, idx, level_id, target, ts))
            elif not target:
                del held[(side, idx)]
                deletes.append(self._book_row(stream, side, idx, have[0], None, ts))
            elif have[1] != target:
                held[(side, idx)] = (have[0], target)
                updates.append(self._book_row(stream, side, idx, have[0], target, ts))
        for action, rows in (("delete", deletes), ("update", updates), ("insert", inserts)):
            if rows:
                self._rows(stream.table, action, rows)

    def _early_deltas(self, table: str, contract: BitmexContract, ts: str) -> None:
        """Rows a client must drop: they come before the partial, with ids never used again."""
        book = self.bitmex.book(contract)
        stream = BookStream(table, contract, book, None)
        bb, ba = book.best_bid(), book.best_ask()
        updates = []
        if bb is not None:
            updates.append(self._book_row(stream, BID, bb, self.sim.new_id(), book.bids[bb] + 1, ts))
        if ba is not None:
            updates.append(self._book_row(stream, ASK, ba, self.sim.new_id(), book.asks[ba] + 1, ts))
        if updates:
            self._rows(table, "update", updates)
        idx = (bb - 1) if bb is not None else (ba + 1 if ba is not None else 1)
        self._rows(table, "insert", [self._book_row(stream, BID, idx, self.sim.new_id(), 1, ts)])

    def on_book(self, key: tuple[str, str], depth: int | None, changes: list[WindowChange]) -> None:
        contract = self.bitmex.by_pair.get(key[1])
        if contract is None:
            return
        ts = self._now()
        if depth is None:
            qs = self.quotes.get(contract.symbol)
            if qs is not None:
                self._publish_quotes(contract, qs, qs.replay(changes), ts)
            stream = self.books.get(("orderBookL2", contract.symbol))
        else:
            stream = self.books.get(("orderBookL2_25", contract.symbol)) if depth == WINDOW_DEPTH else None
        if stream is not None:
            pending = stream.pending
            for side, idx, _ in changes:
                pending[(side, idx)] = None
            self._flush_book(stream, ts)

    # -- quotes ---------------------------------------------------------------------------------------

    def _quote_state(self, contract: BitmexContract) -> QuoteState:
        qs = self.quotes.get(contract.symbol)
        if qs is None:
            book = self.bitmex.book(contract)
            self._register_full(contract)
            qs = self.quotes[contract.symbol] = QuoteState(SortedDict(book.bids), SortedDict(book.asks))
        return qs

    def _quote_row(self, contract: BitmexContract, top: tuple, ts: str) -> dict[str, Any] | None:
        bb, bsteps, ba, asteps = top
        if bb is None and ba is None:
            return None
        book = self.bitmex.book(contract)
        row: dict[str, Any] = {"timestamp": ts, "symbol": contract.symbol}
        if bb is not None:
            row["bidSize"] = int(book.size(bsteps))
            row["bidPrice"] = wire_number(book.price(bb))
        if ba is not None:
            row["askPrice"] = wire_number(book.price(ba))
            row["askSize"] = int(book.size(asteps))
        return row

    def _publish_quotes(self, contract: BitmexContract, qs: QuoteState, tops: list[tuple], ts: str) -> None:
        if not tops or self._pair_stalled(contract.pair) or self.stalled():
            return
        rows = [r for r in (self._quote_row(contract, t, ts) for t in tops) if r is not None]
        if rows and self._rows("quote", "insert", rows):
            qs.sent = tops[-1]

    # -- trades ---------------------------------------------------------------------------------------

    def _trade_row(self, contract: BitmexContract, recent: list[SimTrade], i: int) -> dict[str, Any]:
        t = recent[i]
        size = int(t.size)
        gross, home, foreign = trade_values(contract, size, t.price)
        return {"timestamp": iso(t.ts), "symbol": contract.symbol, "side": "Buy" if t.side == "buy" else "Sell",
                "size": size, "price": wire_number(t.price), "tickDirection": tick_direction(recent, i),
                "trdMatchID": trade_match_id(self.sim.seed, t.id), "grossValue": gross,
                "homeNotional": wire_number(home), "foreignNotional": wire_number(foreign), "trdType": "Regular"}

    def on_trade(self, trade: SimTrade) -> None:
        contract = self.bitmex.by_pair.get(trade.pair)
        if contract is None or self._pair_stalled(trade.pair):
            return
        recent = list(self.sim.recent_trades[("bitmex", trade.pair)])
        i = len(recent) - 1
        while i > 0 and recent[i].id != trade.id:
            i -= 1
        self._trade_rows.setdefault(contract.symbol, []).append(self._trade_row(contract, recent, i))
        if self._trade_flush is None:
            # Every trade of this dispatch is in before the loop runs the callback: one message per symbol.
            self._trade_flush = asyncio.get_running_loop().call_soon(self._flush_trades)

    def _flush_trades(self) -> None:
        self._trade_flush = None
        batches, self._trade_rows = self._trade_rows, {}
        for rows in batches.values():
            self._rows("trade", "insert", rows)

    # -- private tables -------------------------------------------------------------------------------

    def _private_rows(self, table: str, marks: dict[str, float], ts: str,
                      symbols: set[str] | None = None) -> list[dict[str, Any]]:
        account = self.bitmex.account
        if table == "position":
            return account.position_rows(marks, ts, symbols)
        return account.margin_rows(marks, ts)

    def _send_changes(self, table: str, rows: list[dict[str, Any]], keys: tuple[str, ...],
                      refresh: float | None = None) -> None:
        """``update`` rows with the keys, the fields that changed and the timestamp (one message).

        With ``refresh``, a row unchanged for that many seconds is still re-sent with its new timestamp, as the
        live venue does for instruments (their marks tick every few seconds even in a quiet market).
        """
        out = []
        now = self.sim.loop_time()
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
                self.sent_rows[k] = row
                self.sent_at[k] = now
        if out:
            self._rows(table, "update", out)

    def _periodic_updates(self) -> None:
        ts = self._now()
        instruments = [c for c in self._covered("instrument") if not self._pair_stalled(c.pair)]
        if instruments:
            self.bitmex.observe()
            for c in instruments:
                self._send_changes("instrument", [self.bitmex.instrument_row(c, ts)], ("symbol",),
                                   refresh=INSTRUMENT_REFRESH)
        if not (self.topics & {"position", "margin"} or any(t.startswith("position:") for t in self.topics)):
            return
        marks = self.bitmex.marks()  # rows that did not change are not sent
        held = {c.symbol for c in self._covered("position") if not self._pair_stalled(c.pair)}
        if held:
            self._send_changes("position", self._private_rows("position", marks, ts, held), ROW_KEYS["position"])
        if "margin" in self.topics:
            self._send_changes("margin", self._private_rows("margin", marks, ts), ROW_KEYS["margin"])

    def _close_bins(self) -> None:
        contracts = self._covered("tradeBin1m")
        if not contracts:
            return
        minute = int(self.sim.clock() // 60)
        if minute <= self.bin_minute:
            return
        self.bin_minute = minute
        self.bitmex.observe()
        for c in contracts:
            if not self._pair_stalled(c.pair):
                self._rows("tradeBin1m", "insert", [self.bitmex.bin_row(c, (minute - 1) * 60)])

    # -- time -----------------------------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        self.bitmex.observe(now)
        if self.pair_stalls:
            for pair, until in list(self.pair_stalls.items()):
                if now >= until:
                    del self.pair_stalls[pair]
                    self._resume(pair)
        if not self.stalled():
            for stream in self.books.values():
                if stream.pending:
                    self._flush_book(stream)
            for symbol, qs in self.quotes.items():
                top = qs.top()
                if top != qs.sent:  # quotes held back by a stall: publish the top as it is now
                    contract = self.bitmex.contracts[symbol]
                    self._publish_quotes(contract, qs, [top], self._now())
        if now >= self.next_update:
            self.next_update = now + UPDATE_INTERVAL
            self._periodic_updates()
        self._close_bins()

    def _resume(self, pair: str) -> None:
        """A stalled pair's books catch up with their net changes (its quote follows in ``on_timer``)."""
        ts = self._now()
        for stream in self.books.values():
            if stream.contract.pair == pair:
                self._flush_book(stream, ts)

    def on_close(self) -> None:
        if self._trade_flush is not None:
            self._trade_flush.cancel()
            self._trade_flush = None
        super().on_close()

    # -- faults ---------------------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> bool:
        if fault == "unknown_id":
            return self._unknown_id()
        if fault == "stall" and params.get("pair"):
            wanted = str(params["pair"])
            contract = self.bitmex.by_pair.get(wanted) or self.bitmex.contracts.get(wanted)
            if contract is None or not any(self._covers(t, contract.symbol) for t in PUBLIC_TABLES + PRIVATE_TABLES):
                return False
            self.pair_stalls[contract.pair] = self.sim.loop_time() + float(params.get("seconds", 5.0))
            return True
        return False

    def _unknown_id(self) -> bool:
        """An update for an id this client never saw, on every book subscription."""
        ts = self._now()
        sent = False
        for stream in self.books.values():
            bids = [idx for side, idx in stream.held if side == BID]
            idx = (min(bids) - 1) if bids else (stream.book.best_bid() or 1)
            row = self._book_row(stream, BID, max(idx, 1), self.sim.new_id(), 1, ts)
            sent = self._rows(stream.table, "update", [row]) or sent
        return sent
