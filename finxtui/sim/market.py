"""A seeded, deterministic market: fair prices that walk with bursts, L2 books per venue, trades, ticks.

Everything is driven by :meth:`Market.step` and one ``random.Random``: the same seed and the same sequence of
steps give the same events. Timestamps come from an injectable clock, so tests can freeze time too.

Books keep prices as integer tick counts and sizes as integer size steps, so nothing drifts and the
wire text is exact; :meth:`SimBook.price` turns a tick count into the float a venue would send.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable

from sortedcontainers import SortedDict

from finxtui.model.pairs import decimals_of
from finxtui.sim.instruments import FINX_EXCHANGES, SIM_BOOKS, SIM_PAIRS, SimBookSpec, SimPair

BID = "bid"
ASK = "ask"
DEFAULT_RATE_PER_PAIR = 50.0


class LevelChange:
    """A book level's new size on one venue (0 = the level is gone). ``idx`` is the price in ticks."""

    __slots__ = ("idx", "pair", "price", "side", "size", "steps", "venue")

    def __init__(self, venue: str, pair: str, side: str, idx: int, price: float, steps: int,
                 size: float) -> None:
        self.venue = venue
        self.pair = pair
        self.side = side
        self.idx = idx
        self.price = price
        self.steps = steps
        self.size = size

    def __repr__(self) -> str:
        return f"LevelChange({self.venue} {self.pair} {self.side} {self.price} -> {self.size})"


class SimTrade:
    __slots__ = ("id", "pair", "price", "side", "size", "ts", "venue")

    def __init__(self, venue: str, pair: str, price: float, size: float, side: str, ts: float,
                 trade_id: int) -> None:
        self.venue = venue
        self.pair = pair
        self.price = price
        self.size = size
        self.side = side  # taker side: buy | sell
        self.ts = ts
        self.id = trade_id

    def __repr__(self) -> str:
        return f"SimTrade({self.venue} {self.pair} {self.side} {self.size}@{self.price})"


class SimTick:
    """A FinX tick: one exchange's price for a pair (``price_text`` as FinX sends it, a string)."""

    __slots__ = ("exchange", "pair", "price", "price_text", "ts")

    def __init__(self, pair: str, exchange: str, price: float, price_text: str, ts: float) -> None:
        self.pair = pair
        self.exchange = exchange
        self.price = price
        self.price_text = price_text
        self.ts = ts

    def __repr__(self) -> str:
        return f"SimTick({self.pair} {self.exchange} {self.price_text})"


class EquityPrint:
    """A trade in an equity, which the Finazon adapter folds into 1-minute bars."""

    __slots__ = ("pair", "price", "size", "ts")

    def __init__(self, pair: str, price: float, size: int, ts: float) -> None:
        self.pair = pair
        self.price = price
        self.size = size
        self.ts = ts

    def __repr__(self) -> str:
        return f"EquityPrint({self.pair} {self.size}@{self.price})"


MarketEvent = LevelChange | SimTrade | SimTick | EquityPrint


