"""Who hears what of the market: per-key subscribers (connections) and market-wide listeners (venue state).

A *subscriber* is a connection that asked for one venue's book of one pair (at one depth), its trades, a
pair's FinX ticks or an equity's prints; it is called only for those. A *listener* is a plain callable a
venue registers once, at construction, to hear every trade, tick or print (the FinX history recorder, a
venue's recent trades and bars); listeners hear an event before any subscriber does.

Books at a depth share one :class:`~finxtui.sim.core.window.Window` per (venue, pair, depth): it holds what
every subscriber at that depth holds and turns the book's changes into the window's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Protocol

from finxtui.sim.core.window import Window, WindowChange
from finxtui.sim.market import EquityPrint, SimBook, SimTick, SimTrade

BookKey = tuple[str, str]  # (venue, pair)


class BookSubscriber(Protocol):
    def on_book(self, key: BookKey, depth: int | None, changes: list[WindowChange]) -> None:
        """A book's changes (its window's at ``depth``; every level's when ``depth`` is None)."""


class TradeSubscriber(Protocol):
    def on_trade(self, trade: SimTrade) -> None: ...


class TickSubscriber(Protocol):
    def on_tick(self, tick: SimTick) -> None: ...


class PrintSubscriber(Protocol):
    def on_print(self, trade: EquityPrint) -> None: ...


class Subscriber(BookSubscriber, TradeSubscriber, TickSubscriber, PrintSubscriber, Protocol):
    """All four (a simulated connection is one)."""


class Subscriptions:
    """The subscription tables and the listeners, read by the dispatcher on every batch."""

    def __init__(self, books: Mapping[BookKey, SimBook]) -> None:
        self._market_books = books
        self.books: defaultdict[BookKey, dict[int | None, set[BookSubscriber]]] = defaultdict(dict)
        self.windows: dict[tuple[str, str, int], Window] = {}
        self.trades: defaultdict[BookKey, set[TradeSubscriber]] = defaultdict(set)
        self.ticks: defaultdict[str, set[TickSubscriber]] = defaultdict(set)
        self.prints: defaultdict[str, set[PrintSubscriber]] = defaultdict(set)
        self.trade_listeners: list[Callable[[SimTrade], None]] = []
        self.tick_listeners: list[Callable[[SimTick], None]] = []
        self.print_listeners: list[Callable[[EquityPrint], None]] = []

    # -- books ----------------------------------------------------------------------------------------

    def subscribe_book(self, sub: BookSubscriber, venue: str, pair: str, depth: int | None) -> Window | None:
        """Register for a book's changes; returns the shared window (None for the full book)."""
        key = (venue, pair)
        subs = self.books[key]
        window = None
        if depth is not None:
            wkey = (venue, pair, depth)
            window = self.windows.get(wkey)
            if window is None or not subs.get(depth):
                window = self.windows[wkey] = Window(self._market_books[key], depth)
        subs.setdefault(depth, set()).add(sub)
        return window

    def unsubscribe_book(self, sub: BookSubscriber, venue: str, pair: str, depth: int | None) -> None:
        subs = self.books.get((venue, pair))
        if subs and depth in subs:
            subs[depth].discard(sub)
            if not subs[depth]:
                del subs[depth]
                if depth is not None:
                    self.windows.pop((venue, pair, depth), None)

    # -- trades, ticks, prints ------------------------------------------------------------------------

    def subscribe_trades(self, sub: TradeSubscriber, venue: str, pair: str) -> None:
        self.trades[(venue, pair)].add(sub)

    def unsubscribe_trades(self, sub: TradeSubscriber, venue: str, pair: str) -> None:
        self.trades[(venue, pair)].discard(sub)

    def subscribe_ticks(self, sub: TickSubscriber, pair: str) -> None:
        self.ticks[pair].add(sub)

    def unsubscribe_ticks(self, sub: TickSubscriber, pair: str) -> None:
        self.ticks[pair].discard(sub)

    def subscribe_prints(self, sub: PrintSubscriber, pair: str) -> None:
        self.prints[pair].add(sub)

    def unsubscribe_prints(self, sub: PrintSubscriber, pair: str) -> None:
        self.prints[pair].discard(sub)

    def unsubscribe_all(self, sub: Subscriber) -> None:
        """Forget ``sub`` everywhere (a connection that ended)."""
        for (venue, pair), subs in list(self.books.items()):
            for depth in [d for d, members in subs.items() if sub in members]:
                self.unsubscribe_book(sub, venue, pair, depth)
        for trade_subs in self.trades.values():
            trade_subs.discard(sub)
        for tick_subs in self.ticks.values():
            tick_subs.discard(sub)
        for print_subs in self.prints.values():
            print_subs.discard(sub)
