"""Faults between the venues, the hub, NATS and a reader; after each: reader book == hub book == simulator book."""

from __future__ import annotations

import time

from finxtui.model.events import RECONNECTING, RESYNCING, STALE, BookUpdate
from finxtui.sim.server import Simulator
from finxtui.sources.hub import QUEUE_SIZE, STALE_QUEUE
from tests.hub.conftest import NatsServer, Reader, client, move, settled, start_hub, until


async def test_a_hub_restart_is_a_new_epoch_and_the_reader_rejoins(
        manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url])
    source = client(manual_sim, nats_server.url)
    async with Reader(source) as reader:
        await move(manual_sim, 100)
        await settled(manual_sim, hub, source)
        first_epoch = hub.epoch
        await hub.stop()
        await until(lambda: reader.state("hub") == STALE and reader.state("bitfinex") == STALE,
                    what="the hub's stop to show")
        assert reader.statuses("hub")[-1][1] == "the hub stopped", "a clean stop is said as such"
        await move(manual_sim, 100)  # the market moves on while no hub publishes
        hub = await start_hub(manual_sim, [nats_server.url])
        try:
            assert hub.epoch != first_epoch
            await move(manual_sim, 100)
            await settled(manual_sim, hub, source)
            assert {c.epoch for key, c in source.books().items() if key in hub.registry.books} == {hub.epoch}
            await until(lambda: reader.state("hub") == "live" and reader.state("bitfinex") == "live",
                        what="live on the new hub")
        finally:
            await hub.stop()


async def test_nats_server_killed_and_restarted(manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url])
    source = client(manual_sim, nats_server.url)
    try:
        async with Reader(source) as reader:
            await move(manual_sim, 100)
            await settled(manual_sim, hub, source)
            nats_server.kill()
            await until(lambda: reader.state("hub") == RECONNECTING, what="the reader to see NATS gone")
            await until(lambda: reader.state("bitmex") == STALE, what="venues stale without the hub")
            await move(manual_sim, 100)
            nats_server.start()  # same port, same store; memory streams are gone: the hub makes them again
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source, timeout=30)
            await until(lambda: reader.state("hub") == "live" and reader.state("bitfinex") == "live", 15,
                        "live again")
    finally:
        await hub.stop()


async def test_a_paused_reader_catches_up_by_snapshot_and_shows_nothing_stale(
        manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url])
    source = client(manual_sim, nats_server.url)
    try:
        async with Reader(source) as reader:
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source)
            reader.gate.clear()  # the reader stops reading: a real pause, 10 s, while the market moves
            await until(lambda: reader.gate.is_set() is False and reader.events, what="pause")
            paused_at = len(reader.events)
            deadline = time.monotonic() + 10
            most = 0
            while time.monotonic() < deadline:
                await move(manual_sim, 20)
                most = max(most, source.backlog)
            assert most <= QUEUE_SIZE, "what waits for a paused reader is bounded"
            resumed = time.time()
            reader.gate.set()
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source, timeout=20)
            after = reader.events[paused_at + 1:]
            books = [e for e in after if isinstance(e, BookUpdate)]
            assert books, "books flow again"
            # Nothing that waited through the pause was shown as live: every book after it is fresh.
            assert all(b.ts >= resumed - STALE_QUEUE - 1.0 for b in books)
            assert any(e.type == "status" and e.state == RESYNCING for e in after)
            assert source.resyncs > 0
    finally:
        await hub.stop()


async def test_an_upstream_venue_dropping_is_relayed_as_that_venues_state(
        manual_sim: Simulator, nats_server: NatsServer) -> None:
    hub = await start_hub(manual_sim, [nats_server.url])
    source = client(manual_sim, nats_server.url)
    try:
        async with Reader(source) as reader:
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source)
            seen = len(reader.events)
            assert manual_sim.faults.drop("bitfinex") > 0
            await until(lambda: any(e.type == "status" and e.source == "bitfinex" and e.state in
                                    (RECONNECTING, "connecting") for e in reader.events[seen:]),
                        what="bitfinex's drop relayed")
            assert all(e.source != "bitmex" for e in reader.events[seen:] if e.type == "status"
                       and e.state != "live"), "only the venue that dropped changes state"
            await until(lambda: reader.state("bitfinex") == "live", 20, "bitfinex live again")
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source)
    finally:
        await hub.stop()
