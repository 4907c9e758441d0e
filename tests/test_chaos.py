"""Chaos: the simulator injects random faults on every protocol while ``tail`` and the headless monitor run.

Afterwards every book equals the simulator's true book, no unhandled exception was logged, every reconnect
came when the announced backoff said it would, and the statuses said resyncing or stale when they should.
Seeded and bounded: about 40 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import sys

import orjson
import pytest

from finxtui.config import Config
from finxtui.sim.server import Simulator
from finxtui.sources import LiveSource
from finxtui.sources.demo import demo_config
from finxtui.ui.app import FinxApp
from finxtui.ui.messages import FeedStatus
from tests.feeds.runner import a_tick, market_moves
from tests.ui.helpers import all_live, wait_for

CHAOS_SECONDS = 12.0
PAIRS = ("BTC:USD", "ETH:USD", "SOL:USD", "XRP:USD")


def sim_top(sim: Simulator, source: str, pair: str, depth: int) -> tuple[list, list]:
    book = sim.market.books[(source, pair)]
    return book.levels("bid", depth), book.levels("ask", depth)


def faults_over(sim: Simulator) -> bool:
    """Every fault the simulator was asked for has run its course: no stall, lowered buffer limit or restart is on."""
    now = sim.loop_time()
    for at, kind, _, params in sim.faults.history:
        lasts = params.get("downtime") if kind == "restart" else params.get("seconds") if kind in ("stall", "slow") \
            else None
        if lasts is not None and now < at + lasts:
            return False
    return not sim.refusing


@pytest.mark.slow
async def test_chaos_on_every_protocol(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="finxtui")
    async with Simulator(seed=21, max_buffer=4 * 1024 * 1024) as sim:
        tail = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "finxtui", "tail", "bitfinex", "--endpoint", sim.base_url("bitfinex"), "--pair",
            "BTC:USD", "--depth", "10", "--seconds", str(CHAOS_SECONDS + 14), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        statuses: list[tuple[float, object]] = []
        loop = asyncio.get_running_loop()

        def hook(message: object) -> None:
            if isinstance(message, FeedStatus):
                statuses.append((loop.time(), message.status))

        cfg = demo_config(Config(), sim)
        app = FinxApp(cfg, LiveSource(cfg))
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            await wait_for(pilot, lambda: all_live(app), timeout=15)
            # Quiet thresholds short enough that a 2.5 s stall is visible as stale.
            app.source.feeds["bitfinex"].channel_silence = 1.5  # type: ignore[union-attr]
            app.source.feeds["bitmex"].book_silence = 1.5  # type: ignore[union-attr]
            sim.faults.chaos(interval=0.7, seed=4, stall_seconds=2.5)
            await pilot.pause(CHAOS_SECONDS)
            sim.faults.chaos(0)
            history = list(sim.faults.history)
            # One pass of the event loop, no wall-clock wait: a restart the last chaos tick spawned has then started
            # (its first step was queued before this task resumes), so it is in the history and holds the port.
            await asyncio.sleep(0)
            await wait_for(pilot, lambda: faults_over(sim), timeout=10, what="every injected fault over")
            app.source.feeds["bitfinex"].channel_silence = 20.0  # type: ignore[union-attr]
            app.source.feeds["bitmex"].book_silence = 20.0  # type: ignore[union-attr]
            sim.set_rate(0)
            await pilot.press("r")  # reconnect everything now rather than wait out a long backoff
            venues = ("bitfinex", "bitmex", "finazon")
            await wait_for(pilot, lambda: all(app.state.health[v].state == "live" for v in venues), timeout=20)
            # FinX streams go live with their first tick: step the paused market until every pair has ticked, and
            # again (a stream may not have had its socket yet) until every source is live.
            every_pair_ticks = market_moves(sim, *(a_tick(p) for p in PAIRS))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(20):
                    while not all_live(app):
                        every_pair_ticks()
                        with contextlib.suppress(AssertionError):
                            await wait_for(pilot, lambda: all_live(app), timeout=1)
            assert all_live(app), {s: (h.state, h.detail) for s, h in app.state.health.items()}
            for source in ("bitfinex", "bitmex"):
                for pair in PAIRS:
                    await wait_for(pilot, lambda s=source, p=pair: app.state.book(s, p) is not None and
                                   app.state.book(s, p).top(25) == sim_top(sim, s, p, 25), timeout=10)
            # Keep stepping so tail, if it reconnected meanwhile, prints the final book: a batch at a time, each
            # taken in by the monitor (over its own sockets to the same venue) before the next.
            for _ in range(8):
                sim.step(20)
                for pair in PAIRS:
                    await wait_for(pilot, lambda p=pair: app.state.book("bitfinex", p) is not None and
                                   app.state.book("bitfinex", p).top(25) == sim_top(sim, "bitfinex", p, 25), timeout=10)
            sim.set_rate(0)
        out, err = await asyncio.wait_for(tail.communicate(), 60)
        # tail ran on until its --seconds were up, well after the last step: the venue's book as tail ended.
        final_btc = sim_top(sim, "bitfinex", "BTC:USD", 10)

    kinds = {kind for _, kind, _, _ in history}
    assert {"drop", "stall", "garbage", "slow"} <= kinds, f"the chaos run was too tame: {kinds}"

    # No unhandled exception anywhere.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]
    assert "Traceback" not in err.decode()

    # Every reconnect came when its announced backoff said (with half a second of slack for a busy loop).
    by_source: dict[str, list[tuple[float, object]]] = {}
    for t, status in statuses:
        if not status.scope:
            by_source.setdefault(status.source, []).append((t, status))
    for source, seq in by_source.items():
        if source == "finx":
            continue  # one merged status for several sockets: its details interleave (each stream is a Feed too)
        for (t, status), nxt in itertools.pairwise(seq):
            m = re.search(r"retrying in ([0-9.]+)s", status.detail)
            if status.state == "reconnecting" and m:
                t_next, following = nxt
                assert following.state in ("connecting", "error"), (source, status, following)
                assert t_next - t <= float(m.group(1)) + 0.5, (source, status.detail, t_next - t)

    # Faults were visible in the statuses: a checksum or sequence fault as resyncing, a stall as stale.
    states = {(s.source, s.state) for _, s in statuses}
    if {"bad_checksum", "skip_seq"} & kinds:
        assert ("bitfinex", "resyncing") in states
    stalled = {source for _, kind, source, _ in history if kind == "stall"}
    for source in stalled & {"bitfinex", "bitmex", "finazon"}:
        assert (source, "stale") in states or (source, "reconnecting") in states, source
    assert any(state == "reconnecting" for _, state in states)

    # tail survived it all, and if it was live at the end, its last book is the venue's book.
    lines = [orjson.loads(line) for line in out.decode().splitlines()]
    assert tail.returncode == 0
    tail_states = [e["state"] for e in lines if e["type"] == "status"]
    assert "reconnecting" in tail_states or "resyncing" in tail_states
    if tail_states[-1] == "live":
        books = [e for e in lines if e["type"] == "book" and e["pair"] == "BTC:USD"]
        assert (books[-1]["bids"], books[-1]["asks"]) == ([list(x) for x in final_btc[0]],
                                                         [list(x) for x in final_btc[1]])
