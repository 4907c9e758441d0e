"""Candles: timeframe boundaries, open/close by time whatever the order, venue bars over trades, FinX history."""

from __future__ import annotations

from finxtui.model.candles import KEEP, TIMEFRAMES, Candles, CandleSeries
from finxtui.model.events import Bar, Instrument, Tick, Trade
from finxtui.model.pairs import PairTable
from finxtui.model.state import MarketState

T0 = 1_795_183_200.0  # 2026-11-20 14:00:00 UTC: a whole hour


def ohlcv(series: CandleSeries, tf: int) -> list[tuple[int, float, float, float, float, float]]:
    return [(int(c.ts - T0), c.o, c.h, c.l, c.c, c.v) for c in series.candles(tf).values()]


def test_a_price_lands_in_the_candle_of_each_timeframe_its_time_falls_in() -> None:
    s = CandleSeries("bitfinex", "BTC:USD")
    s.add(100.0, 1.0, T0 + 59.999)  # the last instant of the first minute
    s.add(101.0, 2.0, T0 + 60.0)  # the first of the second
    s.add(99.0, 0.5, T0 + 299.999)
    s.add(102.0, 1.5, T0 + 300.0)  # a new 5-minute candle
    s.add(103.0, 1.0, T0 + 3600.0)  # a new hour
    assert ohlcv(s, 60) == [(0, 100, 100, 100, 100, 1), (60, 101, 101, 101, 101, 2), (240, 99, 99, 99, 99, 0.5),
                            (300, 102, 102, 102, 102, 1.5), (3600, 103, 103, 103, 103, 1)]
    assert ohlcv(s, 300) == [(0, 100, 101, 99, 99, 3.5), (300, 102, 102, 102, 102, 1.5),
                             (3600, 103, 103, 103, 103, 1)]
    assert ohlcv(s, 900) == [(0, 100, 102, 99, 102, 5.0), (3600, 103, 103, 103, 103, 1)]
    assert ohlcv(s, 3600) == [(0, 100, 102, 99, 102, 5.0), (3600, 103, 103, 103, 103, 1)]
    assert s.last_price() == 103.0


def test_open_and_close_follow_time_not_arrival() -> None:
    s = CandleSeries("finx", "BTC:USD")
    for price, at in ((5.0, 30), (7.0, 50), (3.0, 10), (6.0, 40)):  # a history page comes unsorted
        s.add(price, 0.0, T0 + at)
    (candle,) = s.candles(60).values()
    assert (candle.o, candle.h, candle.l, candle.c, candle.n, candle.v) == (3.0, 7.0, 3.0, 7.0, 4, 0.0)
    assert not s.sized  # ticks carry no size: the chart counts them instead


def test_a_venue_bar_replaces_its_minute_and_the_wider_candles_re_sum() -> None:
    s = CandleSeries("bitmex", "BTC:USD")
    for at, price, size in ((5, 100.0, 10.0), (65, 104.0, 10.0), (70, 90.0, 10.0)):
        s.add(price, size, T0 + at)
    # BitMEX's own bin for the second minute: the authority (it saw every trade, we may have missed some)
    s.bar(T0 + 60, 103.0, 110.0, 95.0, 96.0, 500.0)
    assert ohlcv(s, 60) == [(0, 100, 100, 100, 100, 10), (60, 103, 110, 95, 96, 500)]
    assert ohlcv(s, 300) == [(0, 100, 110, 95, 96, 510)]
    assert ohlcv(s, 3600) == [(0, 100, 110, 95, 96, 510)]
    # a later trade in the next minute still builds on top
    s.add(97.0, 1.0, T0 + 130)
    assert ohlcv(s, 300) == [(0, 100, 110, 95, 97, 511)]


def test_finazon_bars_update_the_forming_minute_in_place() -> None:
    candles = Candles()
    for c, v in ((232.0, 100.0), (232.5, 180.0), (231.9, 260.0)):  # 1-second updates of one 1-minute bar
        candles.bar(Bar("finazon", "AAPL", 232.1, max(232.5, c), 231.9, c, v, T0 + 120))
    series = candles.get("finazon", "AAPL")
    assert series is not None
    assert ohlcv(series, 60) == [(120, 232.1, 232.5, 231.9, 231.9, 260.0)]
    assert list(candles.sources_for("AAPL")) == ["finazon"]
    candles.bar(Bar("finazon", "AAPL", 1, 1, 1, 1, 1, T0, interval=5))  # not a 1-minute bar: not mixed in
    assert ohlcv(series, 60) == [(120, 232.1, 232.5, 231.9, 231.9, 260.0)]


def test_memory_is_bounded_per_timeframe() -> None:
    s = CandleSeries("bitfinex", "BTC:USD")
    for minute in range(KEEP[60] + 500):
        s.add(100.0 + minute % 7, 1.0, T0 + 60 * minute)
    assert len(s.candles(60)) == KEEP[60]
    assert next(iter(s.candles(60))) == T0 + 60 * 500  # the oldest went
    for tf in TIMEFRAMES:
        assert len(s.candles(tf)) <= KEEP[tf]


def test_finx_history_seeds_the_candles_and_live_ticks_are_not_counted_twice() -> None:
    state = MarketState(PairTable(), ["BTC:USD"], clock=lambda: T0 + 3600)
    hist = state.history_for("BTC:USD")
    page = [Tick("finx", "BTC:USD", 100.0 + i, "KRAKEN", T0 + 14 * i) for i in range(10)]
    hist.page(reversed(page))
    live = Tick("finx", "BTC:USD", 120.0, "GEMINI", T0 + 200)
    state.apply(live)
    hist.page([page[3], live])  # a later page repeats rows already seen (the live tick among them)
    series = state.candles.get("finx", "BTC:USD")
    assert series is not None
    minutes = ohlcv(series, 60)
    assert minutes == [(0, 100, 104, 100, 104, 0), (60, 105, 108, 105, 108, 0), (120, 109, 109, 109, 109, 0),
                       (180, 120, 120, 120, 120, 0)]
    assert sum(c.n for c in series.candles(60).values()) == 11


def test_state_feeds_trades_to_candles_and_the_tape_in_base_units() -> None:
    state = MarketState(PairTable(), ["BTC:USD"], clock=lambda: T0)
    state.apply(Trade("bitmex", "BTC:USD", 100_000.0, 50_000, "buy", T0 + 1, "a"))  # before the instrument
    tape = state.tapes.get("BTC:USD")
    assert tape is None  # BitMEX counts contracts: not on the tape until we know what one is worth
    state.apply(Instrument("bitmex", "BTC:USD", "XBTUSD", True, 1.0, "USD"))
    state.apply(Trade("bitmex", "BTC:USD", 100_000.0, 50_000, "buy", T0 + 2, "b"))
    state.apply(Trade("bitfinex", "BTC:USD", 100_010.0, 0.25, "sell", T0 + 3, "c"))
    tape = state.tapes.get("BTC:USD")
    assert tape is not None
    assert [(p.source, p.side, p.size) for p in tape.newest(5)] == [("bitfinex", "sell", 0.25),
                                                                    ("bitmex", "buy", 0.5)]
    bitmex = state.candles.get("bitmex", "BTC:USD")
    assert bitmex is not None and ohlcv(bitmex, 60) == [(0, 100_000, 100_000, 100_000, 100_000, 100_000)]
    assert list(state.candles.sources_for("BTC:USD")) == ["bitmex", "bitfinex"]
