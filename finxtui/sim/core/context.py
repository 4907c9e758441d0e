"""The narrow context a venue and its connections get: everything they may use of the simulator, nothing else.

The simulator makes one :class:`VenueContext` per venue at construction. Through it a venue reads the market
(never steps it), subscribes its connections to books, trades, ticks and prints of its own, registers
listeners for its state, asks the fault injector whether to misbehave now, checks credentials, reads its
settings and both clocks, draws fresh ids and starts background work. A venue never sees the ``Simulator``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from finxtui.sim.core.clock import VenueClock
from finxtui.sim.core.outbox import Outbox
from finxtui.sim.core.subscriptions import (
    BookSubscriber,
    PrintSubscriber,
    Subscriber,
    Subscriptions,
    TickSubscriber,
    TradeSubscriber,
)
from finxtui.sim.core.tasks import Spawner
from finxtui.sim.core.window import Window
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.instruments import SimPair
from finxtui.sim.market import EquityPrint, SimBook, SimTick, SimTrade
from finxtui.sim.settings import SimSettings


class MarketView(Protocol):
    """What a venue may read of the market (it never steps or changes it)."""

    @property
    def pairs(self) -> Mapping[str, SimPair]: ...

    @property
    def books(self) -> Mapping[tuple[str, str], SimBook]: ...

    @property
    def by_symbol(self) -> Mapping[tuple[str, str], SimBook]: ...

    @property
    def fair(self) -> Mapping[str, float]: ...

    @property
    def open_price(self) -> Mapping[str, float]: ...

    @property
    def last_trade(self) -> Mapping[tuple[str, str], float]: ...


class FaultSwitches(Protocol):
    """The fault injector as a venue sees it: armed faults to take once, and faults switched on."""

    def take(self, kind: str, source: str) -> bool: ...

    def is_on(self, kind: str, source: str) -> bool: ...


class Ids:
    """Fresh channel and row ids, unique within one simulator and the same for the same seed."""

    def __init__(self, seed: int) -> None:
        self._next = 10_000 + (seed * 7919) % 200_000

    def new(self) -> int:
        self._next += 1 + self._next % 7
        return self._next


class VenueContext:
    """One venue's view of the simulator. ``tag`` is the venue (``bitfinex``, ``bitmex``, ``finx``, ``finazon``)."""

    def __init__(self, tag: str, *, seed: int, market: MarketView, wall_clock: Callable[[], float],
                 venue_clock: VenueClock, ids: Ids, subscriptions: Subscriptions, outbox: Outbox,
                 faults: FaultSwitches, credentials: SimCredentials, settings: SimSettings, spawner: Spawner,
                 client_ops: Counter[tuple[str, str]]) -> None:
        self.tag = tag
        self.seed = seed  # the simulator's seed: whatever a venue draws at random is drawn from it
        self.market = market
        self.credentials = credentials
        self.settings = settings
        self.outbox = outbox  # how this venue's connections write
        self.log = logging.getLogger(f"finxtui.sim.{tag}")
        self._wall_clock = wall_clock
        self._venue_clock = venue_clock
        self._ids = ids
        self._subs = subscriptions
        self._faults = faults
        self._spawner = spawner
        self._client_ops = client_ops

    # -- time and ids ---------------------------------------------------------------------------------

    def clock(self) -> float:
        """Wall time in UNIX seconds (timestamps on the wire, minute boundaries); injectable, so tests freeze it."""
        return self._wall_clock()

    def loop_time(self) -> float:
        """The venues' clock in seconds (heartbeats, stalls, cadences, limits): the loop's, or the manual one."""
        return self._venue_clock.now()

    def new_id(self) -> int:
        """A fresh channel or row id, unique within the simulator."""
        return self._ids.new()

    # -- faults, background work, bookkeeping ---------------------------------------------------------

    def take(self, fault: str) -> bool:
        """Whether to misbehave now with an armed ``fault`` of this venue (each armed one is taken once)."""
        return self._faults.take(fault, self.tag)

    def fault_on(self, fault: str) -> bool:
        """Whether a switched ``fault`` of this venue is on (e.g. Finazon's ``soft_auth``)."""
        return self._faults.is_on(fault, self.tag)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background (kept referenced; cancelled when the simulator stops)."""
        self._spawner.spawn(coro)

    def count_op(self, op: str) -> None:
        """Count one client command (tests check that a monitor only ever reads)."""
        self._client_ops[(self.tag, op)] += 1

    # -- subscriptions (always this venue's own) ------------------------------------------------------

    def subscribe_book(self, sub: BookSubscriber, pair: str, depth: int | None) -> Window | None:
        """This venue's book of ``pair``; the shared top-``depth`` window (None: every level)."""
        return self._subs.subscribe_book(sub, self.tag, pair, depth)

    def unsubscribe_book(self, sub: BookSubscriber, pair: str, depth: int | None) -> None:
        self._subs.unsubscribe_book(sub, self.tag, pair, depth)

    def subscribe_trades(self, sub: TradeSubscriber, pair: str) -> None:
        self._subs.subscribe_trades(sub, self.tag, pair)

    def unsubscribe_trades(self, sub: TradeSubscriber, pair: str) -> None:
        self._subs.unsubscribe_trades(sub, self.tag, pair)

    def subscribe_ticks(self, sub: TickSubscriber, pair: str) -> None:
        self._subs.subscribe_ticks(sub, pair)

    def unsubscribe_ticks(self, sub: TickSubscriber, pair: str) -> None:
        self._subs.unsubscribe_ticks(sub, pair)

    def subscribe_prints(self, sub: PrintSubscriber, pair: str) -> None:
        self._subs.subscribe_prints(sub, pair)

    def unsubscribe_prints(self, sub: PrintSubscriber, pair: str) -> None:
        self._subs.unsubscribe_prints(sub, pair)

    def unsubscribe_all(self, sub: Subscriber) -> None:
        self._subs.unsubscribe_all(sub)

    # -- listeners (venue state that follows the whole market) ----------------------------------------

    def on_trades(self, listener: Callable[[SimTrade], None]) -> None:
        """Call ``listener`` with every trade of this venue, before any subscriber hears it."""
        tag = self.tag

        def own(trade: SimTrade) -> None:
            if trade.venue == tag:
                listener(trade)

        self._subs.trade_listeners.append(own)

    def on_ticks(self, listener: Callable[[SimTick], None]) -> None:
        """Call ``listener`` with every FinX tick, before any subscriber hears it."""
        self._subs.tick_listeners.append(listener)

    def on_prints(self, listener: Callable[[EquityPrint], None]) -> None:
        """Call ``listener`` with every equity print, before any subscriber hears it."""
        self._subs.print_listeners.append(listener)
