"""An L2 order book on sortedcontainers, with the views a monitor needs (venue checksums live in ``wire/``)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from sortedcontainers import SortedDict

BID = "bid"
ASK = "ask"

Level = tuple[float, float]  # (price, size)

# A new size for a price already in the book leaves the sorted keys as they are: SortedDict.__setitem__ would
# only test membership and then call this, one Python frame later. Most book updates are such size changes.
_set_size = dict.__setitem__


class OrderBook:
    """Price levels per side. Both sides are ascending SortedDicts; bids are read from the end.

    ``version`` increases on every change so renderers can skip a frame when nothing moved.
    """

    __slots__ = ("asks", "bids", "pair", "source", "version")

    def __init__(self, source: str = "", pair: str = "") -> None:
        self.source = source
        self.pair = pair
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.version = 0

    # -- writes ---------------------------------------------------------------------------------------

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.version += 1

    def load(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace the whole book (a snapshot). Zero sizes are ignored."""
        self.bids = SortedDict((p, s) for p, s in bids if s > 0)
        self.asks = SortedDict((p, s) for p, s in asks if s > 0)
        self.version += 1

    def set(self, side: str, price: float, size: float) -> None:
        """Set a level's size; a size of 0 deletes it (deleting an absent level is a no-op)."""
        levels = self.bids if side == BID else self.asks
        if size > 0:
            levels[price] = size
        else:
            levels.pop(price, None)
        self.version += 1

    def set_bid(self, price: float, size: float) -> None:
        bids = self.bids
        if size > 0:
            if price in bids:
                _set_size(bids, price, size)
            else:
                bids[price] = size
        elif price in bids:
            del bids[price]
        self.version += 1

    def set_ask(self, price: float, size: float) -> None:
        asks = self.asks
        if size > 0:
            if price in asks:
                _set_size(asks, price, size)
            else:
                asks[price] = size
        elif price in asks:
            del asks[price]
        self.version += 1

    def apply(self, changes: Iterable[tuple[str, float, float]]) -> None:
        """Apply (side, price, size) changes in order, as :meth:`set` would one by one (a size of 0 deletes)."""
        bids, asks = self.bids, self.asks
        n = 0
        for side, price, size in changes:
            levels = bids if side == BID else asks
            if size > 0:
                if price in levels:
                    _set_size(levels, price, size)
                else:
                    levels[price] = size
            elif price in levels:
                del levels[price]
            n += 1
        self.version += n

    def trim(self, depth: int) -> None:
        """Keep only the best ``depth`` levels per side (a venue window such as Bitfinex len=25)."""
        bids, asks = self.bids, self.asks
        while len(bids) > depth:
            bids.popitem(0)
        while len(asks) > depth:
            asks.popitem(-1)

    # -- reads ----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook):
            return NotImplemented
        return dict(self.bids) == dict(other.bids) and dict(self.asks) == dict(other.asks)

    __hash__ = None  # type: ignore[assignment]

    def best_bid(self) -> Level | None:
        return self.bids.peekitem(-1) if self.bids else None

    def best_ask(self) -> Level | None:
        return self.asks.peekitem(0) if self.asks else None

    def spread(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return self.asks.peekitem(0)[0] - self.bids.peekitem(-1)[0]

    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.asks.peekitem(0)[0] + self.bids.peekitem(-1)[0]) / 2

    def is_crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0])

    def top_bids(self, n: int) -> list[Level]:
        """Best ``n`` bids, best (highest) first."""
        items = self.bids.items()
        return list(islice(reversed(items), n))

    def top_asks(self, n: int) -> list[Level]:
        """Best ``n`` asks, best (lowest) first."""
        return list(islice(self.asks.items(), n))

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        return self.top_bids(n), self.top_asks(n)

    def ladder(self, side: str, n: int) -> list[tuple[float, float, float]]:
        """Best ``n`` levels of one side with running cumulative size: (price, size, cumulative)."""
        out = []
        cum = 0.0
        for price, size in (self.top_bids(n) if side == BID else self.top_asks(n)):
            cum += size
            out.append((price, size, cum))
        return out
