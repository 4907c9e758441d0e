"""Everything the monitor shows, kept up to date by feed events and read by the widgets.

Feeds call :meth:`MarketState.apply` for every event (cheap: a few dict writes); widgets poll the
``version`` counters on their own timers and repaint only what changed. Nothing here formats text or
knows about textual.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from finxtui.model.book import OrderBook
from finxtui.model.candles import Candles
from finxtui.model.events import (
    CONNECTING,
    ERROR,
    OFF,
    Bar,
    BookUpdate,
    Event,
    ExecutionEvent,
    Instrument,
    Margin,
    OrderEvent,
    Position,
    Status,
    Tick,
    Trade,
)
from finxtui.model.orders import AccountOrders
from finxtui.model.pairs import PairTable
from finxtui.model.tape import Tapes

# Which source's price the ticker shows for a pair, best first. FinX is the tick service the product is
# built around; the venues' own trades stand in when FinX is quiet or unavailable.
PRICE_PRIORITY = {"crypto": ("finx", "bitfinex", "bitmex"), "equity": ("finazon",)}
PRICE_FRESH = 30.0  # seconds a source's last price stays the preferred one
SPARK_POINTS = 120
FLASH_SECONDS = 0.6
FINX_SOURCE = "finx"
MAX_HISTORY_ROWS = 50_000  # per pair: about a day of FinX ticks for a busy pair


class SourcePrice:
    """One source's price history for a pair (sources are never mixed in one line or sparkline)."""

    __slots__ = ("changed_at", "direction", "last", "open", "prev", "seen", "spark", "ts")

    def __init__(self) -> None:
        self.last: float | None = None
        self.prev: float | None = None
        self.open: float | None = None  # first price seen this session
        self.ts = 0.0
        self.seen = 0.0
        self.direction = 0  # +1 last move up, -1 down
        self.changed_at = 0.0
        self.spark: deque[float] = deque(maxlen=SPARK_POINTS)

    def update(self, price: float, ts: float, now: float) -> None:
        if self.last is not None and price != self.last:
            self.direction = 1 if price > self.last else -1
            self.changed_at = now
        if self.open is None:
            self.open = price
        self.prev = self.last
        self.last = price
        self.ts = ts
        self.seen = now
        self.spark.append(price)


class PairState:
    """The ticker's view of one pair: the preferred source's price (see ``PRICE_PRIORITY``)."""

    __slots__ = ("by_source", "kind", "pair", "source", "version")

    def __init__(self, pair: str, kind: str) -> None:
        self.pair = pair
        self.kind = kind
        self.source = ""
        self.by_source: dict[str, SourcePrice] = {}
        self.version = 0

    @property
    def current(self) -> SourcePrice | None:
        return self.by_source.get(self.source)

    @property
    def last(self) -> float | None:
        cur = self.current
        return cur.last if cur else None

    @property
    def prev(self) -> float | None:
        cur = self.current
        return cur.prev if cur else None

    @property
    def open(self) -> float | None:
        cur = self.current
        return cur.open if cur else None

    @property
    def direction(self) -> int:
        cur = self.current
        return cur.direction if cur else 0

    @property
    def changed_at(self) -> float:
        cur = self.current
        return cur.changed_at if cur else 0.0

    @property
    def spark(self) -> deque[float]:
        cur = self.current
        return cur.spark if cur else deque()

    @property
    def change(self) -> float | None:
        cur = self.current
        if cur is None or cur.last is None or not cur.open:
            return None
        return (cur.last - cur.open) / cur.open


class SourceHealth:
    __slots__ = ("account_detail", "account_state", "detail", "events", "last_event", "source", "state")

    def __init__(self, source: str) -> None:
        self.source = source
        self.state = ""
        self.detail = ""
        self.last_event = 0.0
        self.events = 0
        self.account_state = ""
        self.account_detail = ""


