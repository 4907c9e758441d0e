"""``tail --hub`` prints what ``tail`` prints when connected to the venue itself; ``record --hub`` records it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

from finxtui.model.events import BookUpdate
from finxtui.sim.server import Simulator
from finxtui.sources import ReplaySource
from tests.hub.conftest import NatsServer, move, sim_top, start_hub, top, until

PAIR = "BTC:USD"


async def _tail(*args: str) -> tuple[asyncio.subprocess.Process, list[dict]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "finxtui", "tail", "bitfinex", "--pair", PAIR, "--depth", "10", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return proc, []


async def _read(proc: asyncio.subprocess.Process, lines: list[dict]) -> None:
    assert proc.stdout is not None
    async for raw in proc.stdout:
        lines.append(orjson.loads(raw))


def shapes(lines: list[dict]) -> set[tuple[str, tuple[str, ...]]]:
    return {(line["type"], tuple(sorted(line))) for line in lines}


def kinds(line: dict) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in line.items() if k not in ("detail",)}


async def test_tail_through_the_hub_prints_what_tail_prints(manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url], plan={"bitfinex": [PAIR]})
    try:
        await move(manual_sim, 100)
        await until(lambda: hub.registry.book("bitfinex", PAIR) is not None, what="the hub's book")
        via_hub, hub_lines = await _tail("--hub", nats_server.url, "--seconds", "8")
        direct, direct_lines = await _tail("--endpoint", manual_sim.base_url("bitfinex"), "--seconds", "8")
        readers = [asyncio.create_task(_read(via_hub, hub_lines)), asyncio.create_task(_read(direct, direct_lines))]
        await until(lambda: any(x["type"] == "book" for x in hub_lines) and
                    any(x["type"] == "book" for x in direct_lines), 20, "both tails to print a book")
        await move(manual_sim, 100)  # trades and deltas through both paths, then the market stands still
        hb = hub.registry.books[("bitfinex", PAIR)]
        await until(lambda: [x for x in hub_lines if x["type"] == "book"][-1]["bids"] ==
                    [list(level) for level in sim_top(manual_sim, "bitfinex", PAIR, 10)[0]] and hb.seq > 0, 15,
                    "tail --hub to reach the simulator's book")
        await asyncio.wait_for(asyncio.gather(*readers), 20)
        for proc in (via_hub, direct):
            await asyncio.wait_for(proc.wait(), 10)
            assert proc.returncode == 0
    finally:
        await hub.stop()
    assert shapes(hub_lines) == shapes(direct_lines)
    last_hub = [x for x in hub_lines if x["type"] == "book"][-1]
    last_direct = [x for x in direct_lines if x["type"] == "book"][-1]
    assert last_hub == last_direct, "the same book, spelled the same"
    bids, asks = sim_top(manual_sim, "bitfinex", PAIR, 10)
    assert last_hub["bids"] == [list(b) for b in bids] and last_hub["asks"] == [list(a) for a in asks]
    for kind in ("book", "trade", "status"):
        hub_kind = [kinds(x) for x in hub_lines if x["type"] == kind]
        direct_kind = [kinds(x) for x in direct_lines if x["type"] == kind]
        assert hub_kind and direct_kind and hub_kind[-1] == direct_kind[-1], kind
    for line in hub_lines:
        if line["type"] == "book":
            assert len(line["bids"]) == len(line["asks"]) == 10
            assert [p for p, _ in line["bids"]] == sorted((p for p, _ in line["bids"]), reverse=True)
            assert [p for p, _ in line["asks"]] == sorted(p for p, _ in line["asks"])


async def test_record_through_the_hub(manual_sim: Simulator, nats_server: NatsServer, tmp_path: Path) -> None:
    hub = await start_hub(manual_sim, [nats_server.url], plan={"bitfinex": [PAIR]})
    out = tmp_path / "rec"
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "finxtui", "record", "--hub", nats_server.url, "--source", "bitfinex", "--pair", PAIR,
            "--out", str(out), "--seconds", "5", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        waiter = asyncio.create_task(proc.communicate())
        for _ in range(40):
            await move(manual_sim, 10)
            await asyncio.sleep(0.05)
        _, err = await asyncio.wait_for(waiter, 30)
    finally:
        await hub.stop()
    assert proc.returncode == 0, err.decode()
    kinds = {p.parent.parent.name for p in out.rglob("*.csv")}
    assert {"book_snapshots", "book_deltas", "trades"} <= kinds, kinds
    last = None
    async for event in ReplaySource(out, speed=0, venues=["bitfinex"]):
        if isinstance(event, BookUpdate):
            last = top(event.book)
    assert last == sim_top(manual_sim, "bitfinex", PAIR), "the recording rebuilds the simulator's book"
