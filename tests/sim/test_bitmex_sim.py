"""The simulator's BitMEX realtime protocol, checked frame by frame against the reference (part B, E7-E10).

Plain ``websockets`` clients over real loopback; the book a test keeps is applied here with a few lines of
dict code and compared with the simulator's own book.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from finxtui.sim.bitmex.account import Account
from finxtui.sim.instruments import BITMEX_CONTRACTS
from finxtui.sim.market import ASK, BID, SimTrade
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from finxtui.wire.bitmex import signature

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_ANY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CONTRACTS = {c.symbol: c for c in BITMEX_CONTRACTS}
PARTIAL_KEYS = ["table", "action", "keys", "types", "foreignKeys", "attributes", "filter", "data"]
NOT_AUTHED = "User requested an account-locked subscription but no authorization was provided."


# -- a plain client -----------------------------------------------------------------------------------------


class Conn:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str) else orjson.dumps(obj).decode())

    async def recv(self, timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        return raw if raw == "pong" else orjson.loads(raw)

    async def until(self, predicate: Callable[[Any], bool], timeout: float = 5.0) -> tuple[Any, list[Any]]:
        """Frames until one matches: (that frame, the frames before it)."""
        before: list[Any] = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if predicate(frame):
                    return frame, before
                before.append(frame)

    async def sync(self) -> list[Any]:
        """Everything the server wrote before it read our ping."""
        await self.send("ping")
        _, frames = await self.until(lambda f: f == "pong")
        return frames

    async def subscribe(self, *topics: str) -> list[Any]:
        """Subscribe and return the acks (one per topic)."""
        req = {"op": "subscribe", "args": list(topics)}
        await self.send(req)
        return [await self.recv() for _ in topics]


@asynccontextmanager
async def connect(sim: Simulator, suffix: str = "/realtime", **kwargs: Any) -> AsyncIterator[Conn]:
    async with websockets.connect(sim.base_url("bitmex") + suffix, open_timeout=5, **kwargs) as ws:
        conn = Conn(ws)
        welcome = await conn.recv()
        assert welcome["info"] == "Welcome to the BitMEX Realtime API."
        yield conn


def auth_args(sim: Simulator, expires: int | None = None, secret: str | None = None) -> list[Any]:
    expires = int(sim.clock()) + 60 if expires is None else expires
    sig = signature(secret or sim.credentials.bitmex_secret, "GET", "/realtime", expires)
    return [sim.credentials.bitmex_key, expires, sig]


async def authenticate(conn: Conn, sim: Simulator) -> None:
    await conn.send({"op": "authKeyExpires", "args": auth_args(sim)})
    assert (await conn.recv())["success"] is True


class L2Mirror:
    """A client's L2 tables with the 2023 rules: identity (symbol, id, side), price on every row."""

    def __init__(self, depth: int | None = None) -> None:
        self.depth = depth
        self.rows: dict[tuple[str, int, str], dict[str, Any]] = {}
        self.ready: set[str] = set()

    def apply(self, msg: dict[str, Any]) -> None:
        action = msg["action"]
        if action == "partial":
            symbols = {msg["filter"]["symbol"]} if msg["filter"] else {r["symbol"] for r in msg["data"]}
            self.rows = {k: v for k, v in self.rows.items() if k[0] not in symbols}
            self.ready |= symbols
            action = "insert"
        for row in msg["data"]:
            assert "price" in row and ISO.match(row["timestamp"]), row
            key = (row["symbol"], row["id"], row["side"])
            if row["symbol"] not in self.ready:
                continue
            if action == "insert":
                assert key not in self.rows, row
                assert set(row) == {"symbol", "id", "side", "size", "price", "timestamp"}
                self.rows[key] = {"price": row["price"], "size": row["size"]}
            elif action == "update":
                assert set(row) == {"symbol", "id", "side", "size", "price", "timestamp"}, row
                assert self.rows[key]["price"] == row["price"], row
                self.rows[key]["size"] = row["size"]
            else:
                assert action == "delete"
                assert set(row) == {"symbol", "id", "side", "price", "timestamp"}, row
                assert self.rows.pop(key)["price"] == row["price"]
        if self.depth is not None:
            for symbol in self.ready:
                for side in ("Buy", "Sell"):
                    n = sum(1 for k in self.rows if k[0] == symbol and k[2] == side)
                    assert n <= self.depth, (symbol, side, n)

    def side(self, symbol: str, side: str) -> list[tuple[float, float]]:
        levels = [(v["price"], float(v["size"])) for k, v in self.rows.items() if k[0] == symbol and k[2] == side]
        return sorted(levels, reverse=side == "Buy")


