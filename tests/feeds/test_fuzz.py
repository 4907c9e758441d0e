"""Fuzzing every protocol parser and the config loader: no input raises out of a feed or the loader.

Feeds get arbitrary bytes, arbitrary JSON, and frames shaped almost like the venue's (right structure, wrong
types or values) after a realistic start (a subscription, a snapshot). Whatever arrives, ``process`` returns,
a frame it cannot use is counted, and the books only ever hold numeric prices with positive sizes.
"""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finxtui.config import ConfigError, load_config
from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.finazon import FinazonFeed
from finxtui.feeds.finx import FinxStream
from finxtui.feeds.session import Feed
from finxtui.model.book import OrderBook
from finxtui.model.events import Event

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False,
                    allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                           st.dictionaries(st.text(max_size=8), inner, max_size=5)), max_leaves=25)
numbers = st.one_of(st.integers(-5, 100_000), st.floats(-1e6, 1e6, allow_nan=False), st.text(max_size=4),
                    st.none(), st.booleans())


def valid_book(book: OrderBook) -> bool:
    for side in (book.bids, book.asks):
        for price, size in side.items():
            if type(price) not in (int, float) or type(size) not in (int, float):
                return False
            if not math.isfinite(price) or not size > 0:
                return False
    return True


def encoded(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def check(feed: Feed, frame: bytes) -> None:
    before = feed.frames
    feed.process(frame)  # must not raise
    assert feed.frames == before + 1


# -- Bitfinex -------------------------------------------------------------------------------------------

def bitfinex_feed() -> BitfinexFeed:
    feed = BitfinexFeed("ws://127.0.0.1:9", ["BTC:USD"])
    feed.process(b'{"event":"subscribed","channel":"book","chanId":1,"symbol":"tBTCUSD","prec":"P0","len":"25"}')
    feed.process(b'{"event":"subscribed","channel":"trades","chanId":2,"symbol":"tBTCUSD"}')
    feed.process(b"[1,[[100,1,1.5],[99,2,2],[101,1,-1],[102,3,-0.5]],1]")
    feed.process(b"[2,[[5,1700000000000,0.1,100]],2]")
    assert feed.rejected_frames == 0 and len(feed.books["BTC:USD"]) == 4
    return feed


bitfinex_frames = st.one_of(
    st.binary(max_size=64),
    json_values.map(encoded),
    st.tuples(st.sampled_from([1, 2, 3]), st.one_of(
        st.lists(numbers, min_size=0, max_size=4),
        st.lists(st.lists(numbers, max_size=4), max_size=4),
        st.sampled_from(["hb", "cs", "te", "tu", "zz"]),
    ), numbers, st.lists(json_values, max_size=2)).map(lambda t: encoded([t[0], t[1], *t[3], t[2]])),
    st.tuples(st.sampled_from([1, 2]), st.sampled_from(["cs", "te"]), json_values, st.integers(0, 10)).map(
        lambda t: encoded(list(t))),
    st.dictionaries(st.sampled_from(["event", "code", "chanId", "symbol", "channel", "version", "msg"]),
                    json_values, max_size=5).map(encoded),
)


# Channel frames with the right sequence number, so they reach the book and trade code.
entry = st.lists(st.one_of(numbers, st.sampled_from([100.0, 99.0, 101.5, 0, 1, -1])), min_size=3, max_size=4)
in_sequence = st.tuples(st.sampled_from([1, 1, 1, 2]), st.one_of(
    entry, st.lists(entry, max_size=4), st.just("hb"), st.just("cs"),
    st.tuples(st.just("te"), st.lists(numbers, max_size=5)), st.tuples(st.just("cs"), numbers)))


@FUZZ
@given(frames=st.lists(st.one_of(bitfinex_frames, in_sequence), min_size=1, max_size=12))
def test_bitfinex_parser_survives_anything(frames: list) -> None:
    feed = bitfinex_feed()
    for frame in frames:
        if isinstance(frame, tuple):
            chan, payload = frame
            seq = feed.sequence + 1
            body = [chan, *payload] if isinstance(payload, tuple) else [chan, payload]
            frame = encoded([*body, seq])
        check(feed, frame)
        assert valid_book(feed.books["BTC:USD"])


# -- BitMEX ---------------------------------------------------------------------------------------------

def bitmex_feed() -> BitmexFeed:
    feed = BitmexFeed("ws://127.0.0.1:9", ["BTC:USD"])
    feed.process(encoded({"table": "orderBookL2_25", "action": "partial", "keys": ["symbol", "id", "side"],
                          "filter": {"symbol": "XBTUSD"},
                          "data": [{"symbol": "XBTUSD", "id": 1, "side": "Buy", "size": 100, "price": 99.5},
                                   {"symbol": "XBTUSD", "id": 2, "side": "Sell", "size": 200, "price": 100.0}]}))
    feed.process(encoded({"table": "instrument", "action": "partial", "keys": ["symbol"],
                          "filter": {"symbol": "XBTUSD"},
                          "data": [{"symbol": "XBTUSD", "isInverse": True, "markPrice": 99.7}]}))
    assert feed.rejected_frames == 0 and len(feed.books["BTC:USD"]) == 2
    return feed


row = st.fixed_dictionaries({}, optional={
    "symbol": st.sampled_from(["XBTUSD", "ETHUSD", "", 7]), "id": st.one_of(st.integers(0, 5), st.text(max_size=3)),
    "side": st.sampled_from(["Buy", "Sell", "buy", 1, None]), "size": numbers, "price": numbers,
    "currentQty": numbers, "avgEntryPrice": numbers, "markPrice": numbers, "currency": st.sampled_from(
        ["XBt", "USDt", "???", None]), "unrealisedPnl": numbers, "timestamp": st.sampled_from(
        ["2021-07-22T22:36:07.865Z", "nope", None, 5]), "open": numbers, "high": numbers, "low": numbers,
    "close": numbers, "trdMatchID": st.text(max_size=4), "walletBalance": numbers,
    "underlyingToPositionMultiplier": numbers, "isInverse": st.booleans(),
})
book_row = st.fixed_dictionaries({
    "symbol": st.sampled_from(["XBTUSD", "XBTUSD", "XBTUSD", "ETHUSD"]), "id": st.sampled_from([1, 2, 3, 4, "x"]),
    "side": st.sampled_from(["Buy", "Sell", "Sell", "junk"])},
    optional={"size": st.one_of(st.integers(-10, 1000), st.floats(-1, 1e6, allow_nan=False), numbers),
              "price": st.one_of(st.sampled_from([99.0, 99.5, 100.0, 100.5]), numbers)})
bitmex_book = st.fixed_dictionaries({
    "table": st.sampled_from(["orderBookL2_25", "orderBookL2"]),
    "action": st.sampled_from(["insert", "update", "delete", "partial"]),
    "data": st.lists(book_row, min_size=1, max_size=4)}, optional={"filter": st.just({"symbol": "XBTUSD"}),
                                                                  "keys": st.just(["symbol", "id", "side"])}
).map(encoded)
bitmex_frames = st.one_of(
    bitmex_book, bitmex_book,
    st.binary(max_size=64),
    json_values.map(encoded),
    st.sampled_from([b"pong", b"ping", b""]),
    st.fixed_dictionaries({
        "table": st.sampled_from(["orderBookL2_25", "orderBookL2", "trade", "instrument", "position", "margin",
                                  "tradeBin1m", "quote", "nope", 3]),
        "action": st.sampled_from(["partial", "insert", "update", "delete", "explode", None]),
        "data": st.one_of(st.lists(row, max_size=4), json_values),
    }, optional={"keys": st.lists(st.sampled_from(["symbol", "id", "side", "account", 1]), max_size=3),
                 "filter": json_values}).map(encoded),
    st.dictionaries(st.sampled_from(["success", "status", "error", "request", "subscribe", "info"]), json_values,
                    max_size=4).map(encoded),
)


@FUZZ
@given(frames=st.lists(bitmex_frames, min_size=1, max_size=12))
def test_bitmex_parser_survives_anything(frames: list[bytes]) -> None:
    feed = bitmex_feed()
    for frame in frames:
        check(feed, frame)
        assert valid_book(feed.books["BTC:USD"])


# -- Finazon and FinX -----------------------------------------------------------------------------------

finazon_frames = st.one_of(
    st.binary(max_size=64),
    json_values.map(encoded),
    st.fixed_dictionaries({"s": st.sampled_from(["AAPL", "MSFT", "X", 1]), "t": numbers, "o": numbers,
                           "h": numbers, "l": numbers, "c": numbers, "v": numbers},
                          optional={"d": json_values, "f": json_values}).map(encoded),
    st.dictionaries(st.sampled_from(["status", "code", "message", "event", "data"]), json_values,
                    max_size=4).map(encoded),
)


@FUZZ
@given(frames=st.lists(finazon_frames, min_size=1, max_size=12))
def test_finazon_parser_survives_anything(frames: list[bytes]) -> None:
    feed = FinazonFeed("ws://127.0.0.1:9", ["AAPL", "MSFT"], api_key="k", interpolate=5)
    for frame in frames:
        check(feed, frame)


finx_frames = st.one_of(
    st.binary(max_size=64),
    json_values.map(encoded),
    st.fixed_dictionaries({"results": st.sampled_from(["streaming", "other", 1]), "resultData": st.one_of(
        json_values, st.fixed_dictionaries({}, optional={
            "pair": st.sampled_from(["BTC:USD", "ETH:USD", 3]), "date": st.sampled_from(["2026-11-20", "x", 1]),
            "time": st.sampled_from(["14:30:00.123Z", "25:00", None]), "exchange": json_values,
            "price": st.one_of(numbers, st.sampled_from(["97250.5", "NaN", "-1", "1e400", ""]))}))}).map(encoded),
    st.dictionaries(st.sampled_from(["isAuth", "error", "keepAlive", "unixDate", "UTCDate", "price", "pair"]),
                    json_values, max_size=4).map(encoded),
)


@FUZZ
@given(frames=st.lists(finx_frames, min_size=1, max_size=12))
def test_finx_parser_survives_anything(frames: list[bytes]) -> None:
    feed = FinxStream("ws://127.0.0.1:9", "BTC:USD", "BTC:USD", "k")
    for frame in frames:
        check(feed, frame)


def test_each_rejected_frame_is_counted_and_logged_once_and_a_flood_is_capped(
        caplog: pytest.LogCaptureFixture) -> None:
    from finxtui.feeds.session import REJECT_LOG_BURST

    feed = bitfinex_feed()
    caplog.set_level("WARNING", logger="finxtui")
    for _ in range(5):
        feed.process(b"not json at all")
    assert feed.rejected_frames == 5
    logged = [r.getMessage() for r in caplog.records if "rejected frame" in r.getMessage()]
    assert len(logged) == 5 and all("JSONDecodeError" in m for m in logged)
    for _ in range(1000):
        feed.process(b"\"a string\"")
    flood = [r for r in caplog.records if "rejected frame (neither an event" in r.getMessage()]
    assert feed.rejections["neither an event nor a channel frame"] == 1000
    assert len(flood) == REJECT_LOG_BURST


def test_oversized_frame_is_rejected_not_parsed() -> None:
    feed = bitfinex_feed()
    feed.process(b"[" + b"1," * (9 * 1024 * 1024) + b"1]")
    assert feed.rejected_frames == 1 and feed.rejections == {"frame larger than the limit": 1}


# -- config ---------------------------------------------------------------------------------------------

toml_scalar = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
                        st.booleans(), st.text(alphabet=st.characters(codec="ascii", exclude_characters='"\\\n'),
                                               max_size=10).map(lambda s: f'"{s}"'))
