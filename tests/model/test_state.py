"""The monitor's state: which source's price is shown, history merging, positions and health."""

from __future__ import annotations

import pytest

from finxtui.model import state as state_mod
from finxtui.model.events import Position, Status, Tick, Trade
from finxtui.model.pairs import DEFAULT_PAIRS
from finxtui.model.state import History, MarketState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_finx_is_preferred_and_sources_never_mix() -> None:
    clock = Clock()
    st = MarketState(DEFAULT_PAIRS, ["BTC:USD"], clock=clock)
    st.apply(Trade("bitfinex", "BTC:USD", 100.0, 1, "buy", 1.0))
    btc = st.pair("BTC:USD")
    assert btc.source == "bitfinex" and btc.last == 100.0
    st.apply(Tick("finx", "BTC:USD", 200.0, "GEMINI", 2.0))
    assert btc.source == "finx" and btc.last == 200.0 and list(btc.spark) == [200.0]
    st.apply(Trade("bitfinex", "BTC:USD", 101.0, 1, "buy", 3.0))
    assert btc.last == 200.0, "a lower-priority source does not take over while FinX is fresh"
    clock.now += 31  # FinX goes quiet
    st.apply(Trade("bitfinex", "BTC:USD", 102.0, 1, "sell", 4.0))
    assert btc.source == "bitfinex" and list(btc.spark) == [100.0, 101.0, 102.0]
    assert btc.direction == 1 and btc.change == pytest.approx(0.02)


def test_a_source_in_error_is_not_preferred() -> None:
    clock = Clock()
    st = MarketState(DEFAULT_PAIRS, ["ETH:USD"], clock=clock)
    st.apply(Tick("finx", "ETH:USD", 10.0, "KRAKEN", 1.0))
    st.apply(Status("finx", "error", "bad key"))
    st.apply(Trade("bitmex", "ETH:USD", 11.0, 1, "buy", 2.0))
    assert st.pair("ETH:USD").source == "bitmex"


def test_history_merges_without_duplicates_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_mod, "MAX_HISTORY_ROWS", 5)
    hist = History("BTC:USD")
    ticks = [Tick("finx", "BTC:USD", 100.0 + i, "GEMINI", float(i)) for i in range(8)]
    assert hist.add(reversed(ticks[:4])) == 4
    assert hist.add(ticks[2:4]) == 0, "duplicates are ignored"
    assert [t.ts for t in hist.rows] == [0.0, 1.0, 2.0, 3.0]
    hist.add(ticks[4:])
    assert [t.ts for t in hist.rows] == [3.0, 4.0, 5.0, 6.0, 7.0], "the oldest rows go first"
    assert hist.add([ticks[0]]) == 1, "a dropped row's key is forgotten with it"


def test_history_keeps_the_live_finx_ticks_of_watched_pairs() -> None:
    st = MarketState(DEFAULT_PAIRS, ["BTC:USD"], clock=Clock())
    st.apply(Tick("finx", "BTC:USD", 1.0, "GEMINI", 1.0))
    st.apply(Tick("finx", "ETH:USD", 1.5, "GEMINI", 1.5))
    assert "ETH:USD" not in st.history, "a pair nobody watches keeps no table"
    hist = st.history_for("BTC:USD")
    st.apply(Tick("finx", "BTC:USD", 2.0, "GEMINI", 2.0))
    st.apply(Tick("finazon", "BTC:USD", 3.0, "interpolated", 3.0))
    assert [t.price for t in hist.rows] == [1.0, 2.0], "FinX ticks only, from before the table was shown too"
    assert hist.pages == 0 and not hist.loading, "live ticks do not count as a loaded day"


def test_positions_and_account_health() -> None:
    st = MarketState(DEFAULT_PAIRS, [], clock=Clock())
    pos = Position("bitmex", "BTC:USD", "XBTUSD", 100, 90_000.0, 95_000.0, 50_000.0, 0.01, 10, "XBT")
    st.apply(pos)
    assert st.positions["XBTUSD"] is pos
    st.apply(Position("bitmex", "BTC:USD", "XBTUSD", 0, None, None, None, 0.0, None, "XBT"))
    assert st.positions == {}, "a closed position leaves the panel"
    st.apply(Status("bitmex", "live", ""))
    st.apply(Status("bitmex", "error", "Signature not valid", scope="account"))
    health = st.health["bitmex"]
    assert health.state == "live" and health.account_state == "error"
    assert st.summary() == (1, 1, [])
