"""Time and sales: each pair's trades from the venues, newest last, merged as aggr merges them.

Trades of one venue, one side and the same exact millisecond are one order eating the book (a sweep the
venue reports level by level): they become one :class:`Print` with the first, last and volume-weighted
price, the summed size and the count. Sizes are in the pair's base currency (the caller converts BitMEX
contracts), so one large-trade threshold per pair reads the same on every venue. Memory is bounded: each
pair keeps its newest ``MAX_PRINTS`` prints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

MAX_PRINTS = 500  # more than the tallest tape shows (about 60 rows), with room to scroll back later
DEFAULT_LARGE_NOTIONAL = 100_000.0  # quote currency (USD): a pair without its own threshold


class Print:
    """One row of the tape: trades merged by venue, side and millisecond."""

    __slots__ = ("count", "first", "last", "ms", "notional", "side", "size", "source")

    def __init__(self, source: str, side: str, ms: int, price: float, size: float) -> None:
        self.source = source
        self.side = side
        self.ms = ms
        self.first = self.last = price
        self.size = size
        self.notional = price * size
        self.count = 1

    @property
    def ts(self) -> float:
        return self.ms / 1000.0

    @property
    def vwap(self) -> float:
        return self.notional / self.size if self.size else self.last

    def merge(self, price: float, size: float) -> None:
        self.last = price
        self.size += size
        self.notional += price * size
        self.count += 1

    def __repr__(self) -> str:
        return (f"Print({self.source} {self.side} {self.ms} {self.first}->{self.last} vwap={self.vwap:g} "
                f"size={self.size:g} x{self.count})")


class Tape:
    """One pair's prints, oldest first (``prints[-1]`` is the newest). ``version`` moves on every change."""

    __slots__ = ("pair", "prints", "trades", "version")

    def __init__(self, pair: str, keep: int = MAX_PRINTS) -> None:
        self.pair = pair
        self.prints: deque[Print] = deque(maxlen=keep)
        self.trades = 0  # trades taken in (a merged print holds several)
        self.version = 0

    def add(self, source: str, side: str, price: float, size: float, ts: float) -> Print:
        """Take one trade (``size`` in the base currency); returns the print it landed in."""
        ms = round(ts * 1000)
        self.trades += 1
        self.version += 1
        # A venue's sweep arrives as consecutive trades on its own socket, but any number of another venue's newer
        # prints may have been read in between: look back through every print not older than this trade, so what
        # merges does not depend on how the venues' sockets were read (prints are in time order: on a live tape
        # this is one or two prints).
        for p in reversed(self.prints):
            if p.ms < ms:
                break
            if p.ms == ms and p.source == source and p.side == side:
                p.merge(price, size)
                return p
        new = Print(source, side, ms, price, size)
        if self.prints and ms < self.prints[-1].ms:  # late (another venue's clock): keep the tape in time order
            self._insert(new)
        else:
            self.prints.append(new)
        return new

    def _insert(self, new: Print) -> None:
        prints = self.prints
        i = len(prints)
        while i > 0 and prints[i - 1].ms > new.ms:
            i -= 1
        if len(prints) == prints.maxlen:
            if i == 0:
                return  # older than everything kept: it would fall off at once
            prints.popleft()  # a full deque refuses insert(): make room at the old end first
            i -= 1
        prints.insert(i, new)

    def newest(self, count: int) -> list[Print]:
        """The newest ``count`` prints, newest first."""
        prints = self.prints
        n = min(count, len(prints))
        return [prints[-1 - i] for i in range(n)]


class Tapes:
    """Every pair's tape and its large-trade threshold.

    ``large`` gives a size (base currency) per pair; pairs without one count a print as large from
    ``large_notional`` in the quote currency.
    """

    def __init__(self, large: Mapping[str, float] | None = None,
                 large_notional: float = DEFAULT_LARGE_NOTIONAL, keep: int = MAX_PRINTS) -> None:
        self.large = dict(large or {})
        self.large_notional = large_notional
        self.keep = keep
        self.tapes: dict[str, Tape] = {}

    def get(self, pair: str) -> Tape | None:
        return self.tapes.get(pair)

    def tape(self, pair: str) -> Tape:
        tape = self.tapes.get(pair)
        if tape is None:
            tape = self.tapes[pair] = Tape(pair, self.keep)
        return tape

    def add(self, pair: str, source: str, side: str, price: float, size: float, ts: float) -> Print:
        return self.tape(pair).add(source, side, price, size, ts)

    def threshold(self, pair: str, price: float | None) -> float | None:
        """The size from which a print of ``pair`` is large (None: no price yet to turn notional into size)."""
        size = self.large.get(pair)
        if size is not None:
            return size
        if price is None or price <= 0:
            return None
        return self.large_notional / price

    def is_large(self, pair: str, p: Print) -> bool:
        size = self.large.get(pair)
        if size is not None:
            return p.size >= size
        return p.notional >= self.large_notional