toml_value = st.one_of(toml_scalar.map(lambda v: str(v).lower() if isinstance(v, bool) else str(v)),
                       st.lists(toml_scalar.map(str), max_size=3).map(lambda xs: "[" + ", ".join(
                           x.lower() if x in ("True", "False") else x for x in xs) + "]"))
keys = st.sampled_from(["watchlist", "default_pair", "book_source", "book_levels", "theme", "color", "slow_link",
                        "log_level", "url", "len", "interpolate", "book", "ticker", "enabled", "tick", "bitfinex",
                        "finx_api_key", "nope"])
sections = st.sampled_from(["", "[refresh]", "[sources.bitfinex]", "[sources.finazon]", "[sources.nope]",
                            "[credentials]", '[pairs."DOGE:USD"]', "[pairs]"])
toml_docs = st.lists(st.tuples(sections, st.lists(st.tuples(keys, toml_value), max_size=3)), max_size=4).map(
    lambda parts: "\n".join(sec + "\n" + "\n".join(f"{k} = {v}" for k, v in kvs) for sec, kvs in parts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=200), toml_docs))
def test_config_loader_only_raises_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    try:
        load_config(path, env={})
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), exc


class RecordingBitmex(BitmexFeed):
    """A BitMEX feed that keeps what it emits, for comparing two ways of reading the same frames."""

    def __init__(self) -> None:
        super().__init__("ws://127.0.0.1:9", ["BTC:USD", "ETH:USDT"])
        self.seen: list[dict] = []

    def emit(self, event: Event) -> None:
        self.seen.append(event.to_dict())


