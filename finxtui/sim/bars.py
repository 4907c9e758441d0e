"""One-minute bars folded from trades, for Finazon ``bars`` and BitMEX ``tradeBin1m``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BarState:
    t: int  # bar open, UNIX seconds, minute aligned
    o: float
    h: float
    l: float  # noqa: E741
    c: float
    v: float
    trades: int = 1


class BarBuilder:
    """The forming bar plus the last closed one; ``add`` a trade, read ``current``."""

    __slots__ = ("closed", "current", "width")

    def __init__(self, width: int = 60) -> None:
        self.width = width
        self.current: BarState | None = None
        self.closed: BarState | None = None

    def add(self, price: float, size: float, ts: float) -> BarState | None:
        """Fold one trade in; returns the bar that this trade closed, if any."""
        t = int(ts // self.width) * self.width
        bar = self.current
        if bar is not None and bar.t == t:
            if price > bar.h:
                bar.h = price
            if price < bar.l:
                bar.l = price
            bar.c = price
            bar.v += size
            bar.trades += 1
            return None
        finished = None
        if bar is not None and t > bar.t:
            finished = self.closed = bar
        if bar is None or t > bar.t:
            self.current = BarState(t, price, price, price, price, size)
        return finished

    def roll(self, now: float) -> BarState | None:
        """At a minute boundary with no trade yet, close the old bar (the caller decides what to send)."""
        t = int(now // self.width) * self.width
        bar = self.current
        if bar is not None and t > bar.t:
            self.closed = bar
            self.current = None
            return bar
        return None
