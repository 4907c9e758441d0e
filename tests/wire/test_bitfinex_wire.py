"""Bitfinex wire facts against the reference's worked examples: the book checksum and the book lengths."""

from __future__ import annotations

from finxtui.wire.bitfinex import CHECKSUM_LEVELS, LENGTHS, book_length, checksum_of, checksum_string


def test_reference_checksum_examples() -> None:
    assert checksum_of([(6000, 1), (5900, 2)], [(6100, 3), (6200, 4)]) == 1756193398
    bids = [(7254.7, 3.3), (7254.6, 0.5)]
    asks = [(7254.8, 1.25), (7255.0, 0.1)]
    assert checksum_string(bids, asks) == "7254.7:3.3:7254.8:-1.25:7254.6:0.5:7255:-0.1"
    assert checksum_of(bids, asks) == -858297765
    assert checksum_of(bids[1:], asks) == 1610158860


def test_checksum_skips_missing_levels_on_a_short_side() -> None:
    assert checksum_string([(10.0, 1.0)], [(11.0, 2.0), (12.0, 3.0)]) == "10:1:11:-2:12:-3"


def test_checksum_covers_the_top_25_levels_only() -> None:
    bids = [(100.0 - i, 1.0) for i in range(40)]
    asks = [(200.0 + i, 1.0) for i in range(40)]
    assert checksum_of(bids, asks) == checksum_of(bids[:CHECKSUM_LEVELS], asks[:CHECKSUM_LEVELS])


def test_book_length_is_the_smallest_that_holds_the_depth() -> None:
    assert [book_length(d) for d in (1, 10, 25, 26, 100, 101, 250, 999)] == [25, 25, 25, 100, 100, 250, 250, 250]
    assert book_length(1, at_least=1) == 1 and book_length(5, at_least=100) == 100
    assert all(book_length(n, at_least=n) == n for n in LENGTHS)
