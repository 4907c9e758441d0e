"""The seeded market model and the top-N window that venue feeds publish."""

from __future__ import annotations

import random

import pytest

from finxtui.sim.bars import BarBuilder
from finxtui.sim.core.window import Window
from finxtui.sim.market import ASK, BID, LevelChange, Market, SimTick, SimTrade


def fixed_clock() -> float:
    return 1_750_000_000.0


def test_same_seed_same_events_different_seed_different() -> None:
    a = [repr(e) for e in Market(seed=3, clock=fixed_clock).steps_n(5000)]
    b = [repr(e) for e in Market(seed=3, clock=fixed_clock).steps_n(5000)]
    c = [repr(e) for e in Market(seed=4, clock=fixed_clock).steps_n(5000)]
    assert a == b
    assert a != c


def test_books_never_cross_and_stay_deep() -> None:
    market = Market(seed=9, clock=fixed_clock)
    for i in range(40_000):
        market.step()
        if i % 97 == 0:
            for (venue, pair), book in market.books.items():
                assert book.best_bid() < book.best_ask(), (venue, pair, i)
                assert len(book.bids) >= 1 and len(book.asks) >= 1
    for book in market.books.values():
        assert len(book.bids) > book.spec.depth // 3 and len(book.asks) > book.spec.depth // 3


def test_prices_follow_the_fair_price_and_stay_believable() -> None:
    market = Market(seed=2, clock=fixed_clock)
    market.steps_n(30_000)
    for (_, pair), book in market.books.items():
        mid = (book.price(book.best_bid()) + book.price(book.best_ask())) / 2
        assert abs(mid / market.fair[pair] - 1) < 0.002
        assert abs(market.fair[pair] / market.open_price[pair] - 1) < 0.2


def test_trades_take_book_levels_and_ticks_come_from_exchanges() -> None:
    market = Market(seed=5, clock=fixed_clock)
    events = market.steps_n(20_000)
    trades = [e for e in events if isinstance(e, SimTrade)]
    ticks = [e for e in events if isinstance(e, SimTick)]
    assert trades and ticks
    assert {t.side for t in trades} == {"buy", "sell"}
    assert {t.exchange for t in ticks} == {"COINBASE", "BINANCE", "GEMINI", "KRAKEN"}
    assert all(float(t.price_text) == t.price for t in ticks)
    # Every trade is preceded by a level change at its price on the side it hit.
    for i, ev in enumerate(events):
        if isinstance(ev, SimTrade):
            prior = [e for e in events[max(0, i - 30):i] if isinstance(e, LevelChange)
                     and e.venue == ev.venue and e.pair == ev.pair and e.price == ev.price]
            assert prior, ev


@pytest.mark.parametrize("depth", [1, 25, 100])
def test_window_mirror_equals_top_n_after_any_batch(depth: int) -> None:
    rng = random.Random(depth)
    market = Market(seed=depth, clock=fixed_clock)
    windows = {key: Window(book, depth) for key, book in market.books.items()}
    held = {key: {BID: dict(w.sides[BID]), ASK: dict(w.sides[ASK])} for key, w in windows.items()}
    for _ in range(1500):
        changes = [e for e in market.steps_n(rng.randint(1, 25)) if isinstance(e, LevelChange)]
        for key, window in windows.items():
            for side, idx, steps in window.apply([c for c in changes if (c.venue, c.pair) == key]):
                if steps:
                    held[key][side][idx] = steps
                else:
                    del held[key][side][idx]
            book = market.books[key]
            for side in (BID, ASK):
                keys = book.side(side).keys()
                top = keys[-depth:] if side == BID else keys[:depth]
                assert held[key][side] == {k: book.side(side)[k] for k in top}


def test_bar_builder_folds_trades_by_minute() -> None:
    bars = BarBuilder()
    assert bars.add(10.0, 1, 120.0) is None
    bars.add(12.0, 2, 130.0)
    bars.add(9.0, 1, 179.9)
    closed = bars.add(11.0, 5, 180.0)
    assert closed is not None and (closed.t, closed.o, closed.h, closed.l, closed.c, closed.v) == (
        120, 10.0, 12.0, 9.0, 9.0, 4)
    assert bars.current is not None and bars.current.t == 180 and bars.current.v == 5
    assert bars.roll(300.0) is bars.closed and bars.current is None
