"""A 3-node JetStream cluster (replicas 3): the hub on node A, a reader on node B; node B stops; the reader
moves to a surviving node (it was given a comma-separated list) and ends with the hub's books."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from finxtui.sim.server import Simulator
from finxtui.wire import hub as wire
from tests.hub.conftest import (
    NATS_SERVER,
    NO_NATS,
    NatsServer,
    Reader,
    client,
    free_port,
    move,
    settled,
    start_hub,
    until,
)


@pytest.mark.slow
@pytest.mark.timeout(180)  # every wait below is bounded, and together they stay under this
async def test_a_reader_survives_the_loss_of_its_cluster_node(manual_sim: Simulator, tmp_path: Path) -> None:
    if NATS_SERVER is None:
        pytest.skip(NO_NATS)
    routes = [free_port() for _ in range(3)]
    nodes = [NatsServer(tmp_path / f"n{i}", name=f"n{i}", cluster=(routes[i], [p for p in routes if p != routes[i]]))
             for i in range(3)]
    for node in nodes:
        node.start()
    hub = None
    try:
        a, b, c = nodes
        # JetStream needs a meta leader before a replicated stream can be made: wait for it, bounded.
        nc = await nats.connect(a.url)
        try:
            async def ready() -> bool:
                try:
                    info = await nc.jetstream(timeout=2).account_info()
                    return info is not None
                except Exception:
                    return False

            async with asyncio.timeout(20):
                while not await ready():
                    await asyncio.sleep(0.1)
        finally:
            await nc.close()
        hub = await start_hub(manual_sim, [a.url], replicas=3)
        source = client(manual_sim, f"{b.url},{c.url}")
        async with Reader(source) as reader:
            await move(manual_sim, 100)
            await settled(manual_sim, hub, source, timeout=25)
            assert source.connected_url.endswith(f":{b.port}") or source.connected_url.endswith(f":{c.port}")
            on_b = source.connected_url.endswith(f":{b.port}")
            lost = b if on_b else c
            joins = source.resyncs
            lost.stop()
            # Any surviving node will do (the client also learns the cluster's other URLs from the servers).
            await until(lambda: source.connected_url and not source.connected_url.endswith(f":{lost.port}"), 25,
                        "a move to a surviving node")
            await move(manual_sim, 100)
            await settled(manual_sim, hub, source, timeout=45)
            await until(lambda: reader.state("hub") == "live", 20, "the hub live again")
            assert source.resyncs > joins, "the books were joined again on the survivor"
        nc = await nats.connect(a.url)
        try:
            info = await nc.jetstream(timeout=5).stream_info(wire.STREAM)
            assert info.config.num_replicas == 3
        finally:
            await nc.close()
    finally:
        if hub is not None:
            await hub.stop()
        for node in nodes:
            node.stop()
