"""Alert rules: what fires, when, and how often (pure model: events in, firings out)."""

from __future__ import annotations

import pytest

from finxtui.model.alerts import AlertEngine, AlertRule, Firing, RuleError, rule_from_fields
from finxtui.model.book import OrderBook
from finxtui.model.events import BookUpdate, Status, Trade
from finxtui.model.pairs import PairTable

PAIRS = PairTable().pairs()
SOURCES = ("finx", "bitfinex", "bitmex", "finazon")


class Market:
    """The price the user sees per pair, set by the test."""

    def __init__(self) -> None:
        self.prices: dict[str, float] = {}

    def price_of(self, pair: str) -> float | None:
        return self.prices.get(pair)


def engine(*rules: AlertRule) -> tuple[AlertEngine, Market, list[Firing]]:
    market, fired = Market(), []
    return AlertEngine(rules, price_of=market.price_of, on_fire=fired.append), market, fired


def feed(eng: AlertEngine, market: Market, pair: str, prices: list[float], start: float = 0.0,
         step: float = 1.0) -> float:
    """Trades at ``prices``, one every ``step`` seconds; returns the time of the last."""
    t = start
    for i, price in enumerate(prices):
        t = start + i * step
        market.prices[pair] = price
        eng.observe(Trade("bitfinex", pair, price, 1.0, "buy", t), t)
    return t


def rule(**fields: object) -> AlertRule:
    return rule_from_fields(fields, pairs=PAIRS, sources=SOURCES)


def test_above_fires_once_on_the_rising_edge_and_is_then_done() -> None:
    eng, market, fired = engine(rule(pair="BTC:USD", above=100_000))
    feed(eng, market, "BTC:USD", [99_000, 99_999, 100_000, 100_500, 99_000, 101_000])
    assert len(fired) == 1 and "last 100,000" in fired[0].text
    assert eng.states[fired[0].key].done


def test_repeating_above_rearms_below_the_level_and_keeps_its_cooldown() -> None:
    eng, market, fired = engine(rule(pair="BTC:USD", above=100_000, repeat=True, cooldown=60))
    # Jitter around the level every second: the cool-down holds it to one firing a minute.
    t = feed(eng, market, "BTC:USD", [99_990, 100_010] * 45)
    assert len(fired) == 2 and fired[1].ts - fired[0].ts >= 60
    # It went above again during the cool-down: that edge is told once the cool-down is over.
    t = feed(eng, market, "BTC:USD", [100_050] * 5, start=t + 100)
    assert len(fired) == 3
    # Staying above does not fire again: it must go below first (an edge, not a state).
    t = feed(eng, market, "BTC:USD", [100_060] * 5, start=t + 100)
    assert len(fired) == 3
    feed(eng, market, "BTC:USD", [99_000, 100_100], start=t + 100)
    assert len(fired) == 4


def test_below_is_the_mirror() -> None:
    eng, market, fired = engine(rule(pair="ETH:USD", below="3,000"))
    feed(eng, market, "ETH:USD", [3100, 3050, 3000.5, 2999, 2900])
    assert [f.detail for f in fired] == ["last 2,999"]


def test_cross_fires_both_ways_but_never_on_the_first_price() -> None:
    eng, market, fired = engine(rule(pair="BTC:USD", cross=100_000, repeat=True, cooldown=1))
    feed(eng, market, "BTC:USD", [100_500], start=0)  # already above: no crossing seen yet
    assert not fired
    feed(eng, market, "BTC:USD", [100_100, 99_900, 99_800, 100_200], start=10, step=5)
    assert [f.detail.split(",")[0] for f in fired] == ["crossed down", "crossed up"]


def test_move_within_a_window_either_way_and_not_twice_for_one_move() -> None:
    eng, market, fired = engine(rule(pair="SOL:USD", move=2, window=60, repeat=True, cooldown=1))
    # 1.5% over 30 s, then the old low leaves the window: a slow drift is no move.
    feed(eng, market, "SOL:USD", [100, 100.5, 101, 101.5], step=10)
    assert not fired
    feed(eng, market, "SOL:USD", [101.5, 103.6], start=100, step=5)  # +2.07% in 5 s
    assert len(fired) == 1 and fired[0].detail.startswith("up 2.07%")
    feed(eng, market, "SOL:USD", [103.7, 103.6], start=106)  # the same move, still in the window
    assert len(fired) == 1
    feed(eng, market, "SOL:USD", [101.4], start=110)  # -2.2% from the new high
    assert len(fired) == 2 and fired[1].detail.startswith("down")


