"""A venue's latest trades per pair, kept by a trade listener: trade snapshots and tick directions read them."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from finxtui.sim.market import SimTrade

KEEP = 50


class RecentTrades:
    def __init__(self, pairs: Iterable[str], keep: int = KEEP) -> None:
        self._by_pair: dict[str, deque[SimTrade]] = {pair: deque(maxlen=keep) for pair in pairs}

    def record(self, trade: SimTrade) -> None:
        """Keep ``trade`` (a listener: the venue registers this with its context)."""
        trades = self._by_pair.get(trade.pair)
        if trades is not None:
            trades.append(trade)

    def of(self, pair: str) -> list[SimTrade]:
        """The pair's latest trades, oldest first."""
        trades = self._by_pair.get(pair)
        return list(trades) if trades is not None else []
