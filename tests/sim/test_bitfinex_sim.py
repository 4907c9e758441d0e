"""The simulator's Bitfinex v2 protocol, checked frame by frame against the reference (part A)."""

from __future__ import annotations

import asyncio
import zlib

import pytest
from websockets.exceptions import ConnectionClosed

from finxtui.sim.server import Simulator
from tests.sim.wsclient import Client

CHECKSUM_AND_SEQ = 131072 + 65536
BOOK = {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0", "freq": "F0", "len": "25"}


def js_text(x: float) -> str:
    """What JavaScript's String() gives for the simulator's values (no exponents occur)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def independent_checksum(bids: dict[float, float], asks: dict[float, float]) -> int:
    """The reference algorithm (A8), written here without the project's code."""
    b = sorted(bids.items(), reverse=True)[:25]
    a = sorted(asks.items())[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(b):
            parts += [js_text(b[i][0]), js_text(b[i][1])]
        if i < len(a):
            parts += [js_text(a[i][0]), js_text(-a[i][1])]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 2**32 if crc >= 2**31 else crc


class BookMirror:
    """A client book kept with the P0 rules of A5, per channel."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def snapshot(self, entries: list) -> None:
        self.bids.clear()
        self.asks.clear()
        for entry in entries:
            self.update(entry)

    def update(self, entry: list) -> None:
        price, count, amount = entry
        if count > 0:
            (self.bids if amount > 0 else self.asks)[price] = abs(amount)
        else:
            assert amount in (1, -1), entry
            (self.bids if amount == 1 else self.asks).pop(price, None)


async def open_bitfinex(sim: Simulator, flags: int | None = CHECKSUM_AND_SEQ) -> Client:
    client = await Client(sim.base_url("bitfinex") + "/ws/2").__aenter__()
    info = await client.recv()
    assert info["event"] == "info" and info["version"] == 2 and info["platform"] == {"status": 1}
    if flags is not None:
        await client.send({"event": "conf", "flags": flags})
        assert await client.recv() == {"event": "conf", "status": "OK", "flags": flags}
    return client


async def test_info_then_conf_then_book_snapshot_layout(sim: Simulator) -> None:
    client = await open_bitfinex(sim)
    await client.send(dict(BOOK, subId=7))
    ack = await client.recv()
    assert ack == {"event": "subscribed", "channel": "book", "chanId": ack["chanId"], "symbol": "tBTCUSD",
                   "prec": "P0", "freq": "F0", "len": "25", "subId": 7, "pair": "BTCUSD"}
    snap = await client.recv()
    assert snap[0] == ack["chanId"] and snap[-1] == 1  # the first array frame is sequence 1
    entries = snap[1]
    bids = [e for e in entries if e[2] > 0]
    asks = [e for e in entries if e[2] < 0]
    assert entries == bids + asks, "bids first, then asks"
    assert [e[0] for e in bids] == sorted((e[0] for e in bids), reverse=True)
    assert [e[0] for e in asks] == sorted(e[0] for e in asks)
    assert len(bids) == len(asks) == 25
    assert bids[0][0] < asks[0][0]
    assert all(e[1] > 0 for e in entries)
    await client.__aexit__()


async def test_every_checksum_matches_an_independent_book_and_sequence_is_continuous(sim: Simulator) -> None:
    client = await open_bitfinex(sim)
    await client.send(BOOK)
    await client.send({"event": "subscribe", "channel": "trades", "symbol": "tBTCUSD"})
    chan = None
    mirror = BookMirror()
    seq = 0
    checksums = updates = 0
    async with asyncio.timeout(20):
        while checksums < 12:
            frame = await client.recv()
            if isinstance(frame, dict):
                if frame.get("event") == "subscribed" and frame["channel"] == "book":
                    chan = frame["chanId"]
                continue
            assert frame[-1] == seq + 1, f"sequence gap before {frame}"
            seq = frame[-1]
            if frame[0] != chan or frame[1] == "hb":
                continue
            if frame[1] == "cs":
                assert len(frame) == 4
                assert frame[2] == independent_checksum(mirror.bids, mirror.asks)
                assert len(mirror.bids) <= 25 and len(mirror.asks) <= 25
                checksums += 1
            elif isinstance(frame[1][0], list):
                mirror.snapshot(frame[1])
            else:
                assert len(frame) == 3 and len(frame[1]) == 3, "single-entry updates"
                mirror.update(frame[1])
                updates += 1
    assert updates > 0
    await client.__aexit__()


@pytest.mark.parametrize("length", ["1", "100", "250"])
async def test_book_lengths_are_honoured(sim: Simulator, length: str) -> None:
    client = await open_bitfinex(sim)
    await client.send(dict(BOOK, len=length))
    ack = await client.recv()
    assert ack["len"] == length
    snap = await client.recv()
    per_side = int(length)
    bids = [e for e in snap[1] if e[2] > 0]
    asks = [e for e in snap[1] if e[2] < 0]
    assert 0 < len(bids) <= per_side and 0 < len(asks) <= per_side
    if per_side <= 100:
        assert len(bids) == len(asks) == per_side
    await client.__aexit__()


async def test_checksum_worked_example_values() -> None:
    """The reference's worked examples, through the same independent function the tests use."""
    assert independent_checksum({6000: 1, 5900: 2}, {6100: 3, 6200: 4}) == 1756193398
    assert independent_checksum({7254.7: 3.3, 7254.6: 0.5}, {7254.8: 1.25, 7255: 0.1}) == -858297765
    assert independent_checksum({7254.6: 0.5}, {7254.8: 1.25, 7255: 0.1}) == 1610158860


async def test_heartbeat_after_silence_consumes_sequence(paused_sim: Simulator) -> None:
    paused_sim.bitfinex_hb = 0.4  # the venue's 15 s, shortened for the test
    client = await open_bitfinex(paused_sim)
    await client.send(BOOK)
    ack = await client.recv()
    snap = await client.recv()
    cs = await client.recv()
    assert cs[1] == "cs" and cs[-1] == snap[-1] + 1
    hb = await client.recv(timeout=3)
    assert hb == [ack["chanId"], "hb", cs[-1] + 1]
    await client.__aexit__()


async def test_trades_snapshot_then_te_and_tu(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    await client.send({"event": "subscribe", "channel": "trades", "symbol": "tETHUSD"})
    ack = await client.recv()
    assert ack == {"event": "subscribed", "channel": "trades", "chanId": ack["chanId"], "symbol": "tETHUSD",
                   "pair": "ETHUSD"}
    snap = await client.recv()
    assert isinstance(snap[1], list)
    te, _ = await client.recv_until(lambda f: isinstance(f, list) and f[1] == "te", timeout=15)
    trade_id, mts, amount, price = te[2]
    assert isinstance(trade_id, int) and mts > 1_600_000_000_000 and amount != 0 and price > 0
    tu, _ = await client.recv_until(lambda f: isinstance(f, list) and f[1] == "tu" and f[2][0] == trade_id,
                                    timeout=5)
    assert tu[2] == te[2]
    await client.__aexit__()


async def test_errors_use_the_venue_codes(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    await client.send({"event": "nope"})
    assert await client.recv() == {"event": "error", "msg": "event: invalid (nope)", "code": 10000}
    await client.send({"event": "subscribe", "channel": "book", "symbol": "tNOPEUSD", "prec": "P0", "len": "25"})
    err = await client.recv()
    assert err["event"] == "error" and err["code"] == 10300 and err["msg"] == "symbol: invalid"
    assert err["symbol"] == "tNOPEUSD" and err["channel"] == "book"
    await client.send(dict(BOOK, len="7"))
    assert (await client.recv())["msg"] == "length: invalid"
    await client.send({"event": "subscribe", "channel": "candles", "key": "trade:1m:tBTCUSD", "symbol": "tBTCUSD"})
    assert (await client.recv())["msg"] == "channel: unknown"
    await client.send(BOOK)
    ack = await client.recv()
    await client.recv()  # snapshot
    await client.send(BOOK)
    dup, _ = await client.recv_until(lambda f: isinstance(f, dict))
    assert dup["code"] == 10301 and dup["msg"] == "subscribe: dup" and dup["chanId"] == ack["chanId"]
    await client.send({"event": "unsubscribe", "chanId": 1})
    bad, _ = await client.recv_until(lambda f: isinstance(f, dict))
    assert bad["code"] == 10400
    await client.send({"event": "unsubscribe", "chanId": ack["chanId"]})
    ok, _ = await client.recv_until(lambda f: isinstance(f, dict))
    assert ok == {"event": "unsubscribed", "status": "OK", "chanId": ack["chanId"]}
    await client.__aexit__()


async def test_channel_limit_is_25(paused_sim: Simulator) -> None:
    client = await open_bitfinex(paused_sim, flags=None)
    requests = [{"event": "subscribe", "channel": "book", "symbol": sym, "prec": "P0", "freq": freq, "len": length}
                for sym in ("tBTCUSD", "tETHUSD", "tSOLUSD", "tXRPUSD")
                for freq in ("F0", "F1") for length in ("1", "25", "100", "250")][:26]
    for req in requests:
        await client.send(req)
    events = [f for f in await client.frames_for(1.5) if isinstance(f, dict)]
    acks = [e for e in events if e["event"] == "subscribed"]
    limits = [e for e in events if e.get("code") == 10305]
    assert len(acks) == 25
    assert len(limits) == 1 and limits[0]["msg"] == "subscribe: limit" and limits[0]["symbol"] == "tXRPUSD"
    await client.__aexit__()


async def test_non_json_text_is_ignored_and_socket_keeps_working(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    await client.send("this is not json")
    await client.send({"event": "ping", "cid": 42})
    pong = await client.recv()
    assert pong["event"] == "pong" and pong["cid"] == 42 and isinstance(pong["ts"], int)
    await client.__aexit__()


async def test_bulk_and_timestamp_flags_shape_frames(sim: Simulator) -> None:
    flags = 536870912 + 65536 + 32768
    client = await open_bitfinex(sim, flags=flags)
    await client.send(BOOK)
    await client.recv()
    snap = await client.recv()
    assert isinstance(snap[-1], int) and snap[-1] > 1_600_000_000_000, "timestamp is last"
    assert snap[-2] == 1, "sequence second to last"
    update = await client.recv(timeout=10)
    assert isinstance(update[1], list) and all(isinstance(e, list) for e in update[1]), "bulk updates are arrays"
    assert update[-2] == 2
    await client.__aexit__()


async def test_fault_wrong_checksum_and_skipped_sequence(sim: Simulator) -> None:
    client = await open_bitfinex(sim)
    await client.send(BOOK)
    await client.recv()
    mirror = BookMirror()
    snap = await client.recv()
    mirror.snapshot(snap[1])
    seq = snap[-1]
    sim.faults.arm("bad_checksum", "bitfinex")
    sim.faults.arm("skip_seq", "bitfinex")
    wrong = gaps = 0
    async with asyncio.timeout(10):
        while not (wrong and gaps):
            frame = await client.recv()
            if frame[-1] != seq + 1:
                assert frame[-1] == seq + 2
                gaps += 1
            seq = frame[-1]
            if frame[1] == "cs":
                if frame[2] != independent_checksum(mirror.bids, mirror.asks):
                    wrong += 1
            elif frame[1] != "hb":
                mirror.update(frame[1])
    assert wrong == 1 and gaps == 1
    await client.__aexit__()


async def test_fault_info_20051_then_close(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    assert sim.faults.apply("info", "bitfinex", code=20051) == 1
    info = await client.recv()
    assert info == {"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"}
    with pytest.raises(ConnectionClosed):
        await client.recv(timeout=3)


async def test_fault_drop_is_abrupt(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    await asyncio.sleep(0.05)
    assert sim.faults.drop("bitfinex") == 1
    with pytest.raises(ConnectionClosed) as info:
        await client.recv(timeout=3)
    assert info.value.rcvd is None, "no close frame: the client sees 1006"


async def test_fault_stall_silences_one_pair(sim: Simulator) -> None:
    client = await open_bitfinex(sim, flags=None)
    await client.send(BOOK)
    await client.send(dict(BOOK, symbol="tSOLUSD"))
    btc = (await client.recv())["chanId"]
    await client.recv()
    sol, _ = await client.recv_until(lambda f: isinstance(f, dict) and f.get("event") == "subscribed")
    await client.frames_for(0.3)
    sim.faults.stall("bitfinex", seconds=1.5, pair="BTC:USD")
    frames = await client.frames_for(1.0)
    assert not [f for f in frames if f[0] == btc], "the stalled pair sends nothing"
    assert [f for f in frames if f[0] == sol["chanId"]], "other pairs keep flowing"
    await client.__aexit__()


async def test_same_seed_same_frames() -> None:
    async def session(seed: int) -> list:
        async with Simulator(seed=seed, rate=0) as s:
            client = await open_bitfinex(s)
            await client.send(BOOK)
            frames = [await client.recv(), await client.recv(), await client.recv()]
            s.step(400)
            frames += await client.frames_for(0.5)
            await client.__aexit__()
            return frames

    first = await session(5)
    assert len(first) > 20
    assert first == await session(5)
    assert first != await session(6)