def test_move_with_a_direction_ignores_the_other_way() -> None:
    eng, market, fired = engine(rule(pair="SOL:USD", move=1, window=60, direction="down"))
    feed(eng, market, "SOL:USD", [100, 102, 104])
    assert not fired
    feed(eng, market, "SOL:USD", [102.9], start=5)
    assert len(fired) == 1


def test_spread_on_one_venue_book() -> None:
    eng, _market, fired = engine(rule(pair="BTC:USD", spread=20))
    book = OrderBook("bitfinex", "BTC:USD")
    book.load([(100_000.0, 1.0)], [(100_010.0, 1.0)])
    eng.observe(BookUpdate("bitfinex", "BTC:USD", book, True, [], 1.0), 1.0)
    other = OrderBook("bitmex", "BTC:USD")
    other.load([(100_000.0, 1.0)], [(100_050.0, 1.0)])
    eng.observe(BookUpdate("bitmex", "BTC:USD", other, True, [], 2.0), 2.0)  # another venue's book
    assert not fired
    book.set_ask(100_010.0, 0)
    book.set_ask(100_025.0, 1.0)
    eng.observe(BookUpdate("bitfinex", "BTC:USD", book, False, [], 3.0), 3.0)
    assert len(fired) == 1 and fired[0].detail == "spread 25"


def test_feed_down_fires_after_its_time_even_with_no_events_and_rearms_when_back() -> None:
    eng, _market, fired = engine(rule(feed_down=30, source="bitmex", repeat=True, cooldown=1))
    eng.observe(Status("bitmex", "live", ts=0), 0)
    eng.observe(Status("bitmex", "reconnecting", "closed", ts=10), 10)
    eng.tick(39)
    assert not fired
    eng.tick(40)
    eng.tick(41)
    assert len(fired) == 1 and "not live for 30s" in fired[0].detail
    eng.observe(Status("bitmex", "live", ts=50), 50)
    eng.observe(Status("bitmex", "stale", ts=60), 60)
    eng.tick(95)
    assert len(fired) == 2
    # Account trouble and other feeds are not this feed; off (no key) is not an outage.
    eng.observe(Status("bitmex", "live", ts=100), 100)
    eng.observe(Status("bitmex", "error", scope="account", ts=101), 101)
    eng.observe(Status("finx", "error", ts=101), 101)
    eng.observe(Status("bitmex", "off", ts=102), 102)
    eng.tick(500)
    assert len(fired) == 2


def test_state_survives_a_restart() -> None:
    once = rule(pair="BTC:USD", above=100_000)
    eng, market, fired = engine(once)
    feed(eng, market, "BTC:USD", [100_100])
    saved = eng.snapshot()
    again, market2, fired2 = engine(once)
    again.restore(saved)
    feed(again, market2, "BTC:USD", [100_200, 99_000, 100_300])
    assert not fired2, "a one-off alert that fired before the restart does not fire again"
    assert [f.text for f in again.log] == [f.text for f in fired]
    again.rearm(once.key)
    feed(again, market2, "BTC:USD", [100_400])
    assert len(fired2) == 1


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"pair": "NOPE:USD", "above": 1}, "pair", "unknown pair"),
    ({"pair": "BTC:USD", "above": "lots"}, "above", "a number"),
    ({"pair": "BTC:USD", "above": True}, "above", "a number"),
    ({"pair": "BTC:USD", "above": 1, "below": 2}, "below", "exactly one"),
    ({"pair": "BTC:USD"}, "above", "exactly one"),
    ({"pair": "BTC:USD", "move": 2, "window": "soon"}, "window", "a number"),
    ({"pair": "BTC:USD", "above": 1, "repeat": "yes"}, "repeat", "true or false"),
    ({"feed_down": 30}, "source", "which feed"),
    ({"feed_down": 30, "source": "kraken"}, "source", "unknown venue"),
    ({"pair": "BTC:USD", "spread": -1}, "spread", "above 0"),
    ({"pair": "BTC:USD", "above": 1, "colour": "red"}, "colour", "unknown field"),
])
def test_a_bad_rule_names_its_field(fields: dict, field: str, words: str) -> None:
    with pytest.raises(RuleError, match=words) as caught:
        rule(**fields)
    assert caught.value.field == field


def test_fields_round_trip_and_keys_are_stable() -> None:
    for r in (rule(pair="btc/usd", above=100_000), rule(pair="ETH:USD", move=1.5, window=120, direction="up",
                                                         repeat=True, cooldown=30, note="eth pump"),
              rule(pair="BTC:USD", spread=20, source="bitmex"), rule(feed_down=30, source="finx")):
        assert rule(**r.to_fields()) == r
        assert rule(**r.to_fields()).key == r.key
    assert rule(pair="BTC:USD", above=1, note="a").key == rule(pair="BTC:USD", above=1, note="b").key
