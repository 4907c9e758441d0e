"""The simulator's Bitfinex v2 protocol, checked frame by frame against the reference (part A)."""

from __future__ import annotations

import asyncio
import itertools
import zlib
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from finxtui.sim.market import ASK, BID, SimTrade
from finxtui.sim.server import Simulator
from finxtui.sim.settings import SimSettings
from finxtui.wire.bitfinex import checksum_of
from tests.sim.wsclient import Client

CHECKSUM_AND_SEQ = 131072 + 65536
BOOK = {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0", "freq": "F0", "len": "25"}
_cids = itertools.count(1)


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

    def best_first(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def crossed(self) -> bool:
        return bool(self.bids and self.asks) and max(self.bids) >= min(self.asks)


async def open_bitfinex(sim: Simulator, flags: int | None = CHECKSUM_AND_SEQ) -> Client:
    client = await Client(sim.base_url("bitfinex") + "/ws/2").__aenter__()
    info = await client.recv()
    assert info["event"] == "info" and info["version"] == 2 and info["platform"] == {"status": 1}
    if flags is not None:
        await client.send({"event": "conf", "flags": flags})
        assert await client.recv() == {"event": "conf", "status": "OK", "flags": flags}
    return client


async def sync(client: Client) -> list[Any]:
    """Every frame the venue wrote before it read our ping (it answers in order)."""
    cid = next(_cids)
    return await client.until_reply({"event": "ping", "cid": cid},
                                    lambda f: isinstance(f, dict) and f.get("event") == "pong" and f["cid"] == cid)


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
    """The reference's worked examples, through the independent function and the shared wire fact alike."""
    assert independent_checksum({6000: 1, 5900: 2}, {6100: 3, 6200: 4}) == 1756193398
    assert independent_checksum({7254.7: 3.3, 7254.6: 0.5}, {7254.8: 1.25, 7255: 0.1}) == -858297765
    assert independent_checksum({7254.6: 0.5}, {7254.8: 1.25, 7255: 0.1}) == 1610158860
    assert checksum_of([(7254.7, 3.3), (7254.6, 0.5)], [(7254.8, 1.25), (7255, 0.1)]) == -858297765


# -- heartbeats (A7, corrected) ---------------------------------------------------------------------------


async def test_heartbeat_ticks_per_channel_and_skips_a_channel_that_had_traffic() -> None:
    """A fixed tick per channel from its subscription; ``hb`` only when the channel was quiet since the last
    tick, so a healthy channel can go almost two periods between frames. Every ``hb`` takes a sequence number."""
    settings = SimSettings(bitfinex_heartbeat=1.0, manual_time=True)  # the venue's 15 s, shortened
    async with Simulator(seed=11, rate=0, settings=settings) as sim:
        client = await open_bitfinex(sim)
        seq = 0
        arrived: list[tuple[float, list[Any]]] = []  # (venue clock, frame) of every channel frame

        async def read() -> list[list[Any]]:
            nonlocal seq
            frames = [f for f in await sync(client) if isinstance(f, list)]
            for frame in frames:
                assert frame[-1] == seq + 1, f"sequence gap before {frame}"
                seq = frame[-1]
                arrived.append((sim.loop_time(), frame))
            return frames

        def heartbeats(frames: list[list[Any]]) -> list[int]:
            return [f[0] for f in frames if f[1] == "hb"]

        await client.send(BOOK)  # channel A at t=0: ticks at 1, 2, 3, ...
        a = (await client.recv())["chanId"]
        assert [f[0] for f in await read()] == [a, a]  # snapshot and checksum: traffic
        sim.advance(1.0)
        assert heartbeats(await read()) == [], "t=1: A had traffic (its snapshot) since subscribing: no hb"
        sim.advance(1.0)
        assert heartbeats(await read()) == [a], "t=2: A was quiet for a whole tick"
        sim.advance(0.5)
        await client.send(dict(BOOK, symbol="tETHUSD"))  # channel B at t=2.5: ticks at 3.5, 4.5, ...
        b = (await client.recv())["chanId"]
        await read()
        sim.advance(0.5)
        assert heartbeats(await read()) == [a], "t=3: A's tick; B's ticks are its own"
        traffic: list[list[Any]] = []
        while not any(f[0] == a and f[1] != "cs" for f in traffic):  # traffic on A just after its tick at t=3
            sim.step(1)
            traffic = await read()
        sim.advance(0.5)
        assert heartbeats(await read()) == [], "t=3.5: B's first tick, after its snapshot: skipped"
        sim.advance(0.5)
        assert heartbeats(await read()) == [], "t=4: A had traffic since t=3: skipped"
        sim.advance(0.5)
        assert heartbeats(await read()) == [b], "t=4.5: B quiet since t=3.5"
        sim.advance(0.5)
        assert heartbeats(await read()) == [a], "t=5: A quiet since t=4"
        # A healthy channel went close to two periods without a frame (from just after t=3 to t=5).
        a_times = [t for t, f in arrived if f[0] == a]
        assert max(later - earlier for earlier, later in itertools.pairwise(a_times)) == pytest.approx(2.0)
        await client.__aexit__()


async def test_trades_snapshot_then_te_and_tu_a_second_later(manual_sim: Simulator) -> None:
    client = await open_bitfinex(manual_sim, flags=None)
    await client.send({"event": "subscribe", "channel": "trades", "symbol": "tETHUSD"})
    ack = await client.recv()
    assert ack == {"event": "subscribed", "channel": "trades", "chanId": ack["chanId"], "symbol": "tETHUSD",
                   "pair": "ETHUSD"}
    snap = await client.recv()
    assert isinstance(snap[1], list)
    trades: list[SimTrade] = []
    while not trades:
        trades = [e for e in manual_sim.step(20) if isinstance(e, SimTrade) and e.venue == "bitfinex"
                  and e.pair == "ETH:USD"]
    te = [f for f in await sync(client) if f[1] == "te"]
    assert [f[2][0] for f in te] == [t.id for t in trades]
    _, mts, amount, price = te[0][2]
    assert mts > 1_600_000_000_000 and amount != 0 and price == trades[0].price
    manual_sim.advance(0.9)
    assert [f for f in await sync(client) if f[1] == "tu"] == []
    manual_sim.advance(0.2)
    tu = [f for f in await sync(client) if f[1] == "tu"]
    assert [f[2] for f in tu] == [f[2] for f in te], "each te again as tu, a second later"
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


async def test_channel_limit_is_25(manual_sim: Simulator) -> None:
    client = await open_bitfinex(manual_sim, flags=None)
    requests = [{"event": "subscribe", "channel": "book", "symbol": sym, "prec": "P0", "freq": freq, "len": length}
                for sym in ("tBTCUSD", "tETHUSD", "tSOLUSD", "tXRPUSD")
                for freq in ("F0", "F1") for length in ("1", "25", "100", "250")][:26]
    for req in requests:
        await client.send(req)
    events = [f for f in await sync(client) if isinstance(f, dict)]
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


async def test_bulk_and_timestamp_flags_shape_frames(manual_sim: Simulator) -> None:
    flags = 536870912 + 65536 + 32768
    client = await open_bitfinex(manual_sim, flags=flags)
    await client.send(BOOK)
    await client.recv()
    snap = await client.recv()
    assert isinstance(snap[-1], int) and snap[-1] > 1_600_000_000_000, "timestamp is last"
    assert snap[-2] == 1, "sequence second to last"
    updates: list[Any] = []
    while not updates:
        manual_sim.step(20)
        updates = [f for f in await sync(client) if isinstance(f[1], list)]
    update = updates[0]
    assert all(isinstance(e, list) for e in update[1]), "bulk updates are arrays"
    assert update[-2] == 2
    await client.__aexit__()


# -- faults -----------------------------------------------------------------------------------------------


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
    client = await open_bitfinex(sim, flags=None)  # the info frame came: the venue holds the connection
    assert sim.faults.drop("bitfinex") == 1
    with pytest.raises(ConnectionClosed) as info:
        await client.recv(timeout=3)
    assert info.value.rcvd is None, "no close frame: the client sees 1006"


async def test_a_stalled_pair_arrives_late_and_in_order_and_its_book_stays_true(manual_sim: Simulator) -> None:
    """The stall of one pair silences its channels; their frames come when it ends, in order and numbered when
    sent, so a client that tracks the book from the frames (checksums verified, sequence continuous) ends with
    the venue's book and never holds a crossed one."""
    sim = manual_sim
    client = await open_bitfinex(sim)
    for request in (BOOK, dict(BOOK, symbol="tSOLUSD"), {"event": "subscribe", "channel": "trades",
                                                          "symbol": "tBTCUSD"}):
        await client.send(request)
    books: dict[int, BookMirror] = {}
    names: dict[int, str] = {}
    seq = 0
    checksums: dict[int, int] = {}
    te: list[int] = []

    def apply(frames: list[Any]) -> list[list[Any]]:
        nonlocal seq
        out = []
        for frame in frames:
            if isinstance(frame, dict):
                if frame.get("event") == "subscribed":
                    names[frame["chanId"]] = f'{frame["channel"]}:{frame["symbol"]}'
                    if frame["channel"] == "book":
                        books[frame["chanId"]] = BookMirror()
                continue
            assert frame[-1] == seq + 1, f"sequence gap before {frame}"
            seq = frame[-1]
            out.append(frame)
            chan, body = frame[0], frame[1]
            if chan not in books:
                if body == "te":
                    te.append(frame[2][0])
                continue
            book = books[chan]
            if body == "cs":
                bids, asks = book.best_first()
                assert frame[2] == checksum_of(bids, asks), f"{names[chan]}: checksum disagrees"
                checksums[chan] = checksums.get(chan, 0) + 1
            elif body != "hb":
                book.snapshot(body) if isinstance(body[0], list) else book.update(body)
                assert not book.crossed(), f"{names[chan]} crossed after {frame}"
        return out

    apply(await sync(client))
    btc = next(c for c, n in names.items() if n == "book:tBTCUSD")
    sol = next(c for c, n in names.items() if n == "book:tSOLUSD")
    btc_trades = next(c for c, n in names.items() if n == "trades:tBTCUSD")
    assert sim.faults.stall("bitfinex", seconds=2.0, pair="BTC:USD") == 1
    made: list[int] = []
    during: list[list[Any]] = []
    for _ in range(10):
        events = sim.step(60)
        made += [e.id for e in events if isinstance(e, SimTrade) and e.venue == "bitfinex" and e.pair == "BTC:USD"]
        during += apply(await sync(client))
        sim.advance(0.1)  # still inside the stall; checksums may fall due
        during += apply(await sync(client))
    assert not [f for f in during if f[0] in (btc, btc_trades)], "the stalled pair is silent"
    assert [f for f in during if f[0] == sol], "other pairs keep flowing"
    assert made, "the market traded BTC:USD during the stall"
    before = checksums.get(btc, 0)
    sim.advance(1.0)  # the stall ends
    after = apply(await sync(client))
    assert [f for f in after if f[0] == btc and f[1] not in ("cs", "hb")], "the held updates arrive"
    assert checksums[btc] > before, "and a checksum after them"
    assert te[-len(made):] == made, "the held trades arrive, in order, none lost"
    for _ in range(5):
        sim.step(60)
        apply(await sync(client))
        sim.advance(0.3)
        apply(await sync(client))
    for chan, pair in ((btc, "BTC:USD"), (sol, "SOL:USD")):
        venue = sim.market.books[("bitfinex", pair)]
        assert books[chan].best_first() == (venue.levels(BID, 25), venue.levels(ASK, 25)), pair
    await client.__aexit__()


async def test_maintenance_holds_every_channel_until_20061(manual_sim: Simulator) -> None:
    sim = manual_sim
    client = await open_bitfinex(sim)
    await client.send(BOOK)
    await sync(client)
    assert sim.faults.apply("info", "bitfinex", code=20060, seconds=1.0) == 1
    sim.step(200)
    frames = await sync(client)
    assert frames[0]["code"] == 20060 and not [f for f in frames if isinstance(f, list)]
    sim.advance(1.0)
    frames = await sync(client)
    assert frames[0] == {"event": "info", "code": 20061, "msg": "Maintenance ended"}
    seqs = [f[-1] for f in frames if isinstance(f, list)]
    assert seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs))), "held, then sent in order"
    await client.__aexit__()


async def test_same_seed_same_frames() -> None:
    async def session(seed: int) -> list:
        async with Simulator(seed=seed, rate=0, settings=SimSettings(manual_time=True)) as s:
            client = await open_bitfinex(s)
            await client.send(BOOK)
            frames = [await client.recv(), await client.recv(), await client.recv()]
            s.step(400)
            frames += [f for f in await sync(client) if isinstance(f, list)]
            await client.__aexit__()
            return frames

    first = await session(5)
    assert len(first) > 20
    assert first == await session(5)
    assert first != await session(6)