@dataclass
class History:
    """FinX ticks of one pair for one day, oldest first (widgets render newest first)."""

    pair: str
    rows: list[Tick] = field(default_factory=list)
    loading: bool = False
    pages: int = 0
    error: str = ""
    version: int = 0
    #: told of every new row (the FinX candles are built from the same ticks, each once)
    listener: Callable[[list[Tick]], None] | None = field(default=None, repr=False)
    _keys: set[tuple[float, str, float]] = field(default_factory=set, repr=False)

    def begin(self) -> None:
        self.loading = True
        self.error = ""
        self.version += 1

    def add(self, rows: Iterable[Tick]) -> int:
        """Merge rows (any order, duplicates ignored); returns how many were new."""
        added = 0
        new: list[Tick] | None = [] if self.listener is not None else None
        for row in rows:
            key = (round(row.ts, 3), row.exchange, row.price)
            if key in self._keys:
                continue
            self._keys.add(key)
            if new is not None:
                new.append(row)
            if not self.rows or row.ts >= self.rows[-1].ts:
                self.rows.append(row)
            else:
                bisect.insort(self.rows, row, key=lambda r: r.ts)
            added += 1
        if added:
            self.version += 1
            if new and self.listener is not None:
                self.listener(new)
            if len(self.rows) > MAX_HISTORY_ROWS:  # a long session keeps the newest rows, not all of them
                drop = len(self.rows) - MAX_HISTORY_ROWS
                for old in self.rows[:drop]:
                    self._keys.discard((round(old.ts, 3), old.exchange, old.price))
                del self.rows[:drop]
        return added

    def page(self, rows: Iterable[Tick]) -> None:
        self.pages += 1
        self.add(rows)
        self.version += 1

    def finish(self, error: str = "") -> None:
        self.loading = False
        self.error = error
        self.version += 1


