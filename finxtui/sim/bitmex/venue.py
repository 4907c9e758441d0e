"""The simulated BitMEX exchange behind the sockets: contracts, the demo account, trade statistics, rows.

Made once by the simulator. A trade listener keeps, from construction on, each contract's latest trades
(tick directions), its one-minute bars (``tradeBin1m``) and running statistics (instrument volume, turnover,
high and low, and each bin's turnover and notionals); instrument statistics are a fixed daily base plus the
trades this simulator has made. It also counts connections for the welcome's ``limit.remaining``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from finxtui.sim.bars import BarBuilder
from finxtui.sim.bitmex.account import CONTRACTS, Account, round_to_tick, trade_values
from finxtui.sim.bitmex.trading import DemoTrader, Message
from finxtui.sim.core.context import VenueContext
from finxtui.sim.core.recent import RecentTrades
from finxtui.sim.core.venue import Venue
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import SimBook, SimTrade
from finxtui.wire import bitmex as bmx
from finxtui.wire.bitmex import iso
from finxtui.wire.jsnum import wire_number

CONNECTIONS_PER_HOUR = 60
FUNDING_RATE = 0.0001
FUNDING_INTERVAL = 8 * 3600
BIN_MINUTES_KEPT = 3


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
    volume: int = 0
    turnover: int = 0
    home: float = 0.0
    foreign: float = 0.0
    high: float | None = None
    low: float | None = None
    bins: dict[int, _Bin] = field(default_factory=dict)


class BitmexVenue(Venue):
    tag: ClassVar[str] = "bitmex"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        market = ctx.market
        self.contracts: dict[str, BitmexContract] = {
            s: c for s, c in CONTRACTS.items() if (self.tag, c.pair) in market.books}
        self.by_pair: dict[str, BitmexContract] = {c.pair: c for c in self.contracts.values()}
        account = Account.demo({s: market.open_price[c.pair] for s, c in self.contracts.items()})
        self.trader = DemoTrader(ctx.seed, self.contracts, self.book, account, ctx.clock)
        #: each connection's tables, told of every order and execution message and every moved position
        self.account_listeners: list[Callable[[list[Message], set[str]], None]] = []
        self.recent = RecentTrades(self.by_pair)
        self.bars: dict[str, BarBuilder] = {pair: BarBuilder() for pair in self.by_pair}
        self.stats: dict[str, _Stats] = {s: _Stats() for s in self.contracts}
        self.opened: list[float] = []
        ctx.on_trades(self._on_trade)

    @property
    def account(self) -> Account:
        """The demo account as it is now (its positions move with the demo trader's fills)."""
        return self.trader.account

    def on_timer(self, now: float) -> None:
        self._publish(self.trader.on_timer(now))
        super().on_timer(now)

    def _publish(self, messages: list[Message]) -> None:
        moved = self.trader.take_moved()
        if not messages and not moved:
            return
        for listener in tuple(self.account_listeners):
            try:
                listener(messages, moved)
            except Exception:  # one broken connection must not stop the others' account tables
                self.ctx.log.exception("account update failed")

    def connection_opened(self) -> int:
        """Register a connection; returns what the welcome's ``limit.remaining`` says."""
        now = self.ctx.loop_time()
        self.opened = [t for t in self.opened if now - t < 3600] + [now]
        return max(0, CONNECTIONS_PER_HOUR - len(self.opened))

    def book(self, contract: BitmexContract) -> SimBook:
        return self.ctx.market.books[(self.tag, contract.pair)]

    def mark(self, contract: BitmexContract) -> float:
        return round_to_tick(contract, self.ctx.market.fair[contract.pair])

    def marks(self) -> dict[str, float]:
        return {s: self.mark(c) for s, c in self.contracts.items()}

    # -- what every trade changes ---------------------------------------------------------------------

    def _on_trade(self, t: SimTrade) -> None:
        contract = self.by_pair.get(t.pair)
        if contract is None:
            return
        self.recent.record(t)
        self.bars[t.pair].add(t.price, t.size, t.ts)
        st = self.stats[contract.symbol]
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
            for old in [k for k in st.bins if k < start - 60 * BIN_MINUTES_KEPT]:
                del st.bins[old]
        b.trades += 1
        b.volume += size
        b.pv += t.price * size
        b.last_size = size
        b.turnover += gross
        b.home += home
        b.foreign += foreign
        self._publish(self.trader.on_trade(contract, t))  # the account's resting orders this trade reached

    # -- public rows ----------------------------------------------------------------------------------

    def trade_row(self, contract: BitmexContract, recent: list[SimTrade], i: int) -> dict[str, Any]:
        """The ``trade`` row of ``recent[i]`` (its tick direction needs the trades before it)."""
        t = recent[i]
        size = int(t.size)
        gross, home, foreign = trade_values(contract, size, t.price)
        return {"timestamp": iso(t.ts), "symbol": contract.symbol, "side": bmx.BUY if t.side == "buy" else bmx.SELL,
                "size": size, "price": wire_number(t.price), "tickDirection": tick_direction(recent, i),
                "trdMatchID": trade_match_id(self.ctx.seed, t.id), "grossValue": gross,
                "homeNotional": wire_number(home), "foreignNotional": wire_number(foreign), "trdType": "Regular"}

    def instrument_row(self, contract: BitmexContract, timestamp: str) -> dict[str, Any]:
        """The full instrument row (the partial); updates send the fields that changed since."""
        market = self.ctx.market
        c = contract
        book = self.book(c)
        mark = self.mark(c)
        index = round_to_tick(c, market.fair[c.pair] / (1 + FUNDING_RATE / 2))
        prev24 = round_to_tick(c, market.open_price[c.pair])
        last = market.last_trade.get(("bitmex", c.pair), mark)
        st = self.stats[c.symbol]
        base_volume = int(book.spec.size_scale * 2500 // c.lot_size * c.lot_size)
        base_gross, base_home, base_foreign = trade_values(c, base_volume, prev24)
        recent = self.recent.of(c.pair)
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
            "fundingTimestamp": iso((int(self.ctx.clock()) // FUNDING_INTERVAL + 1) * FUNDING_INTERVAL),
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
        builder = self.bars[contract.pair]
        bars = [b for b in (builder.current, builder.closed) if b is not None]
        bar = next((b for b in bars if b.t == start), None)
        row: dict[str, Any] = {"timestamp": iso(start + 60), "symbol": contract.symbol}
        if bar is None:
            before = [b for b in bars if b.t < start]
            price = (max(before, key=lambda b: b.t).c if before
                     else self.ctx.market.last_trade.get((self.tag, contract.pair), self.mark(contract)))
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
