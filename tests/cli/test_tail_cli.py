"""``finx-tui tail`` as scripts use it: JSON lines with the contract's shapes, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from finxtui.sim.server import Simulator

ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def run(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "finxtui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or ENV)


def lines(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_bitfinex_demo_count_and_shapes() -> None:
    proc = run("tail", "bitfinex", "--demo", "--pair", "BTC:USD", "--count", "200", "--depth", "5")
    assert proc.returncode == 0, proc.stderr
    events = lines(proc)
    assert len(events) == 200
    kinds = {e["type"] for e in events}
    assert {"status", "book"} <= kinds
    for e in events:
        assert e["source"] == "bitfinex"
        if e["type"] == "book":
            assert e["pair"] == "BTC:USD" and set(e) == {"type", "source", "pair", "bids", "asks"}
            bids, asks = e["bids"], e["asks"]
            assert 0 < len(bids) <= 5 and 0 < len(asks) <= 5
            assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True), "best bid first"
            assert [p for p, _ in asks] == sorted(p for p, _ in asks), "best ask first"
            assert bids[0][0] < asks[0][0]
            assert all(isinstance(x, (int, float)) for level in bids + asks for x in level)
        elif e["type"] == "trade":
            assert e["side"] in ("buy", "sell") and e["price"] > 0 and e["size"] > 0 and e["ts"] > 1e9
        elif e["type"] == "status":
            assert e["state"] in ("connecting", "live", "resyncing", "stale", "reconnecting", "error")
            assert isinstance(e["detail"], str)
    states = [e["state"] for e in events if e["type"] == "status"]
    assert states[0] == "connecting" and "live" in states


def test_stats_and_quiet() -> None:
    proc = run("tail", "bitfinex", "--demo", "--count", "300", "--quiet", "--stats")
    assert proc.returncode == 0, proc.stderr
    out = lines(proc)
    assert len(out) == 1 and out[0]["type"] == "stats" and out[0]["events"] == 300
    assert out[0]["seconds"] > 0 and out[0]["rate"] > 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_tail_like_its_time_limit(sig: signal.Signals) -> None:
    """Ctrl-C or a kill: the lines so far, then the stats line, exit 0. Started with SIGINT ignored, as a job
    from a non-interactive shell (``nohup … &``) is, so it must be tail's own handler that stops it."""
    # stderr to a file: communicate() on two pipes would skip what readline() has already buffered.
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "finxtui", "tail", "bitfinex", "--demo", "--stats"],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=ENV,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            assert proc.stdout is not None
            first = json.loads(proc.stdout.readline())
            assert first["type"] == "status", first
            proc.send_signal(sig)
            rest, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
        err.seek(0)
        stderr = err.read()
    assert proc.returncode == 0, stderr
    out = [first, *(json.loads(line) for line in rest.splitlines())]
    assert out[-1]["type"] == "stats" and out[-1]["events"] == len(out) - 1, (out[-1], len(out))
    assert "Traceback" not in stderr


def test_seconds_limit_ends_the_stream() -> None:
    proc = run("tail", "finazon", "--demo", "--seconds", "2.5", "--interpolate", "4")
    assert proc.returncode == 0, proc.stderr
    events = lines(proc)
    bars = [e for e in events if e["type"] == "bar"]
    ticks = [e for e in events if e["type"] == "tick"]
    assert bars and all({"o", "h", "l", "c", "v", "ts"} <= set(b) for b in bars)
    assert all(b["l"] <= min(b["o"], b["c"]) and b["h"] >= max(b["o"], b["c"]) for b in bars)
    assert ticks and all(t["exchange"] == "interpolated" for t in ticks)


def test_bitmex_demo_has_positions_with_the_contract_fields() -> None:
    proc = run("tail", "bitmex", "--demo", "--seconds", "4")
    assert proc.returncode == 0, proc.stderr
    events = lines(proc)
    positions = [e for e in events if e["type"] == "position"]
    assert positions
    for p in positions:
        assert {"symbol", "qty", "entry_price", "mark_price", "liq_price", "unrealised_pnl", "leverage"} <= set(p)
    assert {p["symbol"] for p in positions} >= {"XBTUSD"}
    books = [e for e in events if e["type"] == "book"]
    assert books and {b["pair"] for b in books} >= {"BTC:USD"}


async def test_bare_endpoint_flag_reaches_a_given_server() -> None:
    async with Simulator(seed=3) as sim:
        import asyncio

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "finxtui", "tail", "bitfinex", "--endpoint", sim.base_url("bitfinex"),
            "--pair", "ETH:USD", "--count", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=ENV)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert len(events) == 20
    assert any(e["type"] == "book" and e["pair"] == "ETH:USD" for e in events)
    assert sim.base_url("bitfinex").split("//")[1] in events[0]["detail"]


