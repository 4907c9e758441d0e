"""``finx-tui record`` end to end: against a parallel ``tail``, under SIGKILL, on bad directories, with keys."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from finxtui.model.events import Tick, Trade
from finxtui.record.replay import ReplayStats, replay_events
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.market import SimTick, SimTrade
from finxtui.sim.server import Simulator
from tests.record.helpers import collect, final_books, read_csv, recorded_files

ENV = dict(os.environ, PYTHONUNBUFFERED="1")
PAIRS = ["BTC:USD", "ETH:USD"]
SOURCES = ["bitfinex", "bitmex", "finx"]
PAIR_ARGS = [arg for pair in PAIRS for arg in ("--pair", pair)]


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "finxtui", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def clients(sim: Simulator, source: str, pair: str) -> int:
    """How many client connections get every stream of ``pair`` from ``source``."""
    conns = sim.connections[source]
    if source == "finx":
        return len([c for c in sim.subscriptions.ticks.get(pair, ()) if c in conns])
    trades = len([c for c in sim.subscriptions.trades.get((source, pair), ()) if c in conns])
    books = sum(len(c) for c in sim.subscriptions.books.get((source, pair), {}).values())
    return min(trades, books)


def sim_top(sim: Simulator, source: str, pair: str) -> tuple[list, list]:
    book = sim.market.books[(source, pair)]
    return book.levels("bid", 25), book.levels("ask", 25)


def by_stream(lines: list[dict], kinds: tuple[str, ...] = ("book", "trade", "tick")) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for line in lines:
        if line["type"] in kinds:
            out[(line["type"], line["pair"])].append(line)
    return dict(out)


async def wait_for(predicate, timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def test_recording_equals_a_parallel_tail_and_replays_to_the_live_books(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    async with Simulator(seed=11, rate=0) as sim:
        env = dict(ENV, **sim.credentials.as_client_env())
        endpoints = [arg for s in SOURCES for arg in ("--endpoint", f"{s}={sim.base_url(s)}")]
        sources = [arg for s in SOURCES for arg in ("--source", s)]
        recorder = await spawn("record", "--out", str(out), *sources, *PAIR_ARGS, *endpoints, env=env)
        tails = {s: await spawn("tail", s, "--endpoint", sim.base_url(s), *PAIR_ARGS, "--depth", "25", env=env)
                 for s in SOURCES}
        # Drain every pipe from the start: a full pipe would stall a tail and change what it sees.
        outputs = {name: asyncio.create_task(proc.communicate())
                   for name, proc in [("record", recorder), *tails.items()]}
        try:
            async def both_subscribed() -> bool:
                return all(clients(sim, s, p) == 2 for s in SOURCES for p in PAIRS)

            await wait_for(both_subscribed, 30, "recorder and tails subscribed")
            expected: Counter[tuple[str, str, str]] = Counter()
            for i in range(800):  # one dispatch a step: hundreds of book frames, dozens of trades and ticks
                for ev in sim.step(1):
                    if ev.pair in PAIRS and type(ev) is SimTrade:
                        expected[("trade", ev.venue, ev.pair)] += 1
                    elif ev.pair in PAIRS and type(ev) is SimTick:
                        expected[("tick", "finx", ev.pair)] += 1
                if i % 40 == 0:
                    await asyncio.sleep(0.01)
            assert sum(expected.values()) > 50

            async def recording_complete() -> bool:
                events = await collect(replay_events(out, sources=SOURCES, pairs=PAIRS))
                counts = Counter((e.type, e.source, e.pair) for e in events if isinstance(e, Trade | Tick))
                books = final_books(events)
                return counts == expected and all(books.get((s, p)) == sim_top(sim, s, p)
                                                  for s in ("bitfinex", "bitmex") for p in PAIRS)

            await wait_for(recording_complete, 20, "the recording caught up with the simulator")
        finally:
            for proc in [recorder, *tails.values()]:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGINT)
            results = {name: await asyncio.wait_for(task, 30) for name, task in outputs.items()}

    assert recorder.returncode == 0, results["record"][1].decode()
    assert "SIGINT, stopped:" in results["record"][1].decode()
    for path in recorded_files(out):
        read_csv(path)  # every file parses: one header, whole rows

    for source in SOURCES:
        live = [json.loads(line) for line in results[source][0].decode().splitlines()]
        live_streams = by_stream(live)
        replayed_proc = await spawn("tail", source, "--replay", str(out), *PAIR_ARGS, "--depth", "25", env=ENV)
        stdout, stderr = await asyncio.wait_for(replayed_proc.communicate(), 60)
        assert replayed_proc.returncode == 0, stderr.decode()
        replayed = by_stream([json.loads(line) for line in stdout.decode().splitlines()])
        # The same events in the same order per pair: every trade and tick, and every book state.
        assert replayed.keys() == live_streams.keys(), source
        for key in live_streams:
            assert replayed[key] == live_streams[key], (source, key)
        for pair in PAIRS:
            if source == "finx":
                assert len(live_streams.get(("tick", pair), [])) == expected[("tick", "finx", pair)]
                continue
            assert len(live_streams[("trade", pair)]) == expected[("trade", source, pair)]
            last = live_streams[("book", pair)][-1]
            bids, asks = sim_top(sim, source, pair)
            assert (last["bids"], last["asks"]) == ([list(b) for b in bids], [list(a) for a in asks])


def test_sigkill_mid_write_leaves_whole_rows_and_a_restart_appends(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    cmd = [sys.executable, "-m", "finxtui", "--rate", "3000", "record", "--out", str(out), "--demo"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.monotonic() + 30
        while sum(p.stat().st_size for p in out.rglob("*.csv")) < 200_000:  # well into a busy stream
            assert time.monotonic() < deadline, "the recorder wrote nothing"
            assert proc.poll() is None, "the recorder died"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    before = {path: read_csv(path)[1] for path in recorded_files(out)}  # no broken row anywhere
    assert len(before) > 20

    again = subprocess.run([*cmd, "--seconds", "1.5"], capture_output=True, text=True, timeout=60, env=ENV)
    assert again.returncode == 0, again.stderr
    grew = 0
    for path in recorded_files(out):
        _, rows = read_csv(path)  # still one header, whole rows
        old = before.get(path, [])
        assert rows[:len(old)] == old, f"{path}: earlier rows changed"
        grew += len(rows) > len(old)
    assert grew > 20
    stats = ReplayStats()
    events = asyncio.run(collect(replay_events(out, stats=stats)))
    assert events and stats.skipped == 0


def test_a_directory_that_cannot_be_made_is_a_clear_error_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-m", "finxtui", "record", "--out", str(blocker / "rec"), "--demo",
                           "--seconds", "30"], capture_output=True, text=True, timeout=20, env=ENV)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"finx-tui record: cannot create {blocker / 'rec'}: Not a directory"]


def test_a_read_only_directory_is_a_clear_error_at_once() -> None:
    prefix: list[str] = []
    if os.geteuid() == 0:  # root writes anywhere: run the recorder as nobody
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop to an unprivileged user")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    base = Path(tempfile.mkdtemp(prefix="finx-ro-"))
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir(mode=0o777)
        home.chmod(0o777)
        readonly = base / "ro"
        readonly.mkdir()
        readonly.chmod(0o555)
        env = dict(ENV, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
                   XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
        proc = subprocess.run([*prefix, sys.executable, "-m", "finxtui", "record", "--out", str(readonly), "--demo",
                               "--seconds", "30"], capture_output=True, text=True, timeout=20, env=env, cwd=base)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.strip().splitlines() == [f"finx-tui record: cannot write to {readonly}: Permission denied"]
        assert list(readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


async def test_keys_never_reach_a_recording_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    accepted = SimCredentials(bitmex_key="PLANTEDbitmexKEY0001", bitmex_secret="PLANTEDbitmexSECRET00000000000001",
                              finx_key="PLANTEDfinxKEY0001", finazon_key="PLANTEDfinazonKEY0001")
    wrong_finx = "PLANTEDwrongFINXkey0002"  # rejected by the venue: its error path must not leak it either
    out = tmp_path / "rec"
    async with Simulator(seed=5, credentials=accepted) as sim:
        env = {**ENV, **accepted.as_client_env(), "FINX_API_KEY": wrong_finx}
        endpoints = [arg for s in ("finx", "bitmex", "finazon") for arg in ("--endpoint", f"{s}={sim.base_url(s)}")]
        proc = await spawn("record", "--out", str(out), "--source", "finx", "--source", "bitmex",
                           "--source", "finazon", *endpoints, env=env)
        communicate = asyncio.create_task(proc.communicate())
        try:
            async def account_and_error_recorded() -> bool:
                text = "".join(p.read_text() for p in out.glob("status/*/*.csv"))
                return ",account,live," in text and ",error," in text and bool(list(out.glob("bars/finazon/*")))

            await wait_for(account_and_error_recorded, 30, "account live, finx rejected, finazon bars")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(communicate, 30)
    assert proc.returncode == 0
    assert "SIGTERM, stopped:" in stderr.decode()
    planted = [accepted.bitmex_key, accepted.bitmex_secret, accepted.finx_key, accepted.finazon_key, wrong_finx]
    everything = "".join(p.read_text() for p in recorded_files(out)) + stderr.decode()
    assert not [key for key in planted if key in everything]
    assert "apikey=***" in everything or "/streaming/***/" in everything  # the URLs are there, redacted


def test_replay_and_tail_replay_say_what_is_wrong(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["replay", str(tmp_path / "missing")], f"finx-tui replay: {tmp_path / 'missing'}: no such directory"),
        (["replay", str(empty)], "holds no finx-tui recording"),
        (["tail", "bitfinex", "--replay", str(empty)], "holds no finx-tui recording"),
    ]
    for args, words in cases:
        proc = subprocess.run([sys.executable, "-m", "finxtui", *args], capture_output=True, text=True, timeout=30,
                              env=ENV)
        assert proc.returncode == 2, args
        assert words in proc.stderr and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
