"""The account's open orders and recent fills as the monitor keeps them."""

from __future__ import annotations

from finxtui.model.events import ExecutionEvent, OrderEvent
from finxtui.model.orders import AccountOrders
from finxtui.model.pairs import DEFAULT_PAIRS
from finxtui.model.state import MarketState


def order(oid: str, status: str = "new", leaves: float = 100, price: float = 100.0, side: str = "buy",
          **kw: object) -> OrderEvent:
    return OrderEvent("bitmex", "BTC:USD", "XBTUSD", oid, side, price, 100, leaves, 100 - leaves, None, status,
                      "Limit", 1.0, **kw)  # type: ignore[arg-type]


def fill(eid: str, ts: float) -> ExecutionEvent:
    return ExecutionEvent("bitmex", "BTC:USD", "XBTUSD", "o1", eid, "buy", 100.0, 10, ts)


def test_orders_stay_while_open_and_leave_when_done() -> None:
    book = AccountOrders()
    book.apply_order(order("a"))
    book.apply_order(order("b", side="sell", price=101.0))
    book.apply_order(order("c", price=99.0))
    assert [o.order_id for o in book.open_orders()] == ["b", "a", "c"]  # sells above buys, high to low
    v = book.version
    book.apply_order(order("a"))  # the same state again: nothing to redraw
    assert book.version == v
    book.apply_order(order("a", "partially_filled", leaves=40))
    assert book.open_orders()[1].filled_qty == 60 and book.version == v + 1
    book.apply_order(order("a", "filled", leaves=0))
    book.apply_order(order("b", "canceled", leaves=0))
    book.apply_order(order("c", removed=True))
    assert book.open_orders() == [] and len(book) == 0


def test_fills_newest_first_once_each_bounded() -> None:
    book = AccountOrders(max_fills=3)
    for i, ts in enumerate((1.0, 2.0, 3.0)):
        book.apply_execution(fill(f"e{i}", ts))
    book.apply_execution(fill("e1", 2.0))  # a table image re-sends it: kept once
    assert [f.exec_id for f in book.fills()] == ["e2", "e1", "e0"]
    book.apply_execution(fill("late", 1.5))  # older than the newest: put in its place, the oldest drops out
    assert [f.exec_id for f in book.fills()] == ["e2", "e1", "late"]
    book.apply_execution(fill("e3", 4.0))
    assert [f.exec_id for f in book.fills(2)] == ["e3", "e2"]


def test_market_state_feeds_the_store() -> None:
    state = MarketState(DEFAULT_PAIRS, ["BTC:USD"])
    state.apply(order("a"))
    state.apply(fill("e0", 1.0))
    assert [o.order_id for o in state.orders.open_orders()] == ["a"] and state.orders.fills()[0].exec_id == "e0"
    assert state.orders.version == 2
