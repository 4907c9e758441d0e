"""The simulator's Finazon websocket, checked frame by frame against the reference (part B and C10-C17).

Plain ``websockets`` clients on loopback. Tests that look at bar values run a paused simulator on a fake wall
clock and a manual venue clock, so the forming bar changes only when the test steps the market or moves the
wall clock, and a bar goes out only when the test advances the venue clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from finxtui.sim.credentials import DEMO_FINAZON_KEY
from finxtui.sim.finazon import FinazonConnection
from finxtui.sim.market import EquityPrint
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings

T0 = 1_700_000_040  # a minute boundary (2023-11-14 22:14:00 UTC)
SUB = {"event": "subscribe", "dataset": "us_stocks_essential", "tickers": ["AAPL"], "channel": "bars",
       "frequency": "1s", "aggregation": "1m"}
BAR_KEYS = ["d", "p", "ch", "f", "aggr", "s", "t", "o", "h", "l", "c", "v"]
_request_ids = itertools.count(1)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[Simulator, FakeClock]]:
    """A paused simulator whose clocks move only when the test moves them (the wall clock 10 s into a minute)."""
    clock = FakeClock(T0 + 10.0)
    async with Simulator(seed=11, rate=0, clock=clock, settings=SimSettings(manual_time=True)) as sim:
        yield sim, clock


def manual(**settings: Any) -> Simulator:
    """A paused simulator on a manual venue clock, with some Finazon limits changed."""
    return Simulator(seed=11, rate=0, settings=SimSettings(manual_time=True, **settings))


# -- a minimal client ---------------------------------------------------------------------------------


def url(sim: Simulator, key: str = DEMO_FINAZON_KEY, path: str = "/finazon/v1") -> str:
    return f"{sim.url}{path}?apikey={key}"


@contextlib.asynccontextmanager
async def finazon(sim: Simulator, key: str = DEMO_FINAZON_KEY,
                  path: str = "/finazon/v1") -> AsyncIterator[ClientConnection]:
    async with websockets.connect(url(sim, key, path), open_timeout=5, close_timeout=2) as ws:
        yield ws


async def send(ws: ClientConnection, obj: Any) -> None:
    await ws.send(obj if isinstance(obj, str) else orjson.dumps(obj).decode())


async def recv(ws: ClientConnection, timeout: float = 5.0) -> Any:
    async with asyncio.timeout(timeout):
        return orjson.loads(await ws.recv())


async def recv_until(ws: ClientConnection, predicate: Callable[[Any], bool],
                     timeout: float = 5.0) -> tuple[Any, list[Any]]:
    """Frames until one matches; returns it and the frames before it."""
    seen: list[Any] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            if predicate(frame):
                return frame, seen
            seen.append(frame)


async def sync(ws: ClientConnection) -> list[Any]:
    """Every frame the venue wrote before it read our heartbeat (it answers in order)."""
    rid = next(_request_ids)
    await send(ws, {"event": "heartbeat", "request_id": rid})
    _, before = await recv_until(ws, lambda f: f.get("event") == "heartbeat" and f.get("request_id") == rid)
    return before


async def closed_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    assert ws.close_code is not None
    return ws.close_code


def is_bar(frame: Any, ticker: str | None = None) -> bool:
    return isinstance(frame, dict) and frame.get("ch") == "bars" and (ticker is None or frame.get("s") == ticker)


async def subscribe(ws: ClientConnection, **fields: Any) -> dict[str, Any]:
    await send(ws, dict(SUB, **fields))
    ack, before = await recv_until(ws, lambda f: f.get("code") == "SUCCESS_SUBSCRIPTION")
    assert not [f for f in before if not is_bar(f)], before
    return ack


def step_until_print(sim: Simulator, pair: str, count: int = 1) -> list[EquityPrint]:
    """Step a paused market until ``pair`` has printed ``count`` more times."""
    prints: list[EquityPrint] = []
    for _ in range(100_000):
        prints += [e for e in sim.step() if isinstance(e, EquityPrint) and e.pair == pair]
        if len(prints) >= count:
            return prints
    raise AssertionError(f"{pair} never printed")


def builder_bar(sim: Simulator, pair: str) -> tuple[int, float, float, float, float, int]:
    bar = sim.finazon.bars[pair].current
    assert bar is not None
    return bar.t, bar.o, bar.h, bar.l, bar.c, int(bar.v)


def values(frame: dict[str, Any]) -> tuple[int, float, float, float, float, int]:
    return frame["t"], frame["o"], frame["h"], frame["l"], frame["c"], frame["v"]


# -- the handshake ------------------------------------------------------------------------------------


async def test_bad_or_missing_key_is_rejected_at_the_upgrade_with_401(paused_sim: Simulator) -> None:
    for target in (url(paused_sim, "wrong-key"), f"{paused_sim.url}/v1", f"{paused_sim.url}/finazon/v1?apikey="):
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(target, open_timeout=5):
                pass
        assert info.value.response.status_code == 401
        assert orjson.loads(info.value.response.body) == {"status": "error", "message": "Invalid API key"}


async def test_soft_auth_fault_sends_an_error_frame_then_closes_1008(paused_sim: Simulator) -> None:
    paused_sim.faults.finazon_soft_auth = True
    async with finazon(paused_sim, "wrong-key") as ws:
        assert await recv(ws) == {"status": "error", "message": "Invalid API key"}
        assert await closed_code(ws) == 1008
    async with finazon(paused_sim) as ws:  # the right key still works under the fault
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}


async def test_bare_v1_path_serves_finazon(paused_sim: Simulator) -> None:
    async with finazon(paused_sim, path="/v1") as ws:
        await send(ws, {"event": "heartbeat", "request_id": 17})
        assert await recv(ws) == {"event": "heartbeat", "status": "success", "request_id": 17}


async def test_a_fourth_connection_per_key_is_refused(paused_sim: Simulator) -> None:
    async with finazon(paused_sim), finazon(paused_sim), finazon(paused_sim), finazon(paused_sim) as fourth:
        reply = await recv(fourth)
        assert reply["status"] == "error" and "connections" in reply["message"]
        assert await closed_code(fourth) == 1008


# -- subscribe and bars -------------------------------------------------------------------------------


async def test_subscribe_ack_shape_echoes_request_and_request_id(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    async with finazon(sim) as ws:
        ack = await subscribe(ws, tickers=["AAPL", "MSFT"], request_id=3)
        assert ack == {"status": "success", "code": "SUCCESS_SUBSCRIPTION", "request_id": 3,
                       "data": {"event": "subscribe", "dataset": "us_stocks_essential", "channel": "bars",
                                "frequency": "1s", "aggregation": "1m", "tickers": ["AAPL", "MSFT"]}}
        step_until_print(sim, "NVDA")
        ack = await subscribe(ws, tickers=["NVDA"], frequency="10s")
        assert ack["data"]["frequency"] == "10s" and "request_id" not in ack
        bar, _ = await recv_until(ws, lambda f: is_bar(f, "NVDA"))
        assert bar["f"] == "10s", "the first bar comes with the ack, whatever the frequency"


async def test_v1_0_publisher_alias_is_accepted(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "NVDA")
    async with finazon(sim) as ws:
        request = {k: v for k, v in SUB.items() if k != "dataset"}
        await send(ws, dict(request, publisher="sip", tickers=["NVDA"]))
        ack = await recv(ws)
        assert ack["code"] == "SUCCESS_SUBSCRIPTION"
        assert ack["data"]["dataset"] == "sip" and ack["data"]["publisher"] == "sip"
        bar, _ = await recv_until(ws, is_bar)
        assert (bar["d"], bar["p"], bar["s"]) == ("sip", "sip", "NVDA")


async def test_bar_shape_and_values_match_the_bar_builder(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL", 5)
    async with finazon(sim) as ws:
        await subscribe(ws)
        bar, _ = await recv_until(ws, is_bar, timeout=3)
    assert list(bar) == BAR_KEYS
    assert {k: bar[k] for k in BAR_KEYS[:6]} == {"d": "us_stocks_essential", "p": "finazon", "ch": "bars",
                                                 "f": "1s", "aggr": "1m", "s": "AAPL"}
    assert bar["t"] == T0
    for key in "ohlc":
        assert type(bar[key]) is float
    assert type(bar["v"]) is int and bar["v"] > 0
    assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
    assert values(bar) == builder_bar(sim, "AAPL")


async def test_the_forming_bar_is_resent_every_second_with_growing_volume(
        frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL")
    async with finazon(sim) as ws:
        await subscribe(ws)
        first, _ = await recv_until(ws, is_bar)
        # Nothing traded: the same bar again, once a period, never a burst.
        sim.advance(0.9)
        assert await sync(ws) == []
        sim.advance(0.1)
        repeat = await sync(ws)
        sim.advance(1.0)
        again = await sync(ws)
        assert [first] == repeat == again
        # Trades within the minute: the same t, more volume, still the builder's bar.
        step_until_print(sim, "AAPL", 3)
        expected = builder_bar(sim, "AAPL")
        sim.advance(1.0)
        (grown,) = await sync(ws)
        assert values(grown) == expected
    assert grown["t"] == first["t"] == T0
    assert grown["v"] > first["v"]
    assert grown["h"] >= first["h"] and grown["l"] <= first["l"] and grown["o"] == first["o"]


async def test_a_new_minute_starts_a_new_bar_repeating_the_last_close(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, clock = frozen
    step_until_print(sim, "AAPL", 3)
    last_close = builder_bar(sim, "AAPL")[4]
    async with finazon(sim) as ws:
        await subscribe(ws)
        old, _ = await recv_until(ws, is_bar)
        assert old["t"] == T0
        clock.now = T0 + 61.0  # into the next minute, before any trade in it
        sim.advance(1.0)
        (idle,) = await sync(ws)
        assert values(idle) == (T0 + 60, last_close, last_close, last_close, last_close, 0)
        prints = step_until_print(sim, "AAPL", 2)
        expected = builder_bar(sim, "AAPL")
        sim.advance(1.0)
        (fresh,) = await sync(ws)
        assert values(fresh) == expected
    assert fresh["t"] == T0 + 60
    assert fresh["o"] == prints[0].price and fresh["c"] == prints[-1].price
    assert fresh["v"] == sum(p.size for p in prints)


async def test_no_bar_before_a_ticker_first_trades(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    async with finazon(sim) as ws:
        await subscribe(ws, tickers=["MSFT"])
        sim.advance(1.3)
        assert await sync(ws) == []
        step_until_print(sim, "MSFT")
        sim.advance(1.0)
        (bar,) = await sync(ws)
    assert values(bar) == builder_bar(sim, "MSFT")


async def test_bars_on_a_live_market_stay_consistent(sim: Simulator) -> None:
    async with finazon(sim) as ws:
        await subscribe(ws, tickers=["AAPL", "MSFT", "NVDA"])
        seen: dict[str, list[dict[str, Any]]] = {"AAPL": [], "MSFT": [], "NVDA": []}
        async with asyncio.timeout(5):
            while min(len(v) for v in seen.values()) < 2:
                frame = await recv(ws)
                if is_bar(frame):
                    seen[frame["s"]].append(frame)
    for bars in seen.values():
        for bar in bars:
            assert bar["t"] % 60 == 0 and type(bar["v"]) is int
            assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
        first, second = bars[0], bars[1]
        if first["t"] == second["t"]:  # within one minute the bar only widens and grows
            assert second["o"] == first["o"] and second["v"] >= first["v"]
            assert second["h"] >= first["h"] and second["l"] <= first["l"]


# -- subscription errors ------------------------------------------------------------------------------


async def test_unknown_ticker_is_an_error_while_the_rest_subscribe(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL")
    step_until_print(sim, "MSFT")
    async with finazon(sim) as ws:
        await send(ws, dict(SUB, tickers=["AAPL", "BGMS", "MSFT"]))
        assert await recv(ws) == {"status": "error",
                                  "message": "The ticker BGMS you have specified is unrecognized or unsupported."}
        ack = await recv(ws)
        assert ack["code"] == "SUCCESS_SUBSCRIPTION" and ack["data"]["tickers"] == ["AAPL", "MSFT"]
        got: set[str] = set()
        async with asyncio.timeout(3):
            while got != {"AAPL", "MSFT"}:
                frame = await recv(ws)
                assert is_bar(frame) and frame["s"] in ("AAPL", "MSFT")
                got.add(frame["s"])


async def test_duplicate_subscribe_is_an_error(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    async with finazon(sim) as ws:
        await subscribe(ws)
        await send(ws, dict(SUB, tickers=["AAPL", "MSFT"]))
        assert await recv(ws) == {"status": "error", "message": "You are already subscribed to ticker: AAPL."}
        ack = await recv(ws)
        assert ack["code"] == "SUCCESS_SUBSCRIPTION" and ack["data"]["tickers"] == ["MSFT"]
        await send(ws, dict(SUB, tickers=["AAPL", "MSFT"], request_id="r9"))
        assert await recv(ws) == {"status": "error", "request_id": "r9",
                                  "message": "You are already subscribed to ticker: AAPL, MSFT."}
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}, "no ack when nothing was added"


@pytest.mark.parametrize(("fields", "word"), [
    ({"channel": "trades"}, "channel"),
    ({"frequency": "5s"}, "frequency"),
    ({"frequency": None}, "frequency"),
    ({"aggregation": "5m"}, "aggregation"),
    ({"dataset": "nyse_magic"}, "dataset"),
    ({"dataset": None}, "dataset"),
    ({"tickers": []}, "tickers"),
    ({"tickers": "AAPL"}, "tickers"),
])
async def test_bad_subscribe_fields_are_error_frames(paused_sim: Simulator, fields: dict[str, Any],
                                                     word: str) -> None:
    request = {k: v for k, v in dict(SUB, **fields).items() if v is not None}
    async with finazon(paused_sim) as ws:
        await send(ws, request)
        reply = await recv(ws)
        assert set(reply) == {"status", "message"} and reply["status"] == "error"
        assert word in reply["message"]
        # Nothing was subscribed and the socket still works.
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}
        assert FinazonConnection in {type(c) for c in paused_sim.connections["finazon"]}
        assert all(not c.subs for c in paused_sim.connections["finazon"] if isinstance(c, FinazonConnection))


# -- other events -------------------------------------------------------------------------------------


async def test_unsubscribe_stops_that_tickers_bars(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL")
    step_until_print(sim, "MSFT")
    async with finazon(sim) as ws:
        await subscribe(ws, tickers=["AAPL", "MSFT"])
        await send(ws, dict(SUB, event="unsubscribe", tickers=["AAPL"], request_id=5))
        ack, _ = await recv_until(ws, lambda f: not is_bar(f))
        assert ack == {"status": "success", "code": "SUCCESS_UNSUBSCRIPTION", "request_id": 5,
                       "data": {"event": "unsubscribe", "dataset": "us_stocks_essential", "channel": "bars",
                                "frequency": "1s", "aggregation": "1m", "tickers": ["AAPL"]}}
        sim.advance(1.5)
        after = await sync(ws)
        assert after and all(is_bar(f, "MSFT") for f in after), after
        await send(ws, dict(SUB, event="unsubscribe", tickers=["AAPL"]))
        assert await recv_until(ws, lambda f: not is_bar(f)) == (
            {"status": "error", "message": "You are not subscribed to ticker: AAPL."}, [])


async def test_heartbeat_echoes_request_id(paused_sim: Simulator) -> None:
    async with finazon(paused_sim) as ws:
        await send(ws, {"event": "heartbeat", "request_id": 1712345678901})
        assert await recv(ws) == {"event": "heartbeat", "status": "success", "request_id": 1712345678901}
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}


async def test_reset_drops_every_subscription(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL")
    async with finazon(sim) as ws:
        await subscribe(ws, tickers=["AAPL", "MSFT"])
        await send(ws, {"event": "reset"})
        reply, _ = await recv_until(ws, lambda f: not is_bar(f))
        assert reply == {"status": "success", "code": "SUCCESS_RESET"}
        sim.advance(1.3)
        assert await sync(ws) == []
        ack = await subscribe(ws)  # not "already subscribed"
        assert ack["data"]["tickers"] == ["AAPL"]


async def test_unknown_event_is_an_error(paused_sim: Simulator) -> None:
    async with finazon(paused_sim) as ws:
        await send(ws, {"event": "trades", "request_id": 2})
        reply = await recv(ws)
        assert reply["status"] == "error" and "trades" in reply["message"] and reply["request_id"] == 2
        await send(ws, {"tickers": ["AAPL"]})
        assert (await recv(ws))["status"] == "error"


async def test_malformed_json_is_an_error_frame_and_the_socket_keeps_working(paused_sim: Simulator) -> None:
    async with finazon(paused_sim) as ws:
        for text in ('{"event": "subscribe", ', "not json", "[1, 2]", "42"):
            await send(ws, text)
            reply = await recv(ws)
            assert set(reply) == {"status", "message"} and reply["status"] == "error", text
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}


async def test_event_over_100kb_is_refused(paused_sim: Simulator) -> None:
    async with finazon(paused_sim) as ws:
        await send(ws, dict(SUB, tickers=["AAPL"] * 20_000))  # ~160 KB
        reply = await recv(ws)
        assert reply["status"] == "error" and "100kb" in reply["message"]
        assert all(not c.subs for c in paused_sim.connections["finazon"] if isinstance(c, FinazonConnection))
        await send(ws, {"event": "heartbeat"})
        assert await recv(ws) == {"event": "heartbeat", "status": "success"}


async def test_rate_limit_error_then_close_1008() -> None:
    async with manual(finazon_event_limit=5, finazon_max_strikes=3) as sim, finazon(sim) as ws:
        for i in range(5):
            await send(ws, {"event": "heartbeat", "request_id": i})
            assert await recv(ws) == {"event": "heartbeat", "status": "success", "request_id": i}
        for _ in range(2):
            await send(ws, {"event": "heartbeat"})
            reply = await recv(ws)
            assert reply["status"] == "error" and "event messages" in reply["message"]
        await send(ws, {"event": "heartbeat"})
        assert (await recv(ws))["status"] == "error"
        assert await closed_code(ws) == 1008


async def test_rate_limit_window_slides() -> None:
    async with manual(finazon_event_limit=3, finazon_event_window=0.5) as sim, finazon(sim) as ws:
        for _ in range(3):
            await send(ws, {"event": "heartbeat"})
            assert (await recv(ws))["status"] == "success"
        await send(ws, {"event": "heartbeat"})
        assert (await recv(ws))["status"] == "error"
        sim.advance(0.6)
        await send(ws, {"event": "heartbeat"})
        assert (await recv(ws))["status"] == "success"


# -- faults -------------------------------------------------------------------------------------------


async def test_stall_fault_pauses_one_ticker(frozen: tuple[Simulator, FakeClock]) -> None:
    sim, _ = frozen
    step_until_print(sim, "AAPL")
    step_until_print(sim, "MSFT")
    async with finazon(sim) as ws:
        await subscribe(ws, tickers=["AAPL", "MSFT"])
        await recv_until(ws, is_bar)
        conn = next(iter(sim.connections["finazon"]))
        assert conn.inject("stall", pair="NVDA", seconds=1.0) is False, "not subscribed: no match"
        assert sim.faults.stall("finazon", seconds=1.4, pair="AAPL") == 1
        sim.advance(1.2)
        during = await sync(ws)
        assert during and all(is_bar(f, "MSFT") for f in during), during
        sim.advance(0.8)
        assert {f["s"] for f in await sync(ws)} == {"AAPL", "MSFT"}, "the stall is over"


async def test_idle_socket_without_subscriptions_is_closed() -> None:
    async with manual(finazon_idle_close=0.3) as sim, finazon(sim) as idle, finazon(sim) as busy:
        step_until_print(sim, "AAPL")
        await subscribe(busy)
        sim.advance(0.4)
        assert await closed_code(idle) == 1000
        await send(busy, {"event": "heartbeat"})
        reply, _ = await recv_until(busy, lambda f: not is_bar(f))
        assert reply == {"event": "heartbeat", "status": "success"}, "a subscribed socket stays open"