class SimBook:
    """One venue's L2 book for one pair, in integer ticks and size steps."""

    __slots__ = ("_ask_keys", "_bid_keys", "asks", "bids", "pdec", "sdec", "spec")

    def __init__(self, spec: SimBookSpec) -> None:
        self.spec = spec
        self.bids: SortedDict = SortedDict()  # tick index -> size in steps
        self.asks: SortedDict = SortedDict()
        # Live key views, made once: ``keys()`` builds a new view on every call, and the market asks for the
        # best levels several times a step.
        self._bid_keys = self.bids.keys()
        self._ask_keys = self.asks.keys()
        self.pdec = decimals_of(spec.tick)
        self.sdec = decimals_of(spec.size_step)

    def price(self, idx: int) -> float:
        return round(idx * self.spec.tick, self.pdec)

    def size(self, steps: int) -> float:
        value = round(steps * self.spec.size_step, self.sdec)
        return float(int(value)) if self.sdec == 0 else value

    def side(self, side: str) -> SortedDict:
        return self.bids if side == BID else self.asks

    def best_bid(self) -> int | None:
        return self._bid_keys[-1] if self.bids else None

    def best_ask(self) -> int | None:
        return self._ask_keys[0] if self.asks else None

    def levels(self, side: str, n: int | None = None) -> list[tuple[float, float]]:
        """Best-first (price, size) floats, as a venue would publish them."""
        book = self.side(side)
        keys = book.keys()
        if side == BID:
            idxs = reversed(keys) if n is None else reversed(keys[max(0, len(keys) - n):])
        else:
            idxs = iter(keys) if n is None else iter(keys[:n])
        return [(self.price(k), self.size(book[k])) for k in idxs]

    def rank(self, side: str, idx: int) -> int:
        """How many levels are better than ``idx`` on ``side`` (0 = best)."""
        book = self.side(side)
        if side == BID:
            return len(book) - book.bisect_right(idx)
        return book.bisect_left(idx)

    def at_rank(self, side: str, rank: int) -> int:
        return self._bid_keys[-1 - rank] if side == BID else self._ask_keys[rank]


