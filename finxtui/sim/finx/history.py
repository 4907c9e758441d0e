"""FinX tick history for the simulator: every tick of a pair through a UTC day, deterministic by seed.

FinX's ``tickHistory`` answers with at most 1000 rows of one UTC day strictly after a time, and a client pages
through a day by asking again from the latest time it has seen. This module is the data behind that: a store
that can list a pair's ticks for any day, page through them and find the latest tick at an instant. It does no
I/O and knows nothing of websockets; :mod:`finxtui.sim.finx.connection` serves it. Dates and times are written
with the wire grammar of :mod:`finxtui.wire.finx`.

What a day holds:

- **Synthetic ticks** for everything before the *anchor* (the moment the store was made, normally when the
  simulator's first FinX client connects). A tick every 2 to 12 seconds from one of the four exchanges, so a
  full day is about 12,000 rows. Times, exchanges and the shape of the price walk depend only on
  ``(seed, pair, day)``: two stores with the same seed give the same past days, whenever they were made.
- The price is a random walk with the pair's own volatility, tied down at both ends of each day (a Brownian
  bridge): a day opens at a level drawn from ``(seed, pair, day)`` and closes where the next day opens, so days
  join up. The anchor's day instead ends, at its last synthetic tick, exactly at the anchor price (the live
  market's price when the store was made), so the history runs straight into the live ticks.
- **Live ticks**: :meth:`TickHistory.record` appends every tick the simulator produces after the anchor.
- Days after the clock's present hold nothing: there are no synthetic ticks at or after the anchor, and live
  ticks only exist up to now.

Rows are ``{"pair","date":"YYYY-MM-DD","time":"HH:MM:SS.mmmZ","exchange","price"}`` with the price a string
carrying float artefacts (``"97251.23000000001"``), as FinX sends it. A synthetic day is generated on first use
and cached (a few hundred kilobytes in compact arrays); live ticks are kept in compact arrays too, at most
``MAX_LIVE_TICKS`` a pair.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from itertools import islice
from typing import NamedTuple

from finxtui.sim.instruments import FINX_EXCHANGES, SimPair
from finxtui.sim.market import SimTick
from finxtui.wire.finx import DAY_MS, PAGE_ROWS, day_of, day_start_ms, row_date, row_time

MIN_GAP_MS = 2_000  # synthetic ticks come every 2 to 12 seconds
MAX_GAP_MS = 12_000
EXCHANGE_SKEW = 0.00012  # each exchange's price sits a little off the others' (as in the live market model)
TICK_NOISE = 0.00004  # per-tick jitter, as a fraction of the price
LEVEL_SPREAD = 0.8  # a day's opening level around the pair's start price, in days of volatility
MAX_LIVE_TICKS = 200_000  # live ticks kept a pair (a day at 1.5 a second is about 130,000)
CACHED_DAYS = 24  # synthetic (pair, day) segments kept

Row = dict[str, str]

# -- time and text ------------------------------------------------------------------------------------


def epoch_ms(ts: float) -> int:
    """Unix seconds as whole milliseconds (the precision of FinX's times)."""
    return round(ts * 1000)


def price_text(price: float) -> str:
    """A price as FinX writes it: a string with its float arithmetic's artefacts (``"21865.010000000002"``).

    The same rule as the live market model's ticks, so history and stream read alike.
    """
    if price >= 10:
        return repr(round(price * 100) * 0.01)
    return repr(round(price, 5))


def tick_row(pair: str, ms: int, exchange: str, price: str) -> Row:
    """One FinX tick row, keys in FinX's order."""
    return {"pair": pair, "date": row_date(ms), "time": row_time(ms), "exchange": exchange, "price": price}


class Tick(NamedTuple):
    """One tick of history: epoch milliseconds, exchange, price text."""

    ms: int
    exchange: str
    price: str

    def row(self, pair: str) -> Row:
        return tick_row(pair, self.ms, self.exchange, self.price)


# -- storage ------------------------------------------------------------------------------------------


class _Ticks:
    """Ticks in time order, in compact arrays: epoch ms, exchange index, price (the float of its text)."""

    __slots__ = ("exch", "ms", "price")

    def __init__(self) -> None:
        self.ms = array("q")
        self.exch = bytearray()
        self.price = array("d")

    def __len__(self) -> int:
        return len(self.ms)

    def add(self, ms: int, exch: int, price: float) -> None:
        if not self.ms or ms >= self.ms[-1]:
            self.ms.append(ms)
            self.exch.append(exch)
            self.price.append(price)
        else:  # a clock that stepped back: keep the arrays sorted
            i = bisect.bisect_right(self.ms, ms)
            self.ms.insert(i, ms)
            self.exch.insert(i, exch)
            self.price.insert(i, price)

    def trim(self, keep: int) -> None:
        """Forget the oldest ticks past ``keep`` (in chunks, so trimming stays cheap)."""
        if len(self.ms) > keep + keep // 8:
            cut = len(self.ms) - keep
            del self.ms[:cut]
            del self.exch[:cut]
            del self.price[:cut]

    def span(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Index range of the ticks with ``start_ms <= ms < end_ms``."""
        return bisect.bisect_left(self.ms, start_ms), bisect.bisect_left(self.ms, end_ms)

    def iter(self, lo: int, hi: int) -> Iterator[tuple[int, int, float]]:
        ms, exch, price = self.ms, self.exch, self.price
        for i in range(lo, hi):
            yield ms[i], exch[i], price[i]


_EMPTY = _Ticks()


class TickHistory:
    """The FinX tick history of a simulator's pairs.

    ``anchor_ts`` is where synthetic history ends and live ticks take over; ``anchor_prices`` the pairs'
    prices then (the pairs' start prices when not given). ``clock`` says what "now" is.
    """

    def __init__(self, seed: int, pairs: Mapping[str, SimPair] | Iterable[SimPair], *, anchor_ts: float,
                 anchor_prices: Mapping[str, float] | None = None, clock: Callable[[], float] = time.time,
                 exchanges: Iterable[str] = FINX_EXCHANGES) -> None:
        self.seed = seed
        self._pairs: dict[str, SimPair] = (dict(pairs) if isinstance(pairs, Mapping)
                                           else {p.pair: p for p in pairs})
        self.anchor_ms = epoch_ms(anchor_ts)
        self.anchor_prices = {p: (anchor_prices or {}).get(p, spec.start) for p, spec in self._pairs.items()}
        self.clock = clock
        self.exchanges: list[str] = list(exchanges)
        self._exch_index = {e: i for i, e in enumerate(self.exchanges)}
        self._synthetic_exchanges = len(self.exchanges)  # synthetic ticks come from these; live ones may add
        self._skew = [(i - (self._synthetic_exchanges - 1) / 2) * EXCHANGE_SKEW
                      for i in range(self._synthetic_exchanges)]
        self._days: OrderedDict[tuple[str, date], _Ticks] = OrderedDict()
        self._live: dict[str, _Ticks] = {p: _Ticks() for p in self._pairs}

    @property
    def pairs(self) -> list[str]:
        return list(self._pairs)

    def __contains__(self, pair: object) -> bool:
        return pair in self._pairs

    def today(self) -> date:
        return day_of(epoch_ms(self.clock()))

    # -- live ticks -----------------------------------------------------------------------------------

    def record(self, tick: SimTick) -> None:
        """Append a live tick (ticks of pairs this history does not hold are ignored).

        The price is kept as a float and written back with ``repr``: the market's ``price_text`` is exactly
        that text, so a recorded row reads as the streamed tick did.
        """
        live = self._live.get(tick.pair)
        if live is None:
            return
        exch = self._exch_index.get(tick.exchange)
        if exch is None:
            if len(self.exchanges) >= 256:
                return
            exch = self._exch_index[tick.exchange] = len(self.exchanges)
            self.exchanges.append(tick.exchange)
        live.add(epoch_ms(tick.ts), exch, tick.price)
        live.trim(MAX_LIVE_TICKS)

    # -- queries --------------------------------------------------------------------------------------

    def rows(self, pair: str, day: date) -> list[Row]:
        """Every tick of ``pair`` on ``day``, in time order (empty for an unknown pair)."""
        return [self._row(pair, t) for t in self._after(pair, day, -1, None)]

    def after(self, pair: str, day: date, after_ms: int | None = None, limit: int = PAGE_ROWS) -> list[Row]:
        """The earliest ``limit`` ticks of ``day`` strictly after ``after_ms`` into it, in time order.

        ``after_ms`` None means the whole day (a tick at exactly 00:00:00.000 included).
        """
        return [self._row(pair, t) for t in self._after(pair, day, -1 if after_ms is None else after_ms, limit)]

    def page(self, pair: str, day: date, after_ms: int | None = None, limit: int = PAGE_ROWS) -> dict[str, Row]:
        """A ``tickHistory`` reply: the rows of :meth:`after` keyed ``"0"``, ``"1"``, … in shuffled order
        (FinX's rows are "not sorted by time"; the shuffle is seeded, so a reply is reproducible)."""
        rows = self.after(pair, day, after_ms, limit)
        random.Random(f"finx-page:{self.seed}:{pair}:{day.isoformat()}:{after_ms}").shuffle(rows)
        return {str(i): row for i, row in enumerate(rows)}

    def latest(self, pair: str, at_ms: int | None = None) -> Tick | None:
        """The latest tick at or before ``at_ms`` (now when None or later), looking back a few days at most."""
        if pair not in self._pairs:
            return None
        now = epoch_ms(self.clock())
        at = now if at_ms is None else min(at_ms, now)
        ordinal = day_of(at).toordinal()
        for back in range(min(4, ordinal)):
            day = date.fromordinal(ordinal - back)
            best: tuple[int, int, float] | None = None
            for ticks, lo, hi in self._segments(pair, day):
                i = bisect.bisect_right(ticks.ms, at, lo, hi) - 1
                if i >= lo and (best is None or ticks.ms[i] >= best[0]):
                    best = (ticks.ms[i], ticks.exch[i], ticks.price[i])
            if best is not None:
                ms, exch, price = best
                return Tick(ms, self.exchanges[exch], repr(price))
        return None

    # -- internals ------------------------------------------------------------------------------------

    def _row(self, pair: str, tick: tuple[int, int, float]) -> Row:
        ms, exch, price = tick
        return tick_row(pair, ms, self.exchanges[exch], repr(price))

    def _segments(self, pair: str, day: date) -> list[tuple[_Ticks, int, int]]:
        """The day's synthetic ticks and its live ticks, as (ticks, lo, hi) index ranges."""
        if pair not in self._pairs:
            return []
        start = day_start_ms(day)
        out: list[tuple[_Ticks, int, int]] = []
        synthetic = self._synthetic(pair, day)
        if len(synthetic):
            out.append((synthetic, 0, len(synthetic)))
        live = self._live[pair]
        lo, hi = live.span(start, start + DAY_MS)
        if hi > lo:
            out.append((live, lo, hi))
        return out

    def _after(self, pair: str, day: date, after_ms: int, limit: int | None) -> list[tuple[int, int, float]]:
        start = day_start_ms(day)
        streams = []
        for ticks, lo, hi in self._segments(pair, day):
            first = bisect.bisect_right(ticks.ms, start + after_ms, lo, hi) if after_ms >= 0 else lo
            streams.append(ticks.iter(first, hi if limit is None else min(hi, first + limit)))
        merged = heapq.merge(*streams, key=lambda t: t[0])
        return list(merged if limit is None else islice(merged, limit))

    def _synthetic(self, pair: str, day: date) -> _Ticks:
        start = day_start_ms(day)
        if start >= self.anchor_ms:
            return _EMPTY
        key = (pair, day)
        ticks = self._days.get(key)
        if ticks is None:
            ticks = self._days[key] = self._generate(self._pairs[pair], day)
            if len(self._days) > CACHED_DAYS:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(key)
        return ticks

    def _level(self, spec: SimPair, day: date) -> float:
        """The log price a day opens at (and the day before closes at)."""
        rng = random.Random(f"finx-level:{self.seed}:{spec.pair}:{day.isoformat()}")
        return math.log(spec.start) + rng.gauss(0.0, LEVEL_SPREAD * spec.vol * math.sqrt(1440.0))

    def _generate(self, spec: SimPair, day: date) -> _Ticks:
        """One day's synthetic ticks, up to the anchor when the anchor falls on that day."""
        start = day_start_ms(day)
        end = start + DAY_MS
        rng = random.Random(f"finx-history:{self.seed}:{spec.pair}:{day.isoformat()}")
        n_exch = self._synthetic_exchanges
        # The whole day's draws come first, the same whatever the anchor: cutting at the anchor never
        # reshuffles the ticks before it.
        times: list[int] = []
        exchs: list[int] = []
        steps: list[float] = []
        noise: list[float] = []
        sigma = spec.vol / math.sqrt(60_000.0)  # the pair's volatility per square-root millisecond
        draw, gauss, sqrt = rng.random, rng.gauss, math.sqrt
        spread = MAX_GAP_MS - MIN_GAP_MS + 1
        t, prev = start + 1 + int(draw() * MAX_GAP_MS), start
        while t < end:
            times.append(t)
            exchs.append(int(draw() * n_exch))
            steps.append(gauss(0.0, sigma * sqrt(t - prev)))
            noise.append(gauss(0.0, TICK_NOISE))
            prev = t
            t += MIN_GAP_MS + int(draw() * spread)
        n = bisect.bisect_left(times, self.anchor_ms)
        out = _Ticks()
        if n == 0:
            return out
        walk = [0.0] * n
        acc = 0.0
        for i in range(n):
            acc += steps[i]
            walk[i] = acc
        opening = self._level(spec, day)
        if end > self.anchor_ms:
            # The anchor's day: end on the last tick before the anchor, exactly at the anchor price.
            closing, span_end, walk_end = math.log(self.anchor_prices[spec.pair]), times[n - 1], walk[n - 1]
        else:
            closing, span_end, walk_end = self._level(spec, date.fromordinal(day.toordinal() + 1)), end, acc
        gap = closing - opening - walk_end
        width = span_end - start
        for i in range(n):
            frac = (times[i] - start) / width if width > 0 else 1.0
            level = opening + walk[i] + frac * gap
            price = math.exp(level) * (1.0 + self._skew[exchs[i]] + noise[i])
            out.ms.append(times[i])
            out.exch.append(exchs[i])
            out.price.append(float(price_text(price)))
        return out
