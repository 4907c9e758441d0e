"""The simulator's FinX tick plant, checked frame by frame against the reference (part A, choices of section C)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from finxtui.sim.credentials import DEMO_FINX_KEY
from finxtui.sim.finx import deribit_contracts
from finxtui.sim.finx.history import TickHistory
from finxtui.sim.instruments import FINX_EXCHANGES, SIM_PAIRS
from finxtui.sim.market import SimTick
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from finxtui.wire.finx import PAGE_ROWS, parse_clock
from tests.sim.wsclient import Client

KEY = DEMO_FINX_KEY
ROW_KEYS = ["pair", "date", "time", "exchange", "price"]
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_RE = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3}Z")
KEEP_ALIVE = {"APIKey": KEY, "functionName": "keepAlive"}


def sdk_frame(**fields: Any) -> str:
    """A request exactly as FinX's SDK writes it: ``json.dumps`` with its ``", "`` and ``": "`` separators."""
    return json.dumps(fields)


def check_row(row: dict[str, Any], pair: str) -> None:
    assert list(row) == ROW_KEYS, row
    assert row["pair"] == pair
    assert DATE_RE.fullmatch(row["date"]) and TIME_RE.fullmatch(row["time"]), row
    assert row["exchange"] in FINX_EXCHANGES
    assert isinstance(row["price"], str) and float(row["price"]) > 0


def utc_text(ms: int) -> tuple[str, str]:
    """The date and time FinX writes for an epoch-millisecond instant (computed here without project code)."""
    at = datetime.fromtimestamp(ms / 1000, UTC)
    return at.date().isoformat(), f"{at:%H:%M:%S}.{ms % 1000:03d}Z"


def row_key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return row["date"], row["time"], row["exchange"], row["price"]


async def ready(client: Client) -> None:
    """A round trip, so the server has run the socket's open step (subscriptions) before the test steps."""
    assert await sync(client) == []


async def sync(client: Client) -> list[Any]:
    """Every frame the venue wrote before it read our keepAlive (it answers in order)."""
    return await client.until_reply(KEEP_ALIVE, lambda f: f == {"keepAlive": True})


async def close_code(client: Client, timeout: float = 5.0) -> tuple[int | None, list[Any]]:
    """Read until the server closes; the close code and the frames read before it."""
    frames: list[Any] = []
    assert client.ws is not None
    try:
        async with asyncio.timeout(timeout):
            while True:
                frames.append(json.loads(await client.ws.recv()))
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd is not None else None), frames


def past_day(sim: Simulator, days: int = 2) -> date:
    return sim.finx.history.today() - timedelta(days=days)


def stepped_ticks(sim: Simulator, pair: str, n: int) -> list[SimTick]:
    ticks = [e for e in sim.step(n) if isinstance(e, SimTick) and e.pair == pair]
    assert ticks, "the market produced no tick: step more"
    return ticks


# -- streams ------------------------------------------------------------------------------------------


async def test_stream_pushes_every_tick_of_its_pair_wrapped_with_string_prices(paused_sim: Simulator) -> None:
    async with Client(paused_sim.base_url("finx") + f"/streaming/{KEY}/BTC:USD") as client:
        await ready(client)
        ticks = stepped_ticks(paused_sim, "BTC:USD", 4000)
        frames = await sync(client)
    for frame, tick in zip(frames, ticks, strict=True):
        assert list(frame) == ["results", "resultData"] and frame["results"] == "streaming"
        row = frame["resultData"]
        check_row(row, "BTC:USD")
        assert row["price"] == tick.price_text and row["exchange"] == tick.exchange
        assert (row["date"], row["time"]) == utc_text(round(tick.ts * 1000))


