"""Publishing one batch of market events: listeners first, then each subscriber, one socket write each.

A batch is what one pump tick (or one ``step``) produced. Book changes are grouped per (venue, pair) and
handed over once per batch, through the shared window of each subscribed depth; trades, ticks and prints go
out one by one, in market order.
"""

from __future__ import annotations

from collections.abc import Iterable

from finxtui.sim.core.outbox import Outbox
from finxtui.sim.core.subscriptions import BookKey, Subscriptions
from finxtui.sim.core.window import WindowChange
from finxtui.sim.market import EquityPrint, LevelChange, MarketEvent, SimTick, SimTrade


class Dispatcher:
    def __init__(self, subscriptions: Subscriptions, outbox: Outbox) -> None:
        self.subscriptions = subscriptions
        self.outbox = outbox
        self.batches = 0

    def dispatch(self, events: Iterable[MarketEvent]) -> None:
        """Publish one batch to every listener and subscriber (each socket gets one write)."""
        self.outbox.cork()
        try:
            self._dispatch(events)
        finally:
            self.outbox.uncork()

    def _dispatch(self, events: Iterable[MarketEvent]) -> None:
        self.batches += 1
        subs = self.subscriptions
        changes: dict[BookKey, list[LevelChange]] = {}
        for ev in events:
            # ``type(ev) is`` rather than isinstance: this loop runs for every event at benchmark rates.
            if type(ev) is LevelChange:
                changes.setdefault((ev.venue, ev.pair), []).append(ev)
            elif type(ev) is SimTrade:
                for listen_trade in subs.trade_listeners:
                    listen_trade(ev)
                for trade_sub in tuple(subs.trades.get((ev.venue, ev.pair), ())):
                    trade_sub.on_trade(ev)
            elif type(ev) is SimTick:
                for listen_tick in subs.tick_listeners:
                    listen_tick(ev)
                for tick_sub in tuple(subs.ticks.get(ev.pair, ())):
                    tick_sub.on_tick(ev)
            elif type(ev) is EquityPrint:
                for listen_print in subs.print_listeners:
                    listen_print(ev)
                for print_sub in tuple(subs.prints.get(ev.pair, ())):
                    print_sub.on_print(ev)
        for key, chs in changes.items():
            depths = subs.books.get(key)
            if not depths:
                continue
            for depth, members in list(depths.items()):
                if not members:
                    continue
                out: list[WindowChange]
                if depth is None:
                    out = [(c.side, c.idx, c.steps) for c in chs]
                else:
                    out = subs.windows[(key[0], key[1], depth)].apply(chs)
                if out:
                    for book_sub in tuple(members):
                        book_sub.on_book(key, depth, out)
