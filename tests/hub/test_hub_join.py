"""A hub on the simulator, readers on a real nats-server: joining late, bad messages, nothing to reach."""

from __future__ import annotations

import asyncio
import logging

import nats
import pytest

from finxtui.model.events import RECONNECTING, BookUpdate, Trade
from finxtui.sim.server import Simulator
from finxtui.sources import HubSource
from finxtui.wire import hub as wire
from tests.hub.conftest import NatsServer, Reader, client, free_port, move, settled, start_hub, until


async def test_a_late_joiner_paints_last_values_and_ends_with_the_hubs_books(
        manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url])
    try:
        early = client(manual_sim, nats_server.url)
        async with Reader(early) as first:
            await move(manual_sim, 300)
            await settled(manual_sim, hub, early)
            late = client(manual_sim, nats_server.url)  # joins after 300 steps: snapshot + the deltas after it
            async with Reader(late) as second:
                await until(lambda: any(isinstance(e, Trade) for e in second.events), what="a last trade")
                await move(manual_sim, 300)
                await settled(manual_sim, hub, early, late)
                assert second.state("bitfinex") == "live" and second.state("hub") == "live"
                books = [e for e in second.events if isinstance(e, BookUpdate)]
                assert books[0].snapshot and not all(b.snapshot for b in books), "snapshot first, then deltas"
            assert first.events and early.rejected == late.rejected == 0
    finally:
        await hub.stop()


async def test_malformed_and_foreign_messages_are_counted_logged_once_and_skipped(
        manual_sim: Simulator, nats_server: NatsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="finxtui")
    hub = await start_hub(manual_sim, [nats_server.url])
    nc = await nats.connect(nats_server.url)
    try:
        source = client(manual_sim, nats_server.url, venues=("bitfinex",), pairs=("BTC:USD",))
        async with Reader(source):
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source)
            delta = wire.subject("bitfinex", "BTC:USD", wire.DELTA)
            trade = wire.subject("bitfinex", "BTC:USD", "trade")
            await nc.publish(delta, b"\x00not json")
            await nc.publish(delta, b"[1, 2, 3]")
            await nc.publish(trade, b'{"hello": "from another program"}')
            await nc.publish(trade, b'{"type":"trade","source":"bitfinex","pair":"ETH:USD","price":1,"size":1,'
                                    b'"side":"buy","ts":1}')  # another pair's line on this pair's subject
            await nc.flush()
            await until(lambda: source.rejected == 4, what="4 rejected messages")
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source)
            assert source.rejected == 4
        skipped = [r for r in caplog.records if "skipped a message" in r.getMessage()]
        assert len(skipped) == 2, "one log line per kind of subject, the rest counted"
    finally:
        await nc.close()
        await hub.stop()


async def test_a_hub_url_with_nothing_behind_it_says_so_and_backs_off() -> None:
    from finxtui.config import Config

    url = f"nats://127.0.0.1:{free_port()}"
    source = HubSource(url, Config(), venues=("bitfinex",), pairs=("BTC:USD",))
    async with Reader(source) as reader:
        await until(lambda: len([s for s in reader.statuses("hub") if s[0] == RECONNECTING]) >= 2, 20,
                    "two failed attempts")
        attempts = [d for s, d in reader.statuses("hub") if s == RECONNECTING]
        assert "cannot reach " + url in attempts[0] and "retrying in" in attempts[0]
        assert reader.state("bitfinex") == "stale" and "no hub" in reader.statuses("bitfinex")[-1][1]
        assert not any(e.type == "book" for e in reader.events)


async def test_tail_with_a_hub_that_is_not_there_exits_cleanly() -> None:
    import asyncio
    import sys

    url = f"nats://127.0.0.1:{free_port()}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "finxtui", "tail", "bitfinex", "--hub", url, "--seconds", "3",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b'"state":"stale"' in out and b"cannot reach" in out


async def test_the_python_api_opens_a_hub(manual_sim: Simulator, nats_server: NatsServer) -> None:
    from finxtui.api import open_source
    from finxtui.config import Config
    from finxtui.sources.demo import demo_config
    from tests.hub.conftest import sim_top, top

    hub = await start_hub(manual_sim, [nats_server.url])
    try:
        await move(manual_sim, 50)
        await until(lambda: hub.registry.book("bitfinex", "BTC:USD") is not None, what="the hub's book")
        async with open_source(nats_server.url, venues=["bitfinex"], pairs=["BTC:USD"],
                               config=demo_config(Config(), manual_sim)) as source:
            want = sim_top(manual_sim, "bitfinex", "BTC:USD")
            async with asyncio.timeout(15):  # the last snapshot, then the deltas after it, reach the market's book
                async for event in source:
                    if isinstance(event, BookUpdate) and top(event.book) == want:
                        break
    finally:
        await hub.stop()


async def test_with_bitmex_keys_the_account_comes_from_bitmex_and_the_market_from_the_hub(
        manual_sim: Simulator, nats_server: NatsServer) -> None:
    from finxtui.model.events import Position, Status
    from finxtui.sources.account import HubWithAccount

    hub = await start_hub(manual_sim, [nats_server.url])
    try:
        cfg = client(manual_sim, nats_server.url).config  # the simulator's endpoints and its demo account keys
        assert cfg.credentials.bitmex
        source = HubWithAccount(client(manual_sim, nats_server.url), cfg)
        assert source.has_account
        async with Reader(source) as reader:
            await move(manual_sim, 50)
            manual_sim.advance(2.0)  # the account's periodic updates are due on the venue's clock
            await until(lambda: any(isinstance(e, Status) and e.scope == "account" and e.state == "live"
                                    for e in reader.events), 15, "the account live")
            await until(lambda: any(isinstance(e, BookUpdate) and e.source == "bitmex" for e in reader.events),
                        what="BitMEX's book through the hub")
            await settled(manual_sim, hub, source.hub)
            # One BitMEX connection for the hub's market data, one private one for this monitor's account.
            assert manual_sim.stats()["connections"]["bitmex"] == 2
            positions = [e for e in reader.events if isinstance(e, Position)]
            assert positions or any(e.type == "margin" for e in reader.events), "account data arrived"
    finally:
        await hub.stop()
