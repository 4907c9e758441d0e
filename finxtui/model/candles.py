"""Candles per pair, source and timeframe, built from the trades, ticks and bars the feeds deliver.

One :class:`CandleSeries` per (source, pair): a venue's prices are never mixed with another's in one candle
(their prices differ, and BitMEX counts contracts where Bitfinex counts coins). Every price updates the
candle of each timeframe it falls in, in place, so a redraw reads finished candles and never re-aggregates.
Prices may arrive out of order (FinX history pages come unsorted, after live ticks): a candle keeps the
times of its first and last price, so its open and close are the earliest and latest whatever the order.

A venue's own 1-minute bar (BitMEX ``tradeBin1m``, Finazon ``bars``) is the authority for its minute: it
replaces the minute built from trades, and the wider candles holding that minute are re-summed from their
minutes. Memory is bounded: each timeframe keeps its newest ``KEEP[tf]`` candles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sortedcontainers import SortedDict

from finxtui.model.events import Bar, Tick

#: Timeframes in seconds, in the order the chart's key steps through them.
TIMEFRAMES = (60, 300, 900, 3600)
LABELS = {60: "1m", 300: "5m", 900: "15m", 3600: "1h"}
# Newest candles kept per timeframe: a day of minutes (the wider candles of today re-sum from them), and for
# the wider ones more than the widest chart shows (about 200 columns).
KEEP = {60: 1440, 300: 600, 900: 400, 3600: 400}


class Candle:
    """One candle. ``v`` is the summed size (0 where the source has no sizes: FinX ticks), ``n`` the number of
    prices in it; ``first``/``last`` are the times of its open and close."""

    __slots__ = ("c", "first", "h", "l", "last", "n", "o", "ts", "v")

    def __init__(self, ts: int, price: float, size: float, at: float) -> None:
        self.ts = ts
        self.o = self.h = self.l = self.c = price
        self.v = size
        self.n = 1
        self.first = self.last = at

    def add(self, price: float, size: float, at: float) -> None:
        if price > self.h:
            self.h = price
        elif price < self.l:
            self.l = price
        if at >= self.last:
            self.c = price
            self.last = at
        if at < self.first:
            self.o = price
            self.first = at
        self.v += size
        self.n += 1

    @classmethod
    def of(cls, ts: int, o: float, h: float, l: float, c: float, v: float, n: int,  # noqa: E741
           first: float, last: float) -> Candle:
        candle = cls(ts, o, v, first)
        candle.h, candle.l, candle.c, candle.n, candle.last = h, l, c, n, last
        return candle

    def key(self) -> tuple[float, float, float, float, float]:
        """What a chart column draws from (the column cache's key)."""
        return (self.o, self.h, self.l, self.c, self.v)

    def __repr__(self) -> str:
        return f"Candle({self.ts} o={self.o} h={self.h} l={self.l} c={self.c} v={self.v} n={self.n})"


class CandleSeries:
    """One source's candles for one pair, at every timeframe. ``version`` moves on every change."""

    __slots__ = ("by_tf", "pair", "sized", "source", "version")

    def __init__(self, source: str, pair: str) -> None:
        self.source = source
        self.pair = pair
        self.by_tf: dict[int, SortedDict] = {tf: SortedDict() for tf in TIMEFRAMES}
        self.sized = False  # some price came with a size (trades, bars): the volume strip shows volume
        self.version = 0

    def add(self, price: float, size: float, at: float) -> None:
        """A trade (``size`` > 0) or a tick (``size`` 0) at ``at`` (UNIX seconds)."""
        if size:
            self.sized = True
        for tf, candles in self.by_tf.items():
            start = int(at // tf) * tf
            candle = candles.get(start)
            if candle is None:
                candles[start] = Candle(start, price, size, at)
                if len(candles) > KEEP[tf]:
                    candles.popitem(0)
            else:
                candle.add(price, size, at)
        self.version += 1

    def bar(self, ts: float, o: float, h: float, l: float, c: float, v: float) -> None:  # noqa: E741
        """A venue's 1-minute bar opening at ``ts``: it replaces the minute, and the wider candles re-sum."""
        self.sized = True
        minute = int(ts // 60) * 60
        minutes = self.by_tf[60]
        old = minutes.get(minute)
        n = old.n if old is not None else 1
        minutes[minute] = Candle.of(minute, o, h, l, c, v, n, float(minute), minute + 59.999)
        if len(minutes) > KEEP[60]:
            minutes.popitem(0)
        for tf in TIMEFRAMES[1:]:
            self._resum(tf, int(minute // tf) * tf)
        self.version += 1

    def _resum(self, tf: int, start: int) -> None:
        parts = list(self.by_tf[60].irange(start, start + tf - 1))
        if not parts:
            return
        minutes = self.by_tf[60]
        first, last = minutes[parts[0]], minutes[parts[-1]]
        h = max(minutes[m].h for m in parts)
        low = min(minutes[m].l for m in parts)
        v = sum(minutes[m].v for m in parts)
        n = sum(minutes[m].n for m in parts)
        candles = self.by_tf[tf]
        candles[start] = Candle.of(start, first.o, h, low, last.c, v, n, first.first, last.last)
        if len(candles) > KEEP[tf]:
            candles.popitem(0)

    def candles(self, tf: int) -> SortedDict:
        """Candles of timeframe ``tf`` by open time (seconds), oldest first."""
        return self.by_tf[tf]

    def latest(self, tf: int, count: int) -> list[Candle]:
        """The newest ``count`` candles of ``tf``, oldest first."""
        candles = self.by_tf[tf]
        n = len(candles)
        return list(candles.values()[max(0, n - count):]) if n else []

    def last_price(self) -> float | None:
        minutes = self.by_tf[60]
        if not minutes:
            return None
        return minutes.peekitem(-1)[1].c

    def __len__(self) -> int:
        return len(self.by_tf[60])


class Candles:
    """Every series, by (source, pair)."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], CandleSeries] = {}

    def get(self, source: str, pair: str) -> CandleSeries | None:
        return self.series.get((source, pair))

    def _series(self, source: str, pair: str) -> CandleSeries:
        series = self.series.get((source, pair))
        if series is None:
            series = self.series[(source, pair)] = CandleSeries(source, pair)
        return series

    def trade(self, source: str, pair: str, price: float, size: float, ts: float) -> None:
        self._series(source, pair).add(price, size, ts)

    def ticks(self, source: str, pair: str, ticks: Iterable[Tick]) -> None:
        """Ticks carry a price and no size: the volume strip counts them instead."""
        series = self._series(source, pair)
        for tick in ticks:
            series.add(tick.price, 0.0, tick.ts)

    def bar(self, bar: Bar) -> None:
        if bar.interval != 60:
            return  # every venue we speak sends 1-minute bars; another width would need its own series
        self._series(bar.source, bar.pair).bar(bar.ts, bar.o, bar.h, bar.l, bar.c, bar.v)

    def sources_for(self, pair: str) -> Iterator[str]:
        """Sources with candles for ``pair``."""
        return (source for (source, p), s in self.series.items() if p == pair and len(s))