def test_unreachable_venue_reports_and_exits_cleanly() -> None:
    proc = run("tail", "bitmex", "--endpoint", "ws://127.0.0.1:9", "--seconds", "2")
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    states = [e["state"] for e in lines(proc) if e["type"] == "status"]
    assert "reconnecting" in states


@pytest.mark.parametrize(("args", "words"), [
    (("tail", "bitfinex", "--demo", "--pair", "DOGE:XYZ"), "unknown pair"),
    (("tail", "bitfinex", "--demo", "--pair", "AAPL"), "does not list AAPL"),
    (("tail", "bitfinex", "--endpoint", "http://x"), "ws:// or wss://"),
    (("tail", "kraken"), "invalid choice"),
])
def test_usage_errors_are_one_clear_line(args: tuple[str, ...], words: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_a_closed_pipe_is_a_normal_end() -> None:
    proc = subprocess.run(f"{sys.executable} -m finxtui tail bitfinex --demo --count 5000 | head -n 3",
                          shell=True, capture_output=True, text=True, timeout=60, env=ENV)
    assert len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_planted_secrets_never_appear() -> None:
    env = dict(ENV, BITMEX_API_KEY="PLANTEDKEY123456789012", BITMEX_API_SECRET="PLANTED-SECRET-abcdefghij",
               FINX_API_KEY="PLANTED-FINX-KEY", FINAZON_API_KEY="PLANTED-FINAZON-KEY")
    for source in ("bitmex", "finazon", "finx"):
        proc = run("tail", source, "--endpoint", "ws://127.0.0.1:9", "--seconds", "1.5", "--log-level", "DEBUG",
                   env=env)
        for secret in ("PLANTEDKEY123456789012", "PLANTED-SECRET-abcdefghij", "PLANTED-FINX-KEY",
                       "PLANTED-FINAZON-KEY"):
            assert secret not in proc.stdout and secret not in proc.stderr, (source, secret)


def test_bitmex_demo_prints_orders_and_fills() -> None:
    """The demo account trades: ``order`` and ``execution`` lines with the contract's fields (DESIGN.md, "Account
    tables in tail"). Read until both kinds have come, within a bound; the demo's first fill takes seconds."""
    proc = subprocess.Popen([sys.executable, "-m", "finxtui", "tail", "bitmex", "--demo", "--seconds", "90"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    orders: list[dict] = []
    fills: list[dict] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["type"] == "order":
                orders.append(event)
            elif event["type"] == "execution":
                fills.append(event)
            if orders and fills:
                break
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert orders and fills, "the demo account placed and filled orders within the bound"
    for o in orders:
        assert {"source", "pair", "symbol", "order_id", "side", "price", "qty", "leaves_qty", "status"} <= set(o)
        assert o["source"] == "bitmex" and o["side"] in ("buy", "sell") and o["qty"] > 0
        assert o["pair"] in ("BTC:USD", "ETH:USD", "SOL:USD") and o["status"] in ("new", "partially_filled",
                                                                                   "filled", "canceled")
    for f in fills:
        assert {"source", "pair", "symbol", "order_id", "exec_id", "side", "price", "qty", "ts"} <= set(f)
        assert f["price"] > 0 and f["qty"] > 0 and f["ts"] > 1e9
        assert f["order_id"] in {o["order_id"] for o in orders}


def test_a_source_without_its_key_is_an_error_line_flagged_off() -> None:
    """No key is "off" in the monitor, but tail's states end at "error" (DESIGN.md): the line says error, names
    the variable to set, and carries ``"off": true`` so a reader can tell a choice from a fault."""
    sim = subprocess.Popen([sys.executable, "-m", "finxtui", "sim", "--port", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        assert sim.stdout is not None
        base = sim.stdout.readline().rsplit(" on ", 1)[1].strip()
        assert base.startswith("ws://127.0.0.1:"), base
        env = {k: v for k, v in ENV.items() if k not in ("FINX_API_KEY", "FINAZON_API_KEY")}
        for source, var in (("finx", "FINX_API_KEY"), ("finazon", "FINAZON_API_KEY")):
            proc = run("tail", source, "--endpoint", f"{base}/{source}", "--count", "1", "--seconds", "20", env=env)
            assert proc.returncode == 0, proc.stderr
            (line,) = lines(proc)
            assert line["type"] == "status" and line["state"] == "error" and line["off"] is True, line
            assert var in line["detail"]
    finally:
        sim.terminate()
        sim.communicate(timeout=30)
