"""The BitMEX feed's orders and fills: against the simulator's demo account, and against crafted frames served
over loopback (bad rows counted and skipped, never emitted half-parsed; a delete and a new image remove)."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.session import Backoff
from finxtui.model.events import ExecutionEvent, OrderEvent, Position
from finxtui.sim.server import Simulator
from tests.feeds.replayer import CaptureServer
from tests.feeds.runner import FeedRunner
from tests.feeds.test_bitmex_feed import DEMO, feed_for


def moving(sim: Simulator) -> Any:
    """A ``step`` for :meth:`FeedRunner.until`: the market and the venue clock move by hand."""
    def move() -> None:
        sim.step(10)
        sim.advance(0.5)
    return move


async def test_orders_appear_fill_and_the_position_follows(manual_sim: Simulator) -> None:
    sim = manual_sim
    feed = feed_for(sim, credentials=DEMO, pairs=["BTC:USD", "ETH:USD", "SOL:USD"])
    async with FeedRunner(feed) as run:
        await run.status("live", scope="account")

        def filled_twice() -> bool:
            fills = run.of(ExecutionEvent)
            return len(fills) >= 2 and {f.symbol for f in fills} & {"XBTUSD", "SOLUSDT"} != set()

        await run.until(filled_twice, timeout=20, step=moving(sim), what="two fills")
        await run.read_all(sim, "bitmex")
        orders = run.of(OrderEvent)
        fills = run.of(ExecutionEvent)
        positions = run.of(Position)
    assert {o.symbol for o in orders} == {"XBTUSD", "ETHUSDT", "SOLUSDT"}
    assert all(o.pair == {"XBTUSD": "BTC:USD", "ETHUSDT": "ETH:USD", "SOLUSDT": "SOL:USD"}[o.symbol] for o in orders)
    assert all(o.price and o.qty > 0 and o.order_type == "Limit" and o.side in ("buy", "sell") for o in orders)
    last: dict[str, OrderEvent] = {}
    for o in orders:
        last[o.order_id] = o
    for fill in fills:
        order = last[fill.order_id]  # every fill's order is known, and its last state counts the fill
        assert fill.price == order.price and fill.liquidity == "maker" and fill.fee is not None and fill.fee < 0
        assert order.filled_qty >= fill.qty and fill.side == order.side
    done = [o for o in last.values() if o.status == "filled"]
    assert done and all(not o.is_open and o.leaves_qty == 0 and o.avg_price == o.price for o in done)
    moved: dict[str, float] = defaultdict(float)
    for fill in fills:
        moved[fill.symbol] += fill.qty if fill.side == "buy" else -fill.qty
    for symbol, qty in moved.items():
        held = [p.qty for p in positions if p.symbol == symbol]
        assert held[-1] - held[0] == qty, symbol  # the position follows the fills
    ops = {op for venue, op in sim.client_ops if venue == "bitmex"}
    assert ops <= {"subscribe", "unsubscribe", "authKeyExpires"}, "finx-tui never sends an order"


def frame(table: str, action: str, rows: list[dict[str, Any]], **extra: Any) -> str:
    return orjson.dumps({"table": table, "action": action, "data": rows, **extra}).decode()


ORDER = {"orderID": "o-good", "clOrdID": "", "account": 1, "symbol": "XBTUSD", "side": "Buy", "orderQty": 1000,
         "price": 97000.5, "ordType": "Limit", "ordStatus": "New", "workingIndicator": True, "leavesQty": 1000,
         "cumQty": 0, "timestamp": "2026-11-20T14:30:00.000Z"}
FILL = {"execID": "e-good", "orderID": "o-good", "account": 1, "symbol": "XBTUSD", "side": "Buy", "lastQty": 400,
        "lastPx": 97000.5, "execType": "Trade", "ordStatus": "PartiallyFilled", "leavesQty": 600, "cumQty": 400,
        "execComm": -41, "settlCurrency": "XBt", "transactTime": "2026-11-20T14:30:01.000Z"}
CONTEXT = {"clOrdID": "", "account": 1, "symbol": "XBTUSD", "timestamp": "2026-11-20T14:30:01.000Z"}


def crafted(tmp_path: Path) -> Path:
    """A session: a partial with good and bad orders, fills good and bad, updates, a delete, a new image."""
    frames = [
        orjson.dumps({"info": "Welcome to the BitMEX Realtime API.", "limit": {"remaining": 59}}).decode(),
        frame("order", "partial", [
            ORDER,
            {**ORDER, "orderID": "o-null-price", "price": None},
            {k: v for k, v in ORDER.items() if k != "side"} | {"orderID": "o-no-side"},
            {**ORDER, "orderID": "o-unknown", "symbol": "XBTZ99"},
            {**ORDER, "orderID": "o-second", "side": "Sell", "price": 97100.0},
        ], keys=["orderID"], filter={"account": 1}),
        frame("execution", "partial", [], keys=["execID"], filter={"account": 1}),
        frame("execution", "insert", [
            FILL,
            {**FILL, "execID": "e-new", "execType": "New", "lastQty": 0},  # not a fill: ignored, not bad
            {k: v for k, v in FILL.items() if k != "lastPx"} | {"execID": "e-no-px"},
            {**FILL, "execID": "e-null-qty", "lastQty": None},
            {**FILL, "execID": "e-unknown", "symbol": "XBTZ99"},
        ]),
        frame("order", "update", [{"orderID": "o-good", "ordStatus": "PartiallyFilled", "leavesQty": 600,
                                   "cumQty": 400, "avgPx": 97000.5, **CONTEXT}]),
        frame("order", "update", [{"orderID": "o-second", "workingIndicator": False, **CONTEXT}]),
        frame("order", "update", [{"orderID": "o-second", "price": None, **CONTEXT}]),  # nulls a required field
        frame("order", "delete", [{"orderID": "o-good", **CONTEXT}]),
        frame("order", "insert", [{**ORDER, "orderID": "o-third"}]),
        frame("order", "partial", [], keys=["orderID"], filter={"account": 1}),  # a new image: nothing open
    ]
    path = tmp_path / "orders.ws"
    path.write_text("".join(f"{1_790_000_000 + i / 10}: {text}\n" for i, text in enumerate(frames)))
    return path


async def test_bad_rows_are_counted_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="finxtui.feeds.bitmex")
    async with CaptureServer(crafted(tmp_path)) as server:
        feed = BitmexFeed(server.url, ["BTC:USD"], credentials=DEMO, backoff=Backoff(base=0.1, cap=0.5))
        async with FeedRunner(feed) as run:
            await run.until(lambda: feed.frames >= server.sent == 10, what="every crafted frame read")
            orders = run.of(OrderEvent)
            fills = run.of(ExecutionEvent)
    assert [(o.order_id, o.status, o.leaves_qty, o.removed) for o in orders] == [
        ("o-good", "new", 1000, False),
        ("o-second", "new", 1000, False),
        ("o-good", "partially_filled", 600, False),
        ("o-good", "partially_filled", 600, True),  # the delete: gone, whatever it said last
        ("o-third", "new", 1000, False),
        ("o-second", "new", 1000, True),  # not in the new image (its last sound state: a null is not shown)
        ("o-third", "new", 1000, True),
    ]
    assert orders[2].filled_qty == 400 and orders[2].avg_price == 97000.5 and orders[0].pair == "BTC:USD"
    assert [(f.exec_id, f.qty, f.price, f.currency) for f in fills] == [("e-good", 400, 97000.5, "XBT")]
    assert fills[0].fee == pytest.approx(-41e-8)
    assert dict(feed.orders.skipped) == {
        "order row without a price": 2, "order row without side": 1, "order row for unknown symbol XBTZ99": 1,
        "execution row without lastPx": 1, "execution row without lastQty": 1,
        "execution row for unknown symbol XBTZ99": 1}
    warned = [r.getMessage() for r in caplog.records if "skipped an" in r.getMessage()]
    assert len(warned) == 6, warned  # each reason once
    assert all("o-null-price" not in o.order_id for o in orders)
