"""The trade tape: aggr-style merging by venue, side and millisecond; thresholds; bounded memory."""

from __future__ import annotations

from finxtui.model.tape import Tape, Tapes

T0 = 1_795_185_000.0


def rows(tape: Tape) -> list[tuple[str, str, int, float, float, float, int]]:
    return [(p.source, p.side, p.ms - round(T0 * 1000), p.first, p.last, round(p.size, 9), p.count)
            for p in tape.newest(50)]


def test_one_side_of_one_venue_in_one_millisecond_is_one_print() -> None:
    tape = Tape("BTC:USD")
    tape.add("bitmex", "buy", 100.0, 1.0, T0 + 0.0101)  # a sweep: three levels in the same millisecond
    tape.add("bitmex", "buy", 101.0, 2.0, T0 + 0.0102)
    tape.add("bitmex", "buy", 102.0, 1.0, T0 + 0.0099)
    (p,) = tape.newest(5)
    assert (p.first, p.last, p.size, p.count) == (100.0, 102.0, 4.0, 3)
    assert p.vwap == (100 + 202 + 102) / 4
    assert tape.trades == 3


def test_side_venue_and_millisecond_each_keep_prints_apart() -> None:
    tape = Tape("BTC:USD")
    tape.add("bitmex", "buy", 100.0, 1.0, T0)
    tape.add("bitmex", "sell", 99.5, 1.0, T0)  # other side
    tape.add("bitfinex", "buy", 100.0, 1.0, T0)  # other venue
    tape.add("bitmex", "buy", 100.5, 1.0, T0 + 0.001)  # next millisecond
    tape.add("bitmex", "buy", 100.0, 1.0, T0)  # the first print's millisecond again, behind two others
    assert rows(tape) == [("bitmex", "buy", 1, 100.5, 100.5, 1.0, 1), ("bitfinex", "buy", 0, 100.0, 100.0, 1.0, 1),
                          ("bitmex", "sell", 0, 99.5, 99.5, 1.0, 1), ("bitmex", "buy", 0, 100.0, 100.0, 2.0, 2)]


def test_a_sweep_merges_however_the_venues_sockets_were_read() -> None:
    # The same trades, read as they were sent and with one venue's socket read entirely first: the same tape.
    sweep = [("bitmex", "buy", 100.0 + i, 1.0, T0 + 0.010) for i in range(3)]
    other = [("bitfinex", "sell" if i % 2 else "buy", 99.0 - i, 0.5, T0 + 0.011 + i / 1000) for i in range(6)]
    interleaved, venue_by_venue = Tape("BTC:USD"), Tape("BTC:USD")
    for bitmex, bitfinex in zip(sweep, other, strict=False):
        interleaved.add(*bitmex)
        interleaved.add(*bitfinex)
    for trade in other[3:]:
        interleaved.add(*trade)
    for trade in other + sweep:  # six newer prints in front of the sweep's second and third trades
        venue_by_venue.add(*trade)
    assert rows(venue_by_venue) == rows(interleaved)
    assert rows(interleaved)[-1] == ("bitmex", "buy", 10, 100.0, 102.0, 3.0, 3)


def test_a_late_trade_takes_its_place_in_time() -> None:
    tape = Tape("BTC:USD")
    tape.add("bitfinex", "buy", 1.0, 1.0, T0 + 1)
    tape.add("bitfinex", "buy", 3.0, 1.0, T0 + 3)
    tape.add("bitmex", "sell", 2.0, 1.0, T0 + 2)  # another venue's clock is behind
    assert [p.first for p in tape.newest(3)] == [3.0, 2.0, 1.0]


def test_memory_is_bounded() -> None:
    tape = Tape("BTC:USD", keep=50)
    for i in range(200):
        tape.add("bitfinex", "buy" if i % 2 else "sell", 100.0 + i, 1.0, T0 + i)
    assert len(tape.prints) == 50
    assert tape.newest(1)[0].first == 299.0
    tape.add("bitmex", "buy", 1.0, 1.0, T0)  # older than anything kept: dropped, not squeezed in
    assert len(tape.prints) == 50 and min(p.first for p in tape.prints) == 250.0
    tape.add("bitmex", "sell", 2.0, 1.0, T0 + 198.5)  # late, into a full tape: the oldest print makes room
    assert len(tape.prints) == 50 and tape.prints[0].first == 251.0
    assert [p.first for p in tape.newest(3)] == [299.0, 2.0, 298.0]


def test_large_by_size_per_pair_or_by_notional() -> None:
    tapes = Tapes(large={"BTC:USD": 2.0}, large_notional=50_000.0)
    small = tapes.add("BTC:USD", "bitfinex", "buy", 100_000.0, 1.5, T0)
    big = tapes.add("BTC:USD", "bitfinex", "sell", 100_000.0, 2.0, T0)
    assert not tapes.is_large("BTC:USD", small) and tapes.is_large("BTC:USD", big)
    assert tapes.threshold("BTC:USD", 100_000.0) == 2.0
    # ETH has no size of its own: $50k of it is large
    eth = tapes.add("ETH:USD", "bitmex", "buy", 2_500.0, 19.0, T0)
    assert not tapes.is_large("ETH:USD", eth)
    eth2 = tapes.add("ETH:USD", "bitmex", "buy", 2_500.0, 1.0, T0)  # same ms and side: merged, now 20 ETH
    assert eth2 is eth and tapes.is_large("ETH:USD", eth)
    assert tapes.threshold("ETH:USD", 2_500.0) == 20.0
    assert tapes.threshold("ETH:USD", None) is None
