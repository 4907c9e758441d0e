"""A deterministic market for screen tests: the events a live session would bring, made from a seed.

Every pair of the default watchlist gets what the venues would send it: books on Bitfinex and BitMEX (with
BitMEX's contract sizes and instruments), trades, FinX ticks from four exchanges, Finazon 1-minute bars for
the equities, the demo account's positions, margin, open orders and fills, and every feed live. Nothing here
reads a clock or a socket, so a screen built from it is the same on every run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import (
    LIVE,
    Bar,
    BookChange,
    BookUpdate,
    Event,
    ExecutionEvent,
    Instrument,
    Margin,
    OrderEvent,
    Position,
    Status,
    Tick,
    Trade,
)

# 2026-11-20 14:30:00 UTC: a fixed afternoon, so "today's" history has a morning behind it.
FROZEN_AT = 1_795_185_000.0

# pair -> (mid price, Bitfinex tick, Bitfinex size scale, BitMEX tick, BitMEX contracts scale)
CRYPTO = {
    "BTC:USD": (97250.0, 1.0, 0.35, 0.5, 30_000),
    "ETH:USD": (3452.0, 0.1, 6.0, 0.05, 400_000),
    "SOL:USD": (182.4, 0.01, 90.0, 0.01, 600_000),
    "XRP:USD": (2.3105, 0.0001, 6000.0, 0.0001, 400_000),
}
EQUITIES = {"AAPL": 232.51, "MSFT": 418.2, "NVDA": 142.87}
# BitMEX contracts: symbol, pair, inverse, value of one contract, its unit
CONTRACTS = (("XBTUSD", "BTC:USD", True, 1.0, "USD"), ("ETHUSDT", "ETH:USD", False, 0.00001, "ETH"),
             ("SOLUSDT", "SOL:USD", False, 0.0001, "SOL"), ("XRPUSDT", "XRP:USD", False, 0.01, "XRP"))
EXCHANGES = ("COINBASE", "BINANCE", "GEMINI", "KRAKEN")
VENUES = ("finx", "bitfinex", "bitmex", "finazon")


def _round(price: float, tick: float) -> float:
    digits = max(0, len(repr(tick).split(".")[1]) if "." in repr(tick) else 0)
    return round(round(price / tick) * tick, digits)


def _book(rng: random.Random, source: str, pair: str, mid: float, tick: float, scale: float, whole: bool,
          ts: float, levels: int = 25) -> BookUpdate:
    book = OrderBook(source, pair)
    gap = max(tick, _round(mid * 0.00002, tick))
    best_bid = _round(mid - gap, tick)
    best_ask = _round(mid + gap, tick)
    bids, asks = [], []
    for i in range(levels):
        step = tick * (1 + rng.randrange(3))
        size = scale * rng.uniform(0.02, 1.0) * (1 + i / 8)
        size = float(round(size / 100) * 100 or 100) if whole else round(size, 4)
        bids.append((_round(best_bid - i * step, tick), size))
        size = scale * rng.uniform(0.02, 1.0) * (1 + i / 8)
        size = float(round(size / 100) * 100 or 100) if whole else round(size, 4)
        asks.append((_round(best_ask + i * step, tick), size))
    book.load(bids, asks)
    changes: list[BookChange] = [(BID, p, s) for p, s in bids] + [(ASK, p, s) for p, s in asks]
    return BookUpdate(source, pair, book, True, changes, ts)


def _walk(rng: random.Random, start: float, n: int, sigma: float) -> list[float]:
    prices = [start]
    for _ in range(n - 1):
        prices.append(prices[-1] * (1 + rng.gauss(0, sigma)))
    return prices


def market(seed: int = 7, at: float = FROZEN_AT) -> list[Event]:
    """The session's events, oldest first, ending at ``at``."""
    rng = random.Random(seed)
    events: list[Event] = [Status(v, LIVE, "", at - 60) for v in VENUES]
    events.append(Status("bitmex", LIVE, "", at - 60, scope="account"))
    for symbol, pair, inverse, value, unit in CONTRACTS:
        tick = CRYPTO[pair][3]
        events.append(Instrument("bitmex", pair, symbol, inverse, value, unit, tick, 100.0))
    for pair, (mid, bf_tick, bf_scale, bm_tick, bm_scale) in CRYPTO.items():
        prices = _walk(rng, mid, 60, 0.0004)
        for i, price in enumerate(prices):  # a minute of FinX ticks, a second apart
            events.append(Tick("finx", pair, _round(price, bf_tick), EXCHANGES[i % 4], at - 60 + i))
        last = prices[-1]
        for i in range(5):
            side = "buy" if rng.random() < 0.5 else "sell"
            events.append(Trade("bitfinex", pair, _round(last * (1 + rng.gauss(0, 0.0002)), bf_tick),
                                round(bf_scale * rng.uniform(0.01, 0.2), 4), side, at - 5 + i, str(1000 + i)))
        events.append(_book(rng, "bitfinex", pair, last, bf_tick, bf_scale, False, at - 1))
        events.append(_book(rng, "bitmex", pair, last, bm_tick, bm_scale, True, at - 1))
    for pair, price in EQUITIES.items():
        opens = _walk(rng, price, 4, 0.001)
        minute = (at // 60) * 60
        for i, o in enumerate(opens):
            c = o * (1 + rng.gauss(0, 0.0008))
            events.append(Bar("finazon", pair, round(o, 2), round(max(o, c) * 1.0004, 2),
                              round(min(o, c) * 0.9996, 2), round(c, 2), 1000 + 250 * i, minute - 180 + 60 * i))
    events += _prints(seed, at)
    events += [
        Position("bitmex", "BTC:USD", "XBTUSD", 25_000, 96_120.5, 97_251.0, 61_400.0, 0.003024, 5.0, "XBT",
                 0.2571, 0.0, at - 2),
        Position("bitmex", "ETH:USD", "ETHUSDT", 150_000, 3_401.2, 3_452.05, 2_790.3, 76.27, 10.0, "USDT",
                 1.5, 0.0, at - 2),
        Position("bitmex", "SOL:USD", "SOLUSDT", -2_000_000, 190.12, 182.41, 228.9, 1_542.0, 3.0, "USDT",
                 -200.0, 0.0, at - 2),
        Margin("bitmex", "XBT", 1.25, 1.2530, 0.98, 0.003024, at - 2),
        Margin("bitmex", "USDT", 25_000.0, 26_618.27, 18_500.0, 1_618.27, at - 2),
    ]
    events += account_orders(at)
    return events


def account_orders(at: float = FROZEN_AT) -> list[Event]:
    """The demo account's working orders and its latest fills: one order half filled, one resting."""
    return [
        OrderEvent("bitmex", "BTC:USD", "XBTUSD", "o-1", "buy", 97_180.5, 2_000, 2_000, 0, None, "new", "Limit",
                   at - 30),
        OrderEvent("bitmex", "SOL:USD", "SOLUSDT", "o-2", "sell", 182.62, 400_000, 250_000, 150_000, 182.62,
                   "partially_filled", "Limit", at - 5),
        ExecutionEvent("bitmex", "ETH:USD", "ETHUSDT", "o-0", "e-1", "sell", 3_452.35, 50_000, at - 12, 0),
        ExecutionEvent("bitmex", "SOL:USD", "SOLUSDT", "o-2", "e-2", "sell", 182.62, 150_000, at - 5, 250_000),
    ]


def _prints(seed: int, at: float) -> list[Event]:
    """The tape's last seconds for each crypto pair (its own random stream, so the rest of the script is
    unchanged): a BitMEX sweep (three buys in one millisecond, merged into one print), two BitMEX sells a
    millisecond apart (two prints), and a Bitfinex buy worth about $220k (a large print)."""
    rng = random.Random(f"{seed}:prints")
    events: list[Event] = []
    for pair, (mid, bf_tick, _, bm_tick, bm_scale) in CRYPTO.items():
        symbol = next(c[0] for c in CONTRACTS if c[1] == pair)
        price = _round(mid, bm_tick)
        sweep = at - 3 + 0.123
        for i in range(3):
            contracts = float(round(bm_scale * rng.uniform(0.05, 0.2) / 100) * 100 or 100)
            events.append(Trade("bitmex", pair, _round(price + i * bm_tick, bm_tick), contracts, "buy", sweep,
                                f"{symbol}-sweep-{i}"))
        for i in range(2):
            contracts = float(round(bm_scale * rng.uniform(0.05, 0.2) / 100) * 100 or 100)
            events.append(Trade("bitmex", pair, _round(price - (i + 1) * bm_tick, bm_tick), contracts, "sell",
                                at - 2 + 0.001 * i, f"{symbol}-sell-{i}"))
        size = round(220_000 / mid, 4)
        events.append(Trade("bitfinex", pair, _round(mid, bf_tick), size, "buy", at - 0.5, "big"))
    return events


def history(pair: str, seed: int = 7, at: float = FROZEN_AT, rows: int = 240) -> list[Sequence[Tick]]:
    """Today's FinX ticks of ``pair`` before the session, as FinX pages them (oldest page first)."""
    rng = random.Random(f"{seed}:{pair}")
    mid, tick = CRYPTO[pair][0], CRYPTO[pair][1]
    prices = _walk(rng, mid * 0.995, rows, 0.0005)
    ticks = [Tick("finx", pair, _round(p, tick), EXCHANGES[rng.randrange(4)], at - 3600 + 14 * i)
             for i, p in enumerate(prices)]
    return [ticks[:150], ticks[150:]]
