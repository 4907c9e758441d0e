"""Faults between the venues, the hub, NATS and a reader; after each: reader book == hub book == simulator book."""

from __future__ import annotations

import time

from finxtui.model.events import RECONNECTING, RESYNCING, STALE
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
            resyncs = source.resyncs
            reader.gate.clear()  # the reader stops reading: a real pause while the market moves
            paused_at = len(reader.events)
            await move(manual_sim, 20)
            # It takes one more event (index paused_at), then waits: its books stay at ``held``.
            await until(lambda: len(reader.events) > paused_at, what="the reader to pause")
            held = {key: chan.seq for key, chan in source.books().items() if chan.seq >= 0}
            assert set(held) == set(hub.registry.books)
            await move(manual_sim, 20)
            await until(lambda: all(hb.snap_seq > held[key] for key, hb in hub.registry.books.items()),
                        what="the hub's snapshots of books newer than the reader's")
            # From here on, any snapshot a re-join asks for is newer than what the reader shows. The pause
            # goes on far longer than a message may wait for the reader (STALE_QUEUE), the market moving.
            newer_at = time.monotonic()
            most = 0
            while time.monotonic() < newer_at + 10 * STALE_QUEUE:
                await move(manual_sim, 20)
                most = max(most, source.backlog)
            assert most <= QUEUE_SIZE, "what waits for a paused reader is bounded"
            reader.gate.set()
            await move(manual_sim, 50)
            await settled(manual_sim, hub, source, timeout=20)
            assert source.resyncs > resyncs, "the books were re-joined (in the pause or after it)"
            after = range(paused_at + 1, len(reader.events))
            for key, seq in held.items():
                books = [i for i in after if reader.events[i].type == "book"
                         and (reader.events[i].source, reader.events[i].pair) == key]
                assert books, f"{key} flows again"
                # Nothing that waited through the pause was shown: the first book after it is a re-join's
                # snapshot newer than the reader's book of the pause, and no book after it is older.
                assert reader.events[books[0]].snapshot, f"{key}: a delta that waited through the pause was shown"
                assert all(reader.seqs[i] > seq for i in books), f"{key}: a book from the pause was shown"
                resyncing = [i for i in after if reader.events[i].type == "status"
                             and reader.events[i].source == key[0] and reader.events[i].state == RESYNCING]
                assert resyncing and resyncing[0] < books[0], f"{key[0]}: no 'resyncing' before the new book"
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