def sim_levels(sim: Simulator, symbol: str, side: str, depth: int | None = None) -> list[tuple[float, float]]:
    book = sim.market.books[("bitmex", CONTRACTS[symbol].pair)]
    return book.levels(BID if side == "Buy" else ASK, depth)


def no_nulls(obj: Any) -> bool:
    if obj is None:
        return False
    if isinstance(obj, dict):
        return all(no_nulls(v) for v in obj.values())
    if isinstance(obj, list):
        return all(no_nulls(v) for v in obj)
    return True


# -- session ----------------------------------------------------------------------------------------------


async def test_welcome_is_first(sim: Simulator) -> None:
    async with websockets.connect(sim.base_url("bitmex") + "/realtime", open_timeout=5) as ws:
        async with asyncio.timeout(5):
            welcome = orjson.loads(await ws.recv())
    assert list(welcome) == ["info", "version", "timestamp", "docs", "limit", "heartbeatEnabled"]
    assert welcome["info"] == "Welcome to the BitMEX Realtime API."
    assert welcome["docs"] == "https://www.bitmex.com/app/wsAPI"
    assert ISO.match(welcome["timestamp"]) and ISO.match(welcome["version"])
    assert isinstance(welcome["limit"]["remaining"], int) and welcome["limit"]["remaining"] > 0
    assert welcome["heartbeatEnabled"] is False


async def test_bare_realtime_path_and_ping(sim: Simulator) -> None:
    async with websockets.connect(sim.url + "/realtime", open_timeout=5) as ws:
        conn = Conn(ws)
        assert "info" in await conn.recv()
        await conn.send("ping")
        assert await conn.recv() == "pong"