trade_row = st.one_of(
    # mostly sound rows (so trades come out of both readings), some with any of their fields wrong or missing
    st.fixed_dictionaries({
        "symbol": st.sampled_from(["XBTUSD", "XBTUSD", "ETHUSDT"]), "side": st.sampled_from(["Buy", "Sell"]),
        "size": st.integers(1, 10**6), "price": st.one_of(st.floats(1, 1e5), st.integers(1, 10**5)),
        "timestamp": st.sampled_from(["2021-07-22T22:36:07.865Z", "2021-07-22T22:36:07Z"]),
        "trdMatchID": st.one_of(st.sampled_from(["a", "b", ""]), st.uuids().map(str))},
        optional={"tickDirection": st.just("PlusTick"), "grossValue": numbers}),
    st.fixed_dictionaries({}, optional={
        "symbol": st.sampled_from(["XBTUSD", "SOLUSD", "", 7, None]), "side": st.sampled_from(["Buy", "buy", 1, None]),
        "size": numbers, "price": numbers, "timestamp": st.sampled_from(["nope", None, 5]),
        "trdMatchID": st.sampled_from(["a", "", None, 3])}),
)


@FUZZ
@given(inserts=st.lists(st.lists(trade_row, max_size=4), min_size=1, max_size=8))
def test_bitmex_trades_read_in_c_equal_the_general_reading(inserts: list[list[dict]]) -> None:
    # bytes take the typed (C) path where the schema accepts them; the same text as str always takes the general
    # one: both must emit the same trades and reject the same frames.
    typed, general = RecordingBitmex(), RecordingBitmex()
    partial = {"table": "trade", "action": "partial", "keys": [], "filter": {"symbol": "XBTUSD"}, "data": []}
    frames = [encoded(partial)] + [encoded({"table": "trade", "action": "insert", "data": rows}) for rows in inserts]
    for frame in frames:
        typed.process(frame)
        general.process(frame.decode())
    assert typed.seen == general.seen
    assert typed.rejections == general.rejections
    assert typed.store.dropped_before_partial == general.store.dropped_before_partial
