"""The account's open orders and recent fills, as the monitor shows them.

Fed by :class:`~finxtui.model.state.MarketState` with every :class:`OrderEvent` and :class:`ExecutionEvent`;
read by the account panel, which polls ``version`` and repaints only when it moved. An order stays here while
it is open and leaves when an event says it filled, was cancelled or was removed; fills are kept newest first,
a bounded number, each once (a venue re-sends recent executions in every new image of its table).
"""

from __future__ import annotations

from collections import deque

from finxtui.model.events import ExecutionEvent, OrderEvent

MAX_FILLS = 50
_SEEN_FILLS = 2000  # exec ids remembered for de-duplication (far more than any image re-sends)


class AccountOrders:
    """Open orders by (source, order id) and the latest fills, newest first."""

    def __init__(self, max_fills: int = MAX_FILLS) -> None:
        self._open: dict[tuple[str, str], OrderEvent] = {}
        self._fills: deque[ExecutionEvent] = deque(maxlen=max_fills)
        self._seen: dict[tuple[str, str], None] = {}  # insertion-ordered, trimmed oldest first
        self.version = 0

    def apply_order(self, order: OrderEvent) -> None:
        key = (order.source, order.order_id)
        if order.is_open:
            if self._open.get(key) != order:
                self._open[key] = order
                self.version += 1
        elif self._open.pop(key, None) is not None:
            self.version += 1

    def apply_execution(self, fill: ExecutionEvent) -> None:
        key = (fill.source, fill.exec_id)
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > _SEEN_FILLS:
            del self._seen[next(iter(self._seen))]
        if self._fills and fill.ts < self._fills[0].ts:
            # An older fill (from a table image after a reconnect): keep the list in time order.
            fills = sorted([*self._fills, fill], key=lambda f: f.ts, reverse=True)
            self._fills.clear()
            self._fills.extend(fills[:self._fills.maxlen])
        else:
            self._fills.appendleft(fill)
        self.version += 1

    def open_orders(self) -> list[OrderEvent]:
        """Open orders by symbol, then sells above buys, each side by price, highest first (as on a ladder)."""
        return sorted(self._open.values(),
                      key=lambda o: (o.symbol, o.side != "sell", -(o.price or 0.0), o.order_id))

    def fills(self, n: int | None = None) -> list[ExecutionEvent]:
        """The latest fills, newest first (``n`` of them, or all that are kept)."""
        items = list(self._fills)
        return items if n is None else items[:n]

    def __len__(self) -> int:
        return len(self._open)
