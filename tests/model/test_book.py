"""OrderBook views and the pair table (the Bitfinex checksum and number text are wire facts: tests/wire)."""

from __future__ import annotations

import pytest

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable, canonical, decimals_of


def test_book_views() -> None:
    book = OrderBook("test", "BTC:USD")
    book.load([(100.0, 1.0), (99.0, 2.0), (98.0, 0.0)], [(101.0, 3.0), (102.0, 4.0)])
    assert book.best_bid() == (100.0, 1.0) and book.best_ask() == (101.0, 3.0)
    assert book.spread() == 1.0 and book.mid() == 100.5
    assert book.top(5) == ([(100.0, 1.0), (99.0, 2.0)], [(101.0, 3.0), (102.0, 4.0)])
    assert book.ladder(ASK, 2) == [(101.0, 3.0, 3.0), (102.0, 4.0, 7.0)]
    v = book.version
    book.set(BID, 100.5, 5.0)
    book.set(ASK, 101.0, 0)
    book.set(ASK, 555.0, 0)  # deleting an absent level is harmless
    assert book.version == v + 3
    assert book.best_bid() == (100.5, 5.0) and book.best_ask() == (102.0, 4.0)
    assert not book.is_crossed()
    book.set(BID, 103.0, 1.0)
    assert book.is_crossed()
    book.trim(1)
    assert book.top(9) == ([(103.0, 1.0)], [(102.0, 4.0)])


def test_pairs_table_maps_both_ways_and_config_can_extend() -> None:
    assert DEFAULT_PAIRS.symbol("bitmex", "BTC:USD") == "XBTUSD"
    assert DEFAULT_PAIRS.pair_for("bitfinex", "tETHUSD") == "ETH:USD"
    assert DEFAULT_PAIRS.sources_for("AAPL") == ["finazon"]
    table = PairTable()
    table.extend("DOGE:USD", tick=0.00001, symbols={"bitfinex": "tDOGE:USD"})
    table.extend("BTC:USD", symbols={"bitmex": "XBTUSDT"})
    assert table.pair_for("bitfinex", "tDOGE:USD") == "DOGE:USD"
    assert table.pair_for("bitmex", "XBTUSD") is None and table.symbol("bitmex", "BTC:USD") == "XBTUSDT"
    assert table.info("DOGE:USD").decimals == 5
    with pytest.raises(KeyError, match="unknown pair"):
        table.info("NOPE")
    assert canonical(" btc/usd ") == "BTC:USD" and canonical("eth-usd") == "ETH:USD"
    assert decimals_of(0.5) == 1 and decimals_of(0.0001) == 4 and decimals_of(1.0) == 0