class MarketState:
    """The whole monitor's data. ``apply`` each event; read the parts and their versions."""

    def __init__(self, table: PairTable, watchlist: Iterable[str], *,
                 clock: Callable[[], float] = time.time, sources: Iterable[str] = (),
                 tapes: Tapes | None = None) -> None:
        self.table = table
        self.clock = clock
        self.watchlist = list(watchlist)
        self.pairs: dict[str, PairState] = {}
        for pair in self.watchlist:
            self.pair(pair)
        self.books: dict[tuple[str, str], OrderBook] = {}
        self.health: dict[str, SourceHealth] = {s: SourceHealth(s) for s in sources}
        self.positions: dict[str, Position] = {}
        self.margins: dict[str, Margin] = {}
        self.orders = AccountOrders()  # open orders and recent fills (its own ``version``)
        self.bars: dict[str, Bar] = {}
        self.instruments: dict[tuple[str, str], Instrument] = {}
        self.history: dict[str, History] = {}
        self.candles = Candles()
        self.tapes = tapes if tapes is not None else Tapes()
        self.ticker_version = 0
        self.positions_version = 0
        self.health_version = 0

    def pair(self, pair: str) -> PairState:
        state = self.pairs.get(pair)
        if state is None:
            info = self.table.get(pair)
            state = self.pairs[pair] = PairState(pair, info.kind if info else "crypto")
        return state

    def history_for(self, pair: str) -> History:
        hist = self.history.get(pair)
        if hist is None:
            hist = self.history[pair] = History(pair)
            hist.listener = lambda rows: self.candles.ticks(FINX_SOURCE, pair, rows)
        return hist

    # -- events ---------------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        source = event.source
        health = self.health.get(source)
        if health is None:
            health = self.health[source] = SourceHealth(source)
        now = self.clock()
        health.last_event = now
        health.events += 1
        # Most frequent first: a book update is nearly every event at full rate.
        if isinstance(event, BookUpdate):
            self.books[(source, event.pair)] = event.book
        elif isinstance(event, Trade):
            self._price(event.pair, source, event.price, event.ts, now)
            self._trade(event)
        elif isinstance(event, Tick):
            self._price(event.pair, source, event.price, event.ts, now)
            if source == FINX_SOURCE:
                if event.pair in self.pairs:  # a pair watched or selected: its table stays current (and its candles)
                    self.history_for(event.pair).add((event,))
                else:
                    self.candles.ticks(source, event.pair, (event,))
        elif isinstance(event, Bar):
            self.bars[event.pair] = event
            self._price(event.pair, source, event.c, event.ts, now)
            self.candles.bar(event)
        elif isinstance(event, Position):
            self._position(event)
        elif isinstance(event, Margin):
            self.margins[event.currency] = event
            self.positions_version += 1
        elif isinstance(event, Status):
            self._status(event, health, now)
        elif isinstance(event, Instrument):
            self.instruments[(source, event.pair)] = event
        elif isinstance(event, OrderEvent):
            self.orders.apply_order(event)
        elif isinstance(event, ExecutionEvent):
            self.orders.apply_execution(event)

    def _price(self, pair: str, source: str, price: float, ts: float, now: float) -> None:
        state = self.pairs.get(pair)
        if state is None:
            return  # not a pair the monitor shows
        per = state.by_source.get(source)
        if per is None:
            per = state.by_source[source] = SourcePrice()
        per.update(price, ts, now)
        preferred = self._preferred(state, now)
        if preferred == source or preferred != state.source:
            state.source = preferred or source
            state.version += 1
            self.ticker_version += 1

    def _trade(self, trade: Trade) -> None:
        self.candles.trade(trade.source, trade.pair, trade.price, trade.size, trade.ts)
        size = self.base_size(trade.source, trade.pair, trade.size, trade.price)
        if size is not None:
            self.tapes.add(trade.pair, trade.source, trade.side, trade.price, size, trade.ts)

    def base_size(self, source: str, pair: str, size: float, price: float) -> float | None:
        """A venue's size in the pair's base currency (BitMEX counts contracts); None until BitMEX has said
        what its contract is worth."""
        if source != "bitmex":
            return size
        inst = self.instruments.get((source, pair))
        if inst is None:
            return None
        if inst.inverse:  # XBTUSD: a contract is worth ``contract_value`` dollars
            return size * inst.contract_value / price if price else None
        return size * inst.contract_value

    def _preferred(self, state: PairState, now: float) -> str | None:
        order = PRICE_PRIORITY.get(state.kind, ())
        for source in order:
            per = state.by_source.get(source)
            health = self.health.get(source)
            if per is not None and now - per.seen <= PRICE_FRESH and (health is None or health.state != ERROR):
                return source
        # Nothing fresh: whoever spoke last.
        latest = max(state.by_source.items(), key=lambda kv: kv[1].seen, default=None)
        return latest[0] if latest else None

    def _position(self, pos: Position) -> None:
        if pos.qty == 0:
            self.positions.pop(pos.symbol, None)
        else:
            self.positions[pos.symbol] = pos
        self.positions_version += 1

    def _status(self, status: Status, health: SourceHealth, now: float) -> None:
        if status.scope == "account":
            health.account_state = status.state
            health.account_detail = status.detail
            self.positions_version += 1
        else:
            health.state = status.state
            health.detail = status.detail
        self.health_version += 1

    # -- views ----------------------------------------------------------------------------------------

    def book(self, source: str, pair: str) -> OrderBook | None:
        return self.books.get((source, pair))

    def summary(self) -> tuple[int, int, list[str]]:
        """(sources live, sources in use, names of the ones that are not live); an ``off`` source is not in use."""
        used = [h for h in self.health.values() if h.state and h.state != OFF]
        live = [h for h in used if h.state == "live"]
        return len(live), len(used), [h.source for h in used if h.state != "live"]

    def off(self) -> list[str]:
        """The sources that are off (no key set), in the order they were first heard of."""
        return [h.source for h in self.health.values() if h.state == OFF]

    def mark_connecting(self, sources: Iterable[str]) -> None:
        for source in sources:
            health = self.health.setdefault(source, SourceHealth(source))
            health.state, health.detail = CONNECTING, ""
        self.health_version += 1