async def test_several_pairs_take_several_sockets(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx")
    async with Client(f"{base}/streaming/{KEY}/ETH:USD") as eth, Client(f"{base}/streamer/{KEY}/SOL:USD") as sol:
        await ready(eth)
        await ready(sol)
        events = paused_sim.step(6000)
        want = {p: [e.price_text for e in events if isinstance(e, SimTick) and e.pair == p]
                for p in ("ETH:USD", "SOL:USD")}
        assert want["ETH:USD"] and want["SOL:USD"]
        got_eth = [f["resultData"] for f in await sync(eth)]
        got_sol = [f["resultData"] for f in await sync(sol)]
    assert [r["price"] for r in got_eth] == want["ETH:USD"] and {r["pair"] for r in got_eth} == {"ETH:USD"}
    assert [r["price"] for r in got_sol] == want["SOL:USD"] and {r["pair"] for r in got_sol} == {"SOL:USD"}


async def test_sdk_streamer_session_is_answered_one_frame_per_poll(paused_sim: Simulator) -> None:
    async with Client(paused_sim.url + f"/streamer/{KEY}/XRP:USD") as client:  # the SDK's path, no prefix
        await client.send(sdk_frame(APIKey=KEY, functionName="authenticate"))
        assert await client.recv() == {"isAuth": True}
        await client.send(sdk_frame(message="message", APIKey=KEY))
        first = await client.recv()
        assert first["results"] == "streaming"
        check_row(first["resultData"], "XRP:USD")
        await client.send(sdk_frame(message={"pair": "XRP:USD"}, APIKey=KEY))
        assert await client.recv() == first  # the market has not moved: the same latest tick
        tick = stepped_ticks(paused_sim, "XRP:USD", 6000)[-1]
        pushed = await sync(client)
        assert pushed and pushed[-1]["resultData"]["price"] == tick.price_text
        await client.send(sdk_frame(message={"pair": "XRP:USD"}, APIKey=KEY))
        assert await client.recv() == pushed[-1]


@pytest.mark.parametrize("path", ["/finx/streaming/wrong-key/BTC:USD", "/streamer/wrong-key/BTC:USD",
                                  "/finx/streamer/wrong-key", "/finx/streaming//BTC:USD"])
async def test_bad_key_in_the_url_gets_isauth_false_and_close_1008(sim: Simulator, path: str) -> None:
    async with Client(sim.url + path) as client:
        code, frames = await close_code(client)
    assert frames == [{"isAuth": False}] and code == 1008


async def test_unknown_stream_pair_gets_an_error_and_close_1008(sim: Simulator) -> None:
    async with Client(sim.base_url("finx") + f"/streaming/{KEY}/FOO:BAR") as client:
        code, frames = await close_code(client)
    assert frames == [{"error": "unknown pair: FOO:BAR"}] and code == 1008


# -- functions in the query string --------------------------------------------------------------------


async def test_query_string_functions_push_one_frame_then_answer_json(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx") + "/backend/"
    day = past_day(paused_sim).isoformat()
    async with Client(f"{base}?functionName=authenticate&APIKey={KEY}") as client:
        assert await client.recv() == {"isAuth": True}
        assert await sync(client) == [], "one frame, then only replies"
    async with Client(f"{base}?functionName=tickSnap&APIKey={KEY}&pair=ETH:USD&date={day}&time=12:00") as client:
        snap = await client.recv()
        check_row(snap, "ETH:USD")
        assert snap["date"] == day and snap["time"] <= "12:00:00.000Z"
        assert await sync(client) == []
        await client.send({"APIKey": KEY, "functionName": "authenticate"})
        assert await client.recv() == {"isAuth": True}
    async with Client(f"{base}?functionName=tickHistory&APIKey={KEY}&pair=ETH:USD&date={day}&time=06:30") as client:
        page = await client.recv()
        assert len(page) == PAGE_ROWS and all(r["date"] == day and r["time"] > "06:30" for r in page.values())
        assert await sync(client) == []
        await client.send({"APIKey": KEY, "functionName": "tickSnap", "pair": "ETH:USD"})
        check_row(await client.recv(), "ETH:USD")


async def test_backend_without_function_name_authenticates_or_snaps(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx") + "/backend"
    async with Client(f"{base}/?APIKey={KEY}") as client:
        assert await client.recv() == {"isAuth": True}
    async with Client(f"{base}/?APIKey={KEY}&pair=BTC:USD") as client:
        check_row(await client.recv(), "BTC:USD")
    async with Client(f"{base}/tick/snap?APIKey={KEY}&pair=SOL:USD") as client:
        check_row(await client.recv(), "SOL:USD")
    async with Client(f"{base}/") as client:  # nothing asked in the URL: nothing pushed, JSON functions work
        assert await sync(client) == []
        await client.send({"APIKey": KEY, "functionName": "authenticate"})
        assert await client.recv() == {"isAuth": True}


@pytest.mark.parametrize("function", ["authenticate", "tickSnap", "tickHistory"])
async def test_backend_bad_key_gets_isauth_false_and_close_1008(sim: Simulator, function: str) -> None:
    url = sim.base_url("finx") + f"/backend/?functionName={function}&APIKey=nope&pair=BTC:USD"
    async with Client(url) as client:
        code, frames = await close_code(client)
    assert frames == [{"isAuth": False}] and code == 1008


async def test_backend_query_errors_keep_the_socket(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx") + "/backend/"
    async with Client(f"{base}?functionName=tickHistory&APIKey={KEY}") as client:
        assert await client.recv() == {"error": 'missing "pair" parameter'}
        await ready(client)
    async with Client(f"{base}?functionName=explode&APIKey={KEY}") as client:
        assert await client.recv() == {"error": "unknown functionName: explode"}
        await ready(client)


# -- JSON functions on an open socket -----------------------------------------------------------------


async def test_sdk_tickplant_frames_get_one_reply_each_in_order(paused_sim: Simulator) -> None:
    day = past_day(paused_sim).isoformat()
    requests = [
        sdk_frame(APIKey=KEY, functionName="authenticate"),
        sdk_frame(APIKey=KEY, pair="BTC:USD", functionName="tickSnap"),
        sdk_frame(pair="BTC:USD", date=day, time="00:00", functionName="tickHistory", APIKey=KEY),
        sdk_frame(functionName="listDeribitContracts", APIKey=KEY),
        sdk_frame(APIKey=KEY, functionName="keepAlive"),
    ]
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        for request in requests:  # all in flight at once: the replies still come one each, in order
            await client.send(request)
        replies = [await client.recv() for _ in requests]
        assert await sync(client) == []
    assert replies[0] == {"isAuth": True}
    check_row(replies[1], "BTC:USD")
    assert len(replies[2]) == PAGE_ROWS and all(r["date"] == day for r in replies[2].values())
    contracts = replies[3]
    assert isinstance(contracts, list) and all(isinstance(c, str) for c in contracts)
    assert "BTC-PERPETUAL" in contracts and "BTC_USDC-PERPETUAL" in contracts
    assert any(re.fullmatch(r"BTC-\d{1,2}[A-Z]{3}\d{2}-\d+-[CP]", c) for c in contracts)
    assert any(re.fullmatch(r"ETH-\d{1,2}[A-Z]{3}\d{2}", c) for c in contracts)
    assert replies[4] == {"keepAlive": True}


async def test_json_functions_work_on_every_socket_kind(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx")
    for path in (f"/streamer/{KEY}", f"/streaming/{KEY}", "/backend/", f"/streaming/{KEY}/BTC:USD"):
        async with Client(base + path) as client:
            await client.send(sdk_frame(APIKey=KEY, functionName="authenticate"))
            assert await client.recv() == {"isAuth": True}, path
            await client.send(sdk_frame(APIKey=KEY, pair="SOL:USD", functionName="tickSnap"))
            check_row(await client.recv(), "SOL:USD")


async def test_unknown_function_and_malformed_frames_get_errors_and_the_socket_keeps_working(
        sim: Simulator) -> None:
    async with Client(sim.base_url("finx") + f"/streamer/{KEY}") as client:
        await client.send({"APIKey": KEY, "functionName": "getFiveMinMatrix"})
        assert await client.recv() == {"error": "unknown functionName: getFiveMinMatrix"}
        for bad in ("not json", '{"APIKey": ', "[1, 2]", "42"):
            await client.send(bad)
            reply = await client.recv()
            assert list(reply) == ["error"] and reply["error"].startswith("malformed request: "), (bad, reply)
        await client.send({"APIKey": KEY})
        assert (await client.recv())["error"].startswith("malformed request: ")
        await client.send({"APIKey": KEY, "functionName": "tickSnap"})
        assert await client.recv() == {"error": 'missing "pair" parameter'}
        await client.send({"APIKey": KEY, "functionName": "tickHistory", "pair": "BTC:USD", "date": "15/06/2022"})
        assert "invalid date" in (await client.recv())["error"]
        await client.send({"APIKey": KEY, "functionName": "tickHistory", "pair": "BTC:USD", "time": "25:00"})
        assert "invalid time" in (await client.recv())["error"]
        await client.send({"APIKey": KEY, "functionName": "authenticate"})
        assert await client.recv() == {"isAuth": True}


async def test_bad_key_on_a_function_closes_1008(sim: Simulator) -> None:
    async with Client(sim.base_url("finx") + f"/streamer/{KEY}") as client:
        await client.send({"APIKey": KEY, "functionName": "authenticate"})
        assert await client.recv() == {"isAuth": True}
        await client.send({"APIKey": "stolen", "pair": "BTC:USD", "functionName": "tickHistory"})
        code, frames = await close_code(client)
    assert frames == [{"isAuth": False}] and code == 1008


async def test_unknown_pair_gives_empty_snap_and_history(sim: Simulator) -> None:
    async with Client(sim.base_url("finx") + f"/streamer/{KEY}") as client:
        await client.send({"APIKey": KEY, "functionName": "tickSnap", "pair": "FOO:BAR"})
        assert await client.recv() == {}
        await client.send({"APIKey": KEY, "functionName": "tickHistory", "pair": "FOO:BAR", "date": "2024-01-02"})
        assert await client.recv() == {}


async def test_get_spot_rates_answers_then_pushes_the_flat_form(paused_sim: Simulator) -> None:
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        await client.send(sdk_frame(APIKey=KEY, functionName="getSpotRates", pair="XRP:USD"))
        first = await client.recv()
        ticks = stepped_ticks(paused_sim, "XRP:USD", 6000)
        pushed = await sync(client)
        await client.send({"APIKey": KEY, "functionName": "getSpotRates", "pair": "DOGE:USD"})
        assert await client.recv() == {"error": "unknown pair: DOGE:USD"}
    for frame in [first, *pushed]:
        assert list(frame) == ["pair", "unixDate", "UTCDate", "exchange", "price"]
        assert frame["pair"] == "XRP:USD" and isinstance(frame["unixDate"], int)
        assert isinstance(frame["price"], str) and frame["exchange"] in FINX_EXCHANGES
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", frame["UTCDate"])
    assert [f["price"] for f in pushed] == [t.price_text for t in ticks]
    assert [f["unixDate"] for f in pushed] == [round(t.ts * 1000) // 1000 for t in ticks]


# -- tick history -------------------------------------------------------------------------------------


async def history_request(client: Client, pair: str, day: str | None, time: str | None) -> dict[str, Any]:
    req: dict[str, Any] = {"pair": pair, "functionName": "tickHistory", "APIKey": KEY}
    if day is not None:
        req["date"] = day
    if time is not None:
        req["time"] = time
    await client.send(req)
    return await client.recv(timeout=10)


async def test_history_page_is_1000_unsorted_rows_of_the_day_after_time(paused_sim: Simulator) -> None:
    day = past_day(paused_sim)
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        page = await history_request(client, "SOL:USD", day.isoformat(), "09:15")
    assert list(page) == [str(i) for i in range(PAGE_ROWS)]
    rows = list(page.values())
    for row in rows:
        check_row(row, "SOL:USD")
    assert all(r["date"] == day.isoformat() and r["time"] > "09:15:00.000Z" for r in rows)
    times = [r["time"] for r in rows]
    assert times != sorted(times) and times != sorted(times, reverse=True)
    expected = paused_sim.finx.history.after("SOL:USD", day, parse_clock("09:15"))
    assert sorted(rows, key=row_key) == expected  # the earliest 1000 after the time, every one


async def test_paging_a_whole_past_day_gives_every_row_exactly_once(paused_sim: Simulator) -> None:
    day = past_day(paused_sim, 3)
    full = paused_sim.finx.history.rows("BTC:USD", day)
    assert len(full) > 5 * PAGE_ROWS
    seen: list[dict[str, str]] = []
    last = "00:00"
    pages = 0
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        while True:
            page = await history_request(client, "BTC:USD", day.isoformat(), last)
            pages += 1
            seen.extend(page.values())
            if len(page) < PAGE_ROWS:
                break
            last = max(r["time"] for r in page.values())
            assert pages < 100
    assert pages == len(full) // PAGE_ROWS + 1
    assert sorted(seen, key=row_key) == full  # each row once, none missing, none from another day


async def test_history_stays_within_its_day(paused_sim: Simulator) -> None:
    history = paused_sim.finx.history
    today = history.today()
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        late = await history_request(client, "ETH:USD", past_day(paused_sim).isoformat(), "23:59:00")
        assert 0 < len(late) < 20 and {r["date"] for r in late.values()} == {past_day(paused_sim).isoformat()}
        assert await history_request(client, "ETH:USD", past_day(paused_sim).isoformat(), "23:59:59.999") == {}
        for future in (today + timedelta(days=1), today + timedelta(days=400)):
            assert await history_request(client, "ETH:USD", future.isoformat(), "00:00") == {}
        now = await history_request(client, "ETH:USD", None, None)  # no date: today, no time: from 00:00
        assert all(r["date"] == today.isoformat() for r in now.values())
        assert sorted(now.values(), key=row_key) == history.after("ETH:USD", today, None)


@pytest.mark.parametrize("text", ["10:00", "10:00Z", "10:00:00", "10:00:00Z", "10:00:00.000", "10:00:00.000Z"])
async def test_history_accepts_every_time_format(paused_sim: Simulator, text: str) -> None:
    day = past_day(paused_sim)
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        page = await history_request(client, "XRP:USD", day.isoformat(), text)
    rows = sorted(page.values(), key=row_key)
    assert rows == paused_sim.finx.history.after("XRP:USD", day, 10 * 3_600_000)
    assert rows[0]["time"] > "10:00:00.000Z"


async def test_history_time_is_strict_to_the_millisecond(paused_sim: Simulator) -> None:
    day = past_day(paused_sim)
    full = paused_sim.finx.history.rows("BTC:USD", day)
    pivot = full[2500]["time"]  # a row's own time: that row is not "after" it
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000
    pivot_ms = round(datetime.fromisoformat(f"{day}T{pivot[:-1]}+00:00").timestamp() * 1000 - start)
    a_ms_before = utc_text(round(start) + pivot_ms - 1)[1]
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        page = await history_request(client, "BTC:USD", day.isoformat(), pivot)
        just_before = await history_request(client, "BTC:USD", day.isoformat(), a_ms_before)
    assert sorted(page.values(), key=row_key) == full[2501:2501 + PAGE_ROWS]
    assert sorted(just_before.values(), key=row_key) == full[2500:2500 + PAGE_ROWS]


async def test_tick_snap_is_the_latest_tick_at_or_before_the_instant(paused_sim: Simulator) -> None:
    history = paused_sim.finx.history
    day = past_day(paused_sim)
    rows = history.rows("ETH:USD", day)
    noon = [r for r in rows if r["time"] <= "12:00:00.000Z"][-1]
    async with Client(paused_sim.base_url("finx") + f"/streamer/{KEY}") as client:
        await client.send({"APIKey": KEY, "functionName": "tickSnap", "pair": "ETH:USD", "date": day.isoformat(),
                           "time": "12:00:00.000Z"})
        assert await client.recv() == noon
        await client.send({"APIKey": KEY, "functionName": "tickSnap", "pair": "ETH:USD", "date": day.isoformat(),
                           "time": noon["time"]})
        assert await client.recv() == noon  # "at or before"
        tick = stepped_ticks(paused_sim, "ETH:USD", 6000)[-1]
        await client.send({"APIKey": KEY, "functionName": "tickSnap", "pair": "ETH:USD"})
        latest = await client.recv()
    assert latest["price"] == tick.price_text and latest["exchange"] == tick.exchange


async def test_today_runs_into_the_live_market_and_records_each_tick_once(paused_sim: Simulator) -> None:
    base = paused_sim.base_url("finx")
    history = paused_sim.finx.history
    today = history.today()
    synthetic = history.rows("BTC:USD", today)
    if synthetic:  # (empty only in the first seconds after midnight UTC)
        assert abs(float(synthetic[-1]["price"]) / paused_sim.market.fair["BTC:USD"] - 1) < 1e-3
    async with Client(f"{base}/streaming/{KEY}/BTC:USD") as a, Client(f"{base}/streaming/{KEY}/BTC:USD") as b, \
            Client(f"{base}/streamer/{KEY}") as c:
        for client in (a, b, c):
            await ready(client)
        await c.send({"APIKey": KEY, "functionName": "getSpotRates", "pair": "BTC:USD"})
        await c.recv()
        ticks = stepped_ticks(paused_sim, "BTC:USD", 4000)
        streamed = [(await a.recv())["resultData"] for _ in ticks]
        assert [(await b.recv())["resultData"] for _ in ticks] == streamed
        assert [(await c.recv())["price"] for _ in ticks] == [r["price"] for r in streamed]
    rows = history.rows("BTC:USD", today)
    assert rows[len(synthetic):] == streamed  # every live tick once, as it was streamed, after the synthetic ones


async def test_history_is_deterministic_by_seed_and_day() -> None:
    pairs = [p for p in SIM_PAIRS if ":" in p.pair]
    day = date(2024, 3, 9)
    a = TickHistory(11, pairs, anchor_ts=1_750_000_000.0)
    b = TickHistory(11, pairs, anchor_ts=1_760_000_123.4, anchor_prices={"BTC:USD": 50_000.0})
    c = TickHistory(12, pairs, anchor_ts=1_750_000_000.0)
    assert a.rows("BTC:USD", day) == b.rows("BTC:USD", day)
    assert a.page("BTC:USD", day, 3_600_000) == b.page("BTC:USD", day, 3_600_000)
    assert a.rows("BTC:USD", day) != c.rows("BTC:USD", day)
    # days join up: the day after opens near where this one closed
    last = float(a.rows("BTC:USD", day)[-1]["price"])
    first = float(a.rows("BTC:USD", day + timedelta(days=1))[0]["price"])
    assert abs(first / last - 1) < 0.01
    # the anchor's day stops before the anchor and ends at the anchor price; later days are empty
    anchor_day = date(2025, 6, 15)  # 1_750_000_000 is 2025-06-15 15:06:40 UTC
    rows = a.rows("ETH:USD", anchor_day)
    assert rows and rows[-1]["time"] < "15:06:40.000Z"
    assert abs(float(rows[-1]["price"]) / 3452.0 - 1) < 1e-3
    assert a.rows("ETH:USD", anchor_day + timedelta(days=1)) == []


async def test_same_seed_serves_the_same_history(paused_sim: Simulator) -> None:
    day = past_day(paused_sim).isoformat()
    pages = []
    for _ in range(2):
        async with Simulator(seed=11, rate=0) as other, Client(other.base_url("finx") + f"/streamer/{KEY}") as c:
            pages.append(await history_request(c, "ETH:USD", day, "13:00"))
    assert pages[0] == pages[1] and len(pages[0]) == PAGE_ROWS


# -- keepAlive and the idle limit ---------------------------------------------------------------------


async def test_keep_alive_holds_an_idle_socket_open() -> None:
    settings = SimSettings(finx_idle_limit=0.6, manual_time=True)  # FinX's 300 s, shortened for the test
    async with Simulator(seed=11, rate=0, settings=settings) as sim, \
            Client(sim.base_url("finx") + f"/streamer/{KEY}") as client:
        for _ in range(6):  # 1.5 s in all, well past the limit, with a keepAlive every 0.25 s
            sim.advance(0.25)
            await client.send(sdk_frame(APIKey=KEY, functionName="keepAlive"))
            assert await client.recv() == {"keepAlive": True}
        sim.advance(0.7)
        code, frames = await close_code(client, timeout=3)
    assert frames == [] and code == 1001


async def test_pushed_ticks_do_not_count_against_the_idle_limit() -> None:
    settings = SimSettings(finx_idle_limit=0.8, manual_time=True)
    async with Simulator(seed=11, rate=400, settings=settings) as sim, \
            Client(sim.base_url("finx") + f"/streaming/{KEY}/BTC:USD") as client:
        await ready(client)
        sim.advance(0.7)  # the market moves at its rate: ticks are pushed
        assert all(f["results"] == "streaming" for f in await sync(client))
        sim.advance(1.0)  # no client frame for 1.0 s
        code, frames = await close_code(client, timeout=3)
    assert code == 1001
    assert frames and all(f["results"] == "streaming" for f in frames)


def test_deribit_contracts_roll_with_the_clock() -> None:
    # 2022-08-05 was a Friday; at 09:00 UTC that day's expiries have gone.
    names = deribit_contracts(1_659_690_000.0, {"BTC:USD": 23_000.0, "ETH:USD": 1_650.0})
    assert "BTC-5AUG22-23000-C" not in names and "BTC-6AUG22-23000-C" in names
    assert "BTC-12AUG22" in names and "BTC-26AUG22" in names and "BTC-30SEP22" in names
    assert "ETH-6AUG22-1650-P" in names and "ETH-6AUG22" not in names  # dailies have options only
    assert len(names) == len(set(names))
