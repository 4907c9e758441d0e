"""The hub's HTTP API: books best first, status, pairs, OpenAPI, errors as JSON, read-only, never a key."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from finxtui.config import Config
from finxtui.hub import Hub, HubHttp
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.server import Simulator
from finxtui.sources.demo import demo_config
from tests.hub.conftest import PLAN, move, sim_top, top, until


@pytest.fixture
async def served(manual_sim: Simulator) -> AsyncIterator[tuple[Hub, str]]:
    """A hub without NATS (HTTP only) on the simulator, serving on a free loopback port."""
    hub = Hub(demo_config(Config(), manual_sim), PLAN)
    http = HubHttp(hub, "127.0.0.1", 0)
    await http.start()
    await hub.start()
    try:
        await move(manual_sim, 50)
        await until(lambda: all(hub.registry.book(v, p) for v, pairs in PLAN.items() for p in pairs), what="books")
        yield hub, http.url
    finally:
        await hub.stop()
        await http.stop()


async def fetch(url: str, method: str = "GET") -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_book_is_the_hubs_book_best_first(served: tuple[Hub, str], manual_sim: Simulator) -> None:
    hub, base = served
    await until(lambda: top(hub.registry.books[("bitfinex", "BTC:USD")].book) == sim_top(manual_sim, "bitfinex",
                                                                                           "BTC:USD"), what="sync")
    for spelling in ("BTC:USD", "BTC%3AUSD", "BTC-USD"):
        status, body = await fetch(f"{base}/book/bitfinex/{spelling}?depth=5")
        assert status == 200, body
        assert body["source"] == "bitfinex" and body["pair"] == "BTC:USD" and body["state"] == "live"
        bids, asks = sim_top(manual_sim, "bitfinex", "BTC:USD", 5)
        assert [tuple(x) for x in body["bids"]] == bids and [tuple(x) for x in body["asks"]] == asks
        assert body["bids"][0][0] > body["bids"][1][0] and body["asks"][0][0] < body["asks"][1][0]
        assert isinstance(body["ts"], float) and body["seq"] > 0
    status, body = await fetch(base + "/book/bitfinex/BTC:USD")
    assert status == 200 and len(body["bids"]) == 10, "depth 10 by default"


async def test_errors_are_json_and_the_api_is_read_only(served: tuple[Hub, str]) -> None:
    _, base = served
    status, body = await fetch(base + "/book/kraken/BTC:USD")
    assert status == 404 and "unknown source" in body["error"] and "bitfinex" in body["known"]
    status, body = await fetch(base + "/book/bitfinex/DOGE:USD")
    assert status == 404 and "DOGE:USD" in body["error"]
    status, body = await fetch(base + "/book/bitmex/ETH:USD")  # a pair the hub does not carry on that venue
    assert status == 404
    for depth in ("0", "-3", "x", "100000"):
        status, body = await fetch(base + f"/book/bitfinex/BTC:USD?depth={depth}")
        assert status == 400 and "depth" in body["error"]
    status, body = await fetch(base + "/nothing/here")
    assert status == 404 and "error" in body
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, body = await fetch(base + "/status", method)
        assert status == 405 and "read-only" in body["error"]


async def test_status_pairs_and_openapi(served: tuple[Hub, str]) -> None:
    _, base = served
    status, body = await fetch(base + "/status")
    assert status == 200
    rows = {row["source"]: row for row in body["sources"]}
    assert set(rows) == set(PLAN)
    for row in rows.values():
        assert set(row) >= {"source", "state", "detail", "age"} and row["state"] == "live"
        assert isinstance(row["age"], float)
    status, body = await fetch(base + "/pairs")
    assert status == 200 and body["sources"] == PLAN
    status, doc = await fetch(base + "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/book/{source}/{pair}", "/status", "/pairs", "/openapi.json"}
    book = doc["paths"]["/book/{source}/{pair}"]["get"]
    assert {"200", "400", "404"} <= set(book["responses"])
    assert {p["name"] for p in book["parameters"]} == {"source", "pair", "depth"}


async def test_no_key_is_ever_served(tmp_path: Any) -> None:
    """``finx-tui hub`` with every key in its environment: no response holds any of them."""
    creds = SimCredentials(bitmex_key="HUBtestBITMEXkey0000001", bitmex_secret="HUBtestBITMEXsecret00000000000000001",
                           finx_key="HUBtest-finx-key-0001", finazon_key="HUBtest-finazon-key-0001")
    secrets = [creds.bitmex_key, creds.bitmex_secret, creds.finx_key, creds.finazon_key]
    async with Simulator(seed=3, credentials=creds) as sim:
        env = dict(os.environ, BITMEX_API_KEY=creds.bitmex_key, BITMEX_API_SECRET=creds.bitmex_secret,
                   FINX_API_KEY=creds.finx_key, FINAZON_API_KEY=creds.finazon_key, PYTHONUNBUFFERED="1")
        args = [sys.executable, "-m", "finxtui", "hub", "--http", "127.0.0.1:0"]
        for venue in ("finx", "bitfinex", "bitmex", "finazon"):
            args += ["--endpoint", f"{venue}={sim.base_url(venue)}"]
        proc = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            assert proc.stdout is not None
            printed = b""
            base = ""
            async with asyncio.timeout(20):
                while not base:
                    line = await proc.stdout.readline()
                    assert line, "the hub ended early"
                    printed += line
                    if b" HTTP http://" in line:
                        base = line.decode().split("HTTP ", 1)[1].strip()
            bodies = [printed.decode()]

            async def all_live() -> bool:
                _, body = await fetch(base + "/status")
                return all(row["state"] == "live" for row in body["sources"])

            async with asyncio.timeout(20):
                while not await all_live():
                    await asyncio.sleep(0.05)
            async with aiohttp.ClientSession() as session:
                for path in ("/status", "/pairs", "/openapi.json", "/book/bitmex/BTC:USD?depth=25",
                             "/book/bitfinex/BTC:USD", "/book/finx/BTC:USD", "/book/nope/X", "/status?x=1"):
                    async with session.get(base + path) as resp:
                        bodies.append(await resp.text())
                        bodies.append(str(dict(resp.headers)))
            assert sum("live" in b for b in bodies) > 0
            for secret in secrets:
                assert not any(secret in body for body in bodies), "a key in a response"
        finally:
            proc.terminate()
            _, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, err.decode()
        for secret in secrets:
            assert secret not in err.decode()