class Market:
    """The whole simulated market. Call :meth:`step` to advance it by one book update (or equity print)."""

    def __init__(self, seed: int = 7, *, rate: float | None = None,
                 clock: Callable[[], float] = time.time,
                 pairs: Iterable[SimPair] = SIM_PAIRS, books: Iterable[SimBookSpec] = SIM_BOOKS) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = clock
        self.pairs: dict[str, SimPair] = {p.pair: p for p in pairs}
        self.fair: dict[str, float] = {p.pair: p.start for p in self.pairs.values()}
        self.open_price: dict[str, float] = dict(self.fair)
        self.burst: dict[str, int] = dict.fromkeys(self.pairs, 0)
        self.books: dict[tuple[str, str], SimBook] = {}
        for spec in books:
            if spec.pair in self.pairs:
                self.books[(spec.venue, spec.pair)] = SimBook(spec)
        self.by_symbol: dict[tuple[str, str], SimBook] = {(b.spec.venue, b.spec.symbol): b
                                                          for b in self.books.values()}
        # The streams a step picks from: every book, and every equity (which only prints trades).
        self._streams: list[tuple[str, str] | str] = list(self.books)
        self._streams += [p.pair for p in self.pairs.values() if p.kind == "equity"]
        self.trade_seq = 1_000_000
        self.steps = 0
        self.last_trade: dict[tuple[str, str], float] = {}
        self.last_tick: dict[str, float] = {}
        self._exch_offset = {e: (i - 1.5) * 0.00012 for i, e in enumerate(FINX_EXCHANGES)}
        self.set_rate(rate if rate is not None else DEFAULT_RATE_PER_PAIR * len(self.pairs))
        for book in self.books.values():
            self._fill(book)

    # -- configuration --------------------------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        """Tell the model how many steps a second it will get, so prices move per minute, not per step."""
        self.rate = max(float(rate), 1.0)
        per_stream = self.rate / max(len(self._streams), 1)
        self._sigma: dict[str, float] = {}
        self._tick_p: dict[str, float] = {}
        for p in self.pairs.values():
            streams = sum(1 for s in self._streams if (s[1] if isinstance(s, tuple) else s) == p.pair)
            per_min = max(per_stream * streams * 60.0, 1.0)
            # p.vol is the calm standard deviation of the price over one minute, as a fraction.
            self._sigma[p.pair] = p.vol / math.sqrt(per_min)
            # FinX ticks: about 1.5 a second per pair whatever the rate.
            self._tick_p[p.pair] = min(1.0, 1.5 / max(per_stream * streams, 1e-9))

    # -- the book's initial state ---------------------------------------------------------------------

    def _fill(self, book: SimBook) -> None:
        spec = book.spec
        f = self.fair[spec.pair] / spec.tick
        rng = self.rng
        for side in (BID, ASK):
            levels = book.side(side)
            base = math.floor(f - 0.5) if side == BID else math.ceil(f + 0.5)
            offset = 0
            while len(levels) < spec.depth:
                idx = base - offset if side == BID else base + offset
                levels[idx] = self._rand_size(spec, offset)
                offset += 1 + (rng.random() < 0.35) + (rng.random() < 0.15)

    def _rand_size(self, spec: SimBookSpec, rank: int = 5) -> int:
        # Log-normal around the venue's typical size; deeper levels are a little larger.
        scale = spec.size_scale * (0.6 + min(rank, 40) / 25.0)
        value = scale * math.exp(self.rng.gauss(0.0, 0.8))
        return max(1, int(value / spec.size_step))

    # -- stepping -------------------------------------------------------------------------------------

    def step(self) -> list[MarketEvent]:
        """Advance one book update (or equity print) and return what happened."""
        self.steps += 1
        rng = self.rng
        stream = self._streams[int(rng.random() * len(self._streams))]
        pair = stream[1] if isinstance(stream, tuple) else stream
        self._move_fair(pair)
        now = self.clock()
        out: list[MarketEvent] = []
        if isinstance(stream, tuple):
            self._book_action(self.books[stream], now, out)
            if rng.random() < self._tick_p[pair]:
                out.append(self._tick(pair, now))
        else:
            out.append(self._equity_print(pair, now))
        return out

    def steps_n(self, n: int) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for _ in range(n):
            out.extend(self.step())
        return out

    def _move_fair(self, pair: str) -> None:
        rng = self.rng
        mult = 1.0
        if self.burst[pair] > 0:
            self.burst[pair] -= 1
            mult = 3.0
        elif rng.random() < 0.0004:
            self.burst[pair] = 150 + int(rng.random() * 400)
        # A slow pull back towards the open keeps a long demo within a believable range.
        pull = (self.open_price[pair] - self.fair[pair]) / self.open_price[pair] * 0.0005
        self.fair[pair] *= math.exp(rng.gauss(pull, self._sigma[pair] * mult))

    def _book_action(self, book: SimBook, now: float, out: list[MarketEvent]) -> None:
        spec = book.spec
        rng = self.rng
        f = self.fair[spec.pair] / spec.tick
        bb, ba = book.best_bid(), book.best_ask()
        # The book chases the fair price: an aggressive order sweeps the stale quotes on the wrong side,
        # one trade per level it takes, as venues report them.
        if (ba is not None and ba < f - 0.5) or (bb is not None and bb > f + 0.5):
            hit = ASK if ba is not None and ba < f - 0.5 else BID
            for _ in range(12):
                idx = book.best_ask() if hit == ASK else book.best_bid()
                if idx is None or (idx >= f - 0.5 if hit == ASK else idx <= f + 0.5):
                    break
                self._trade(book, hit, idx, now, out, full=True)
            # Market makers re-quote the side that was taken, close to the new price.
            for _ in range(1 if len(book.side(hit)) >= 5 else 5):
                self._insert(book, hit, f, out, tighten=True)
            return
        r = rng.random()
        side = BID if rng.random() < 0.5 else ASK
        levels = book.side(side)
        if r < 0.07 and levels:
            self._trade(book, side, book.at_rank(side, 0), now, out, full=rng.random() < 0.3)
        elif r < 0.40 and levels:
            rank = min(int(rng.expovariate(1 / 4.0)), len(levels) - 1)
            idx = book.at_rank(side, rank)
            self._set(book, side, idx, self._rand_size(spec, rank), out)
        elif r < 0.72 or len(levels) < spec.depth:
            self._insert(book, side, f, out)
        else:
            if rng.random() < 0.6:
                rank = min(int(rng.expovariate(1 / 5.0)), len(levels) - 1)
            else:
                rank = int(rng.random() * len(levels))
            idx = book.at_rank(side, rank)
            size = levels[idx]
            if size > 2 and rng.random() < 0.4:
                self._set(book, side, idx, max(1, int(size * rng.uniform(0.2, 0.8))), out)
            else:
                self._set(book, side, idx, 0, out)
        # Keep each side near its target depth: the deepest level goes when a side grows too long.
        for s in (BID, ASK):
            lv = book.side(s)
            if len(lv) > spec.depth * 1.25:
                self._set(book, s, book._bid_keys[0] if s == BID else book._ask_keys[-1], 0, out)

    def _insert(self, book: SimBook, side: str, f: float, out: list[MarketEvent], *,
                tighten: bool = False) -> None:
        rng = self.rng
        spec = book.spec
        bb, ba = book.best_bid(), book.best_ask()
        if tighten or (bb is not None and ba is not None and ba - bb > 2 and rng.random() < 0.85):
            gap = 0  # a wide spread gets tightened first, as market makers would
        elif rng.random() < 0.7:
            gap = int(rng.expovariate(1 / 5.0))
        else:
            gap = int(rng.random() * spec.depth * 1.6)
        if side == BID:
            idx = math.floor(f - 0.5) - gap
            if ba is not None and idx >= ba:
                idx = ba - 1
        else:
            idx = math.ceil(f + 0.5) + gap
            if bb is not None and idx <= bb:
                idx = bb + 1
        levels = book.side(side)
        if idx <= 0:
            return
        size = levels.get(idx, 0) + self._rand_size(spec, gap)
        self._set(book, side, idx, size, out)

    def _set(self, book: SimBook, side: str, idx: int, steps: int, out: list[MarketEvent]) -> None:
        levels = book.side(side)
        if steps > 0:
            if levels.get(idx) == steps:
                return
            levels[idx] = steps
        elif levels.pop(idx, None) is None:
            return
        spec = book.spec
        out.append(LevelChange(spec.venue, spec.pair, side, idx, book.price(idx), steps, book.size(steps)))

    def _trade(self, book: SimBook, hit_side: str, idx: int, now: float, out: list[MarketEvent],
               *, full: bool) -> None:
        levels = book.side(hit_side)
        have = levels[idx]
        take = have if full or have <= 1 else max(1, int(have * self.rng.uniform(0.05, 0.9)))
        self._set(book, hit_side, idx, have - take, out)
        spec = book.spec
        self.trade_seq += 1
        price = book.price(idx)
        taker = "buy" if hit_side == ASK else "sell"
        out.append(SimTrade(spec.venue, spec.pair, price, book.size(take), taker, now, self.trade_seq))
        self.last_trade[(spec.venue, spec.pair)] = price

    def _tick(self, pair: str, now: float) -> SimTick:
        rng = self.rng
        exchange = FINX_EXCHANGES[int(rng.random() * len(FINX_EXCHANGES))]
        price = self.fair[pair] * (1 + self._exch_offset[exchange] + rng.gauss(0.0, 0.00004))
        # FinX sends its price as text with the float artefacts of its own arithmetic.
        cents = round(price * 100)
        text = repr(cents * 0.01) if price >= 10 else repr(round(price, 5))
        self.last_tick[pair] = float(text)
        return SimTick(pair, exchange, float(text), text, now)

    def _equity_print(self, pair: str, now: float) -> EquityPrint:
        p = self.pairs[pair]
        price = round(self.fair[pair], 2)
        size = max(1, int(p.volume_scale * math.exp(self.rng.gauss(0.0, 0.9))))
        self.last_tick[pair] = price
        return EquityPrint(pair, price, size, now)

    # -- views for the venue adapters -----------------------------------------------------------------

    def book(self, venue: str, pair: str) -> SimBook | None:
        return self.books.get((venue, pair))

    def mark_price(self, pair: str) -> float:
        return self.fair[pair]