async def test_one_ack_per_topic_echoing_the_request(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        req = {"op": "subscribe", "args": ["orderBookL2_25:XBTUSD", "quote:ETHUSDT", "trade"]}
        await conn.send(req)
        acks = [await conn.recv() for _ in range(3)]
        assert acks == [{"success": True, "subscribe": t, "request": req} for t in req["args"]]
        single = {"op": "subscribe", "args": "instrument:SOLUSDT"}
        await conn.send(single)
        _, before = await conn.until(lambda f: f.get("subscribe") == "instrument:SOLUSDT")
        assert all("success" not in f for f in before)
        unsub = {"op": "unsubscribe", "args": ["trade", "quote:ETHUSDT"]}
        await conn.send(unsub)
        frames = await conn.sync()
        acks = [f for f in frames if "unsubscribe" in f]
        assert acks == [{"success": True, "unsubscribe": t, "request": unsub} for t in unsub["args"]]
        paused_sim.step(300)
        tables = {f["table"] for f in await conn.sync() if "table" in f}
        assert tables == {"orderBookL2_25"}  # no more trades or ETHUSDT quotes
        assert paused_sim.subscriptions.trades[("bitmex", "BTC:USD")] == set()


async def test_bare_topic_after_a_symbol_topic(paused_sim: Simulator) -> None:
    top = L2Mirror(depth=25)
    async with connect(paused_sim) as conn:
        await conn.subscribe("orderBookL2_25:XBTUSD")
        paused_sim.step(100)
        await conn.send({"op": "subscribe", "args": ["orderBookL2_25"]})
        frames = [f for f in await conn.sync() if "table" in f]
        partials = [f for f in frames if f["action"] == "partial"]
        assert [p["filter"] for p in partials] == [{"symbol": "XBTUSD"}, {}]
        assert {r["symbol"] for r in partials[1]["data"]} == set(CONTRACTS)
        for f in frames:
            top.apply(f)
        paused_sim.step(400)
        for f in await conn.sync():
            top.apply(f)  # a level sent twice would fail here
        for symbol in CONTRACTS:
            for side in ("Buy", "Sell"):
                assert top.side(symbol, side) == sim_levels(paused_sim, symbol, side, 25)


async def test_partial_comes_first_for_every_table_and_symbol(manual_sim: Simulator) -> None:
    sim = manual_sim
    public = ["instrument", "quote", "trade", "tradeBin1m", "orderBookL2", "orderBookL2_25"]
    async with connect(sim) as conn:
        await authenticate(conn, sim)
        await conn.subscribe(*public, "position", "margin", "order", "execution")
        ready: dict[tuple[str, str], bool] = {}
        partial_tables: set[str] = set()
        frames = await conn.sync()
        for _ in range(3):  # the market moves, a second passes (instrument, position and margin updates)
            sim.step(200)
            frames += await conn.sync()
            sim.advance(0.5)
            frames += await conn.sync()
        for f in frames:
            assert no_nulls(f), f
            if "table" not in f:
                continue
            table = f["table"]
            if f["action"] == "partial":
                assert list(f) == PARTIAL_KEYS
                partial_tables.add(table)
                if table in ("position", "margin", "order", "execution"):
                    assert f["filter"] == {"account": 2031337}
                else:
                    assert f["filter"] == {}
                for symbol in CONTRACTS:
                    ready[(table, symbol)] = True
                continue
            assert list(f) == ["table", "action", "data"]
            for row in f["data"]:
                if "symbol" in row:
                    assert ready.get((table, row["symbol"])), f"{table} {f['action']} before its partial"
                else:
                    assert table in partial_tables
        assert partial_tables == set(public) | {"position", "margin", "order", "execution"}
        acted = {f["table"] for f in frames if f.get("action") in ("insert", "update", "delete")}
        assert {"orderBookL2", "orderBookL2_25", "quote", "trade", "instrument", "position", "margin"} <= acted
    async with connect(sim) as conn:  # symbol-scoped: the filter names the symbol
        await conn.subscribe("orderBookL2:SOLUSDT")
        partial, before = await conn.until(lambda f: f.get("action") == "partial")
        assert not any("table" in f for f in before)
        assert partial["filter"] == {"symbol": "SOLUSDT"}
        assert partial["keys"] == ["symbol", "id", "side"] and partial["data"]
        prices = [r["price"] for r in partial["data"]]
        assert prices == sorted(prices, reverse=True)  # Sells high to low, then Buys


# -- books ------------------------------------------------------------------------------------------------


async def test_books_equal_the_simulator_book(paused_sim: Simulator) -> None:
    full, top = L2Mirror(), L2Mirror(depth=25)
    async with connect(paused_sim) as conn:
        await conn.subscribe("orderBookL2:XBTUSD", "orderBookL2:XRPUSDT", "orderBookL2_25:XBTUSD",
                             "orderBookL2_25:SOLUSDT")
        seen_actions: set[str] = set()
        for round_ in range(41):
            if round_:
                paused_sim.step(40)
            for f in await conn.sync():
                if "table" not in f:
                    continue
                seen_actions.add(f["action"])
                (full if f["table"] == "orderBookL2" else top).apply(f)
            for side in ("Buy", "Sell"):
                for symbol in ("XBTUSD", "XRPUSDT"):
                    assert full.side(symbol, side) == sim_levels(paused_sim, symbol, side)
                for symbol in ("XBTUSD", "SOLUSDT"):
                    assert top.side(symbol, side) == sim_levels(paused_sim, symbol, side, 25)
        assert seen_actions == {"partial", "insert", "update", "delete"}


async def test_one_message_per_action_per_step(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        await conn.subscribe("orderBookL2:ETHUSDT")
        await conn.sync()
        paused_sim.step(300)
        frames = [f for f in await conn.sync() if f.get("table") == "orderBookL2"]
        assert frames
        assert any(len(f["data"]) > 1 for f in frames)  # batched, not a frame per row
        assert len(frames) <= 3  # one step batch: at most a delete, an update and an insert message


async def test_quotes_and_trades_arrive(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        await conn.subscribe("quote:XBTUSD", "trade:XBTUSD")
        quotes: list[dict[str, Any]] = []
        trades: list[dict[str, Any]] = []
        batched = False
        for _ in range(30):
            paused_sim.step(60)
            for f in await conn.sync():
                if f.get("table") == "quote" and f["action"] == "insert":
                    quotes.extend(f["data"])
                    batched |= len(f["data"]) > 1
                elif f.get("table") == "trade" and f["action"] == "insert":
                    trades.extend(f["data"])
            if quotes and len(trades) >= 3:
                break
        assert quotes and trades
        last = quotes[-1]
        assert (last["bidPrice"], float(last["bidSize"])) == sim_levels(paused_sim, "XBTUSD", "Buy", 1)[0]
        assert (last["askPrice"], float(last["askSize"])) == sim_levels(paused_sim, "XBTUSD", "Sell", 1)[0]
        assert list(last) == ["timestamp", "symbol", "bidSize", "bidPrice", "askPrice", "askSize"]
        assert batched
        for t in trades:
            assert list(t) == ["timestamp", "symbol", "side", "size", "price", "tickDirection", "trdMatchID",
                               "grossValue", "homeNotional", "foreignNotional", "trdType"]
            assert t["side"] in ("Buy", "Sell") and t["size"] > 0 and t["size"] % 100 == 0
            assert t["tickDirection"] in ("PlusTick", "MinusTick", "ZeroPlusTick", "ZeroMinusTick")
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", t["trdMatchID"])
            assert t["grossValue"] == round(t["size"] * 1e8 / t["price"])  # inverse: XBt
            assert t["foreignNotional"] == t["size"]
        assert len({t["trdMatchID"] for t in trades}) == len(trades)


# -- auth -------------------------------------------------------------------------------------------------


async def test_signature_checked_for_real(paused_sim: Simulator) -> None:
    sim = paused_sim
    async with connect(sim) as conn:
        bad = {"op": "authKeyExpires", "args": auth_args(sim, secret="not-the-secret")}
        await conn.send(bad)
        assert await conn.recv() == {"status": 401, "error": "Signature not valid.", "meta": {}, "request": bad}
        unknown = {"op": "authKeyExpires", "args": ["nosuchkey", *auth_args(sim)[1:]]}
        await conn.send(unknown)
        assert await conn.recv() == {"status": 401, "error": "Invalid API Key.", "meta": {}, "request": unknown}
        expired = {"op": "authKeyExpires", "args": auth_args(sim, expires=int(sim.clock()) - 5)}
        await conn.send(expired)
        frame = await conn.recv()
        assert frame["status"] == 401 and "expired" in frame["error"] and frame["request"] == expired
        upper = auth_args(sim)
        upper[2] = upper[2].upper()
        await conn.send({"op": "authKeyExpires", "args": upper})
        assert (await conn.recv())["error"] == "Signature not valid."
        good = {"op": "authKeyExpires", "args": auth_args(sim)}
        await conn.send(good)
        assert await conn.recv() == {"success": True, "request": good}
        await conn.send(good)
        again = await conn.recv()
        assert again["status"] == 400 and again["request"] == good


async def test_private_tables_need_auth(paused_sim: Simulator) -> None:
    sim = paused_sim
    async with connect(sim) as conn:
        req = {"op": "subscribe", "args": ["position"]}
        await conn.send(req)
        refused = await conn.recv()
        assert refused["status"] == 401 and refused["error"] == NOT_AUTHED and refused["request"] == req
        await authenticate(conn, sim)
        await conn.subscribe("position", "margin", "order", "execution")
        partials = {}
        while len(partials) < 4:
            f = await conn.recv()
            if f.get("action") == "partial":
                partials[f["table"]] = f
    assert all(r["ordStatus"] == "New" and r["leavesQty"] > 0 for r in partials["order"]["data"])
    assert partials["order"]["keys"] == ["orderID"] and partials["execution"]["keys"] == ["execID"]
    position = partials["position"]
    assert position["keys"] == ["account", "symbol", "currency"]
    rows = {r["symbol"]: r for r in position["data"]}
    xbt = rows["XBTUSD"]
    entry, mark = xbt["avgEntryPrice"], xbt["markPrice"]
    assert xbt["currency"] == "XBt" and xbt["currentQty"] == 25_000 and xbt["isOpen"] is True
    assert abs(mark - sim.market.fair["BTC:USD"]) <= 0.25
    assert xbt["unrealisedPnl"] == round(25_000 * (1 / entry - 1 / mark) * 1e8)
    assert (xbt["unrealisedPnl"] > 0) == (mark > entry)
    assert xbt["liquidationPrice"] < entry and xbt["bankruptPrice"] < xbt["liquidationPrice"]
    assert xbt["foreignNotional"] == -25_000 and xbt["homeNotional"] == pytest.approx(25_000 / mark)
    sol = rows["SOLUSDT"]
    assert sol["currency"] == "USDt" and sol["currentQty"] < 0 and sol["liquidationPrice"] > sol["avgEntryPrice"]
    expected = sol["currentQty"] / 10_000 * (sol["markPrice"] - sol["avgEntryPrice"]) * 1e6
    assert sol["unrealisedPnl"] == pytest.approx(expected, abs=1)
    margin = {r["currency"]: r for r in partials["margin"]["data"]}
    assert set(margin) == {"XBt", "USDt"} and partials["margin"]["keys"] == ["account", "currency"]
    for currency, row in margin.items():
        upnl = sum(r["unrealisedPnl"] for r in position["data"] if r["currency"] == currency)
        assert row["unrealisedPnl"] == upnl
        assert row["marginBalance"] == row["walletBalance"] + upnl
        assert 0 <= row["availableMargin"] <= row["marginBalance"]


async def test_position_updates_follow_the_mark(manual_sim: Simulator) -> None:
    sim = manual_sim
    async with connect(sim) as conn:
        await authenticate(conn, sim)
        await conn.subscribe("position:XBTUSD")
        partial, _ = await conn.until(lambda f: f.get("action") == "partial")
        assert partial["filter"] == {"account": 2031337, "symbol": "XBTUSD"}
        assert [r["symbol"] for r in partial["data"]] == ["XBTUSD"]
        start = partial["data"][0]["markPrice"]
        while round(sim.market.fair["BTC:USD"] * 2) / 2 == start:
            sim.step(20)
        await conn.sync()
        sim.advance(1.0)  # positions follow the mark about once a second
        update, _ = await conn.until(lambda f: f.get("table") == "position")
        assert update["action"] == "update"
        row = update["data"][0]
        assert {"account", "symbol", "currency", "markPrice", "unrealisedPnl", "timestamp"} <= set(row)
        assert "avgEntryPrice" not in row  # only changed fields and the keys
        assert row["markPrice"] != start


async def test_header_and_query_string_auth(paused_sim: Simulator) -> None:
    sim = paused_sim
    key, expires, sig = auth_args(sim)
    headers = {"api-key": key, "api-expires": str(expires), "api-signature": sig}
    async with connect(sim, "/realtime?subscribe=position", additional_headers=headers) as conn:
        ack = await conn.recv()
        assert ack == {"success": True, "subscribe": "position",
                       "request": {"op": "subscribe", "args": ["position"]}}
        assert (await conn.recv())["table"] == "position"
    query = urlencode({**headers, "subscribe": "margin,trade:XBTUSD"})
    async with connect(sim, f"/realtime?{query}") as conn:
        frames = [await conn.recv() for _ in range(4)]
        assert [f.get("subscribe") for f in frames[:2]] == ["margin", "trade:XBTUSD"]
        assert [f.get("table") for f in frames[2:]] == ["margin", "trade"]
    bad = dict(headers, **{"api-signature": "0" * 64})
    async with connect(sim, additional_headers=bad) as conn:
        assert await conn.recv() == {"status": 401, "error": "Signature not valid.", "meta": {}}
        await conn.send({"op": "subscribe", "args": ["margin"]})
        assert (await conn.recv())["error"] == NOT_AUTHED


async def test_cancel_all_after_and_help(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        req = {"op": "cancelAllAfter", "args": 60000}
        await conn.send(req)
        assert (await conn.recv())["status"] == 401
        await authenticate(conn, paused_sim)
        await conn.send(req)
        reply = await conn.recv()
        assert ISO.match(reply["now"]) and ISO.match(reply["cancelTime"]) and reply["request"] == req
        await conn.send({"op": "cancelAllAfter", "args": 0})
        assert (await conn.recv())["cancelTime"] == 0
        await conn.send("help")
        help_ = await conn.recv()
        assert "authKeyExpires" in help_["ops"] and "orderBookL2_25" in help_["subscriptionSubjects"]["public"]


# -- errors -----------------------------------------------------------------------------------------------


async def test_undecodable_input_gets_400_and_the_socket_lives(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        await conn.send("abc")
        frame = await conn.recv()
        assert frame == {"status": 400, "meta": {},
                         "error": "Failed to decode incoming data: Unexpected token a in JSON at position 0. "
                                  "Please see the documentation at https://www.bitmex.com/app/wsAPI."}
        await conn.send('{"op": "subscribe", "args": [')
        assert (await conn.recv())["error"].startswith("Failed to decode incoming data: Unexpected end")
        acks = await conn.subscribe("trade:XBTUSD")
        assert acks[0]["success"] is True
        await conn.send("ping")
        _, _ = await conn.until(lambda f: f == "pong")


async def test_unknown_symbol_table_op_and_duplicates(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        req = {"op": "subscribe", "args": ["orderBookL2:XBTBTC"]}
        await conn.send(req)
        assert await conn.recv() == {"status": 400, "error": "Unknown or expired symbol.", "meta": {}, "request": req}
        req = {"op": "subscribe", "args": ["tradeBin5dm"]}
        await conn.send(req)
        assert await conn.recv() == {"status": 400, "error": "Unknown table: tradeBin5dm", "meta": {},
                                     "request": req}
        req = {"op": "frobnicate", "args": []}
        await conn.send(req)
        frame = await conn.recv()
        assert frame["status"] == 400 and frame["request"] == req
        await conn.subscribe("trade")
        req = {"op": "subscribe", "args": ["trade:XBTUSD"]}
        await conn.send(req)
        frame, _ = await conn.until(lambda f: "status" in f)
        assert frame == {"status": 400, "error": "You are already subscribed to this topic: trade:XBTUSD",
                         "meta": {}, "request": req}
        req = {"op": "subscribe", "args": ["quote:XBTUSD", "quote:NOPE", "quote:XBTUSD"]}
        await conn.send(req)
        frames = await conn.sync()
        assert [f.get("subscribe") or f.get("error") for f in frames if "table" not in f] == [
            "quote:XBTUSD", "Unknown or expired symbol.", "You are already subscribed to this topic: quote:XBTUSD"]


# -- faults -----------------------------------------------------------------------------------------------


async def test_early_deltas_come_before_the_partial(paused_sim: Simulator) -> None:
    paused_sim.faults.arm("early_deltas", "bitmex")
    async with connect(paused_sim) as conn:
        await conn.subscribe("orderBookL2_25:XBTUSD")
        partial, before = await conn.until(lambda f: f.get("action") == "partial")
        early = [f for f in before if "table" in f]
        assert {f["action"] for f in early} >= {"update", "insert"}
        partial_ids = {r["id"] for r in partial["data"]}
        assert not partial_ids & {r["id"] for f in early for r in f["data"]}
        mirror = L2Mirror(depth=25)
        for f in early:  # a correct client drops these
            mirror.apply(f)
        assert not mirror.rows
        mirror.apply(partial)
        paused_sim.step(200)
        for f in await conn.sync():
            mirror.apply(f)
        for side in ("Buy", "Sell"):
            assert mirror.side("XBTUSD", side) == sim_levels(paused_sim, "XBTUSD", side, 25)
        await conn.subscribe("orderBookL2_25:ETHUSDT")  # taken once
        _, before = await conn.until(lambda f: f.get("action") == "partial")
        assert not [f for f in before if "table" in f]


async def test_unknown_id_fault(paused_sim: Simulator) -> None:
    async with connect(paused_sim) as conn:
        await conn.subscribe("orderBookL2_25:XBTUSD", "orderBookL2:ETHUSDT")
        ids: set[int] = set()
        for _ in range(2):
            partial, _ = await conn.until(lambda f: f.get("action") == "partial")
            ids |= {r["id"] for r in partial["data"]}
        assert paused_sim.faults.apply("unknown_id", "bitmex") == 1  # connections that got one
        frames = [f for f in await conn.sync() if "table" in f]
        assert sorted(f["table"] for f in frames) == ["orderBookL2", "orderBookL2_25"]
        for f in frames:
            assert f["action"] == "update" and len(f["data"]) == 1
            row = f["data"][0]
            assert row["id"] not in ids and "price" in row


async def test_a_stalled_pair_is_delayed_never_dropped(manual_sim: Simulator) -> None:
    """While a pair is stalled nothing of it is sent; then its books catch up with their net change, its quote
    with the top as it is, and its trades arrive in order, none lost."""
    sim = manual_sim
    top = L2Mirror(depth=25)
    async with connect(sim) as conn:
        await conn.subscribe("orderBookL2_25:XBTUSD", "orderBookL2_25:ETHUSDT", "trade:XBTUSD", "quote:XBTUSD")
        for f in await conn.sync():
            if f.get("table", "").startswith("orderBookL2"):
                top.apply(f)
        assert sim.faults.stall("bitmex", seconds=0.4, pair="BTC:USD") == 1
        made: list[SimTrade] = []
        for _ in range(4):
            events = sim.step(100)
            made += [e for e in events if isinstance(e, SimTrade) and e.venue == "bitmex" and e.pair == "BTC:USD"]
        during = [f for f in await conn.sync() if "table" in f]
        assert {r["symbol"] for f in during for r in f["data"]} == {"ETHUSDT"}
        assert made, "the market traded XBTUSD during the stall"
        for f in during:
            top.apply(f)
        sim.advance(0.4)  # the stall ends
        after = [f for f in await conn.sync() if "table" in f]
        for f in after:
            if f["table"].startswith("orderBookL2"):
                top.apply(f)
        trades = [r for f in after if f["table"] == "trade" for r in f["data"]]
        assert [(t["price"], t["size"]) for t in trades] == [(t.price, int(t.size)) for t in made]
        quotes = [r for f in after if f["table"] == "quote" for r in f["data"]]
        assert quotes and (quotes[-1]["bidPrice"], float(quotes[-1]["bidSize"])) == sim_levels(
            sim, "XBTUSD", "Buy", 1)[0]
        for symbol in ("XBTUSD", "ETHUSDT"):
            for side in ("Buy", "Sell"):
                assert top.side(symbol, side) == sim_levels(sim, symbol, side, 25)


# -- time and determinism ---------------------------------------------------------------------------------


async def test_trade_bins_close_each_minute() -> None:
    now = [float(int(time.time()) // 60 * 60 + 5)]
    async with Simulator(seed=5, rate=0, clock=lambda: now[0], settings=SimSettings(manual_time=True)) as sim:
        async with connect(sim) as conn:
            await conn.subscribe("tradeBin1m:XBTUSD", "trade:XBTUSD")
            partial, _ = await conn.until(lambda f: f.get("table") == "tradeBin1m")
            assert partial["data"][0]["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(now[0]))
            trades: list[dict[str, Any]] = []
            while len(trades) < 3:
                sim.step(25)
                for f in await conn.sync():
                    if f.get("table") == "trade" and f["action"] == "insert":
                        trades.extend(f["data"])
            start = now[0] - 5
            now[0] = start + 61
            sim.advance(0.1)  # the venue's next timer sees the new minute
            frame, _ = await conn.until(lambda f: f.get("table") == "tradeBin1m")
        assert frame["action"] == "insert"
        row = frame["data"][0]
        assert row["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(start + 60))  # bin END
        assert row["trades"] == len(trades) and row["volume"] == sum(t["size"] for t in trades)
        assert row["open"] == trades[0]["price"] and row["close"] == trades[-1]["price"]
        assert row["high"] == max(t["price"] for t in trades) and row["low"] == min(t["price"] for t in trades)
        assert row["turnover"] == sum(t["grossValue"] for t in trades) and row["lastSize"] == trades[-1]["size"]


async def _session(sim: Simulator) -> list[str]:
    out: list[str] = []
    async with websockets.connect(sim.base_url("bitmex") + "/realtime", open_timeout=5) as ws:
        conn = Conn(ws)
        out.append(orjson.dumps(await conn.recv()).decode())
        await conn.send({"op": "subscribe", "args": ["orderBookL2:XBTUSD", "orderBookL2_25:ETHUSDT", "quote",
                                                     "trade"]})
        for _ in range(12):
            sim.step(50)
            out.extend(orjson.dumps(f).decode() for f in await conn.sync())
    return [ISO_ANY.sub("T", line) for line in out]


async def test_same_seed_same_frames(paused_sim: Simulator) -> None:
    async with Simulator(seed=11, rate=0) as twin:
        first = await _session(paused_sim)
        second = await _session(twin)
    assert len(first) > 20
    for table in ("orderBookL2", "orderBookL2_25", "quote", "trade"):
        assert any(f'"table":"{table}","action":"insert"' in line for line in first), table
    assert first == second


# -- the account, as pure data ----------------------------------------------------------------------------


def test_account_rows_follow_marks() -> None:
    start = {"XBTUSD": 97250.0, "ETHUSDT": 3452.0, "SOLUSDT": 182.4}
    account = Account.demo(start)
    ts = "2025-01-01T00:00:00.000Z"
    at_start = {r["symbol"]: r for r in account.position_rows(start, ts)}
    higher = {r["symbol"]: r for r in account.position_rows({s: p * 1.01 for s, p in start.items()}, ts)}
    for symbol, row in at_start.items():
        qty = row["currentQty"]
        assert (higher[symbol]["unrealisedPnl"] > row["unrealisedPnl"]) == (qty > 0)
        assert row["maintMargin"] == row["posMargin"] + row["unrealisedPnl"]
        assert isinstance(row["unrealisedPnl"], int) and isinstance(row["markValue"], int)
        if qty > 0:
            assert row["bankruptPrice"] < row["liquidationPrice"] < row["avgEntryPrice"]
        else:
            assert row["bankruptPrice"] > row["liquidationPrice"] > row["avgEntryPrice"]
    xbt = at_start["XBTUSD"]
    assert xbt["unrealisedPnl"] == round(25_000 * (1 / xbt["avgEntryPrice"] - 1 / 97250) * 1e8) > 0
    assert xbt["markValue"] < 0 and xbt["posCost"] < 0  # BitMEX's inverse sign
    eth = at_start["ETHUSDT"]
    assert eth["unrealisedPnl"] == round(eth["currentQty"] / 100_000 * (3452 - eth["avgEntryPrice"]) * 1e6)
    margins = {r["currency"]: r for r in account.margin_rows(start, ts)}
    assert margins["USDt"]["unrealisedPnl"] == at_start["ETHUSDT"]["unrealisedPnl"] + \
        at_start["SOLUSDT"]["unrealisedPnl"]
    assert margins["XBt"]["marginBalance"] == margins["XBt"]["walletBalance"] + xbt["unrealisedPnl"]
