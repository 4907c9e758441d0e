"""One hub on the simulator feeding 1, 5 and 20 readers, against the same number of standalone clients.

Every part in its own process: ``nats-server -js`` (a temporary store), the simulator (``finx-tui sim --rate``),
``finx-tui hub`` on both, and N readers. A reader is what ``finx-tui tail bitfinex --hub URL --quiet`` runs
(a :class:`~finxtui.sources.HubSource` of one venue, every event taken, nothing printed) plus a clock: for
each book update it notes ``now - ts``, ``ts`` being the hub's receipt time of that venue frame (one machine,
one clock), so the lag is hub receipt → reader apply. Figures: hub CPU, nats-server CPU, CPU per reader,
lag p50/p99 over all readers, and the simulator's connections per venue; then N standalone
``finx-tui tail bitfinex --endpoint … --quiet`` processes on the same simulator: their connections and CPU.

    python benchmarks/hub_fanout.py [--clients 1 5 20] [--rate 5000] [--seconds 10] [--warm 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import TREE, Control, fmt, machine, proc_cpu, publish, quantile, start_sim, verdict

VENUE = "bitfinex"
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(TREE)}


# -- the reader (a child process) ------------------------------------------------------------------------

async def read(url: str, flags: Path, index: int) -> dict[str, Any]:
    """Read until ``flags/stop`` appears; measure between ``flags/start`` and then (``flags/ready-N`` says we read)."""
    from finxtui.config import Config
    from finxtui.model.events import BookUpdate
    from finxtui.sources import HubSource

    cfg = Config()
    pairs = [p for p in cfg.watchlist if VENUE in cfg.pairs.sources_for(p)]
    source = HubSource(url, cfg, venues=[VENUE], pairs=pairs, hub_status=False)
    lags: list[float] = []
    events = 0
    state = {"measuring": False, "cpu0": 0.0, "cpu": 0.0, "t0": 0.0, "t": 0.0}

    async def watch() -> None:
        while not (flags / "start").exists():
            await asyncio.sleep(0.05)
        state.update(measuring=True, cpu0=time.process_time(), t0=time.monotonic())
        while not (flags / "stop").exists():
            await asyncio.sleep(0.05)
        state.update(measuring=False, cpu=time.process_time() - state["cpu0"], t=time.monotonic() - state["t0"])

    watcher = asyncio.create_task(watch())
    ready = False
    async with asyncio.timeout(600):
        async for event in source:
            if not ready and isinstance(event, BookUpdate):
                ready = True
                (flags / f"ready-{index}").touch()
            if state["measuring"]:
                events += 1
                if isinstance(event, BookUpdate) and event.ts:
                    lags.append(time.time() - event.ts)
            elif watcher.done():
                break
    await source.stop()
    return {"events": events, "lags": lags, "cpu": state["cpu"], "seconds": state["t"], "resyncs": source.resyncs,
            "rejected": source.rejected}


def reader_main(args: argparse.Namespace) -> int:
    result = asyncio.run(read(args.hub, Path(args.flags), args.index))
    Path(args.out).write_text(json.dumps(result))
    return 0


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


# -- the run --------------------------------------------------------------------------------------------

class Proc:
    def __init__(self, argv: list[str], *, wait_for: str | None = None, timeout: float = 30.0) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="finx-bench-hub-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE if wait_for else self.log, stderr=self.log,
                                     text=True, cwd=TREE, env=env())
        self.line = ""
        if wait_for:
            assert self.proc.stdout is not None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if wait_for in line:
                    self.line = line
                    break
            if not self.line:
                self.stop()
                raise RuntimeError(f"{argv[:4]} did not print {wait_for!r}; see {self.log.name}")

    def cpu(self) -> float:
        try:
            return proc_cpu(self.proc.pid)
        except OSError:
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def nats_server(store: Path) -> tuple[Proc, str]:
    binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if binary is None:
        raise SystemExit("nats-server is not installed (Debian: apt-get install nats-server)")
    port = free_port()
    proc = Proc([binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"nats://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.stop()
    raise SystemExit("nats-server did not start")


async def connections(sim_url: str) -> dict[str, int]:
    async with Control(sim_url) as control:
        stats = await control.stats()
    return {k: v for k, v in stats["connections"].items() if v}


def measure_hub(n: int, args: argparse.Namespace, hub: Proc, nats: Proc, sim_url: str, url: str) -> dict[str, Any]:
    flags = Path(tempfile.mkdtemp(prefix="finx-bench-flags-"))
    outs = [flags / f"out-{i}.json" for i in range(n)]
    readers = [Proc([sys.executable, str(Path(__file__).resolve()), "reader", "--hub", url, "--flags", str(flags),
                     "--index", str(i), "--out", str(out)]) for i, out in enumerate(outs)]
    # Python processes starting on two cores take a while: measure only once every reader reads.
    wait_until(lambda: len(list(flags.glob("ready-*"))) == n, 300, f"{n} readers to read")
    time.sleep(args.warm)
    (flags / "start").touch()
    hub0, nats0, t0 = hub.cpu(), nats.cpu(), time.monotonic()
    time.sleep(args.seconds / 2)
    conns = asyncio.run(connections(sim_url))
    time.sleep(args.seconds / 2)
    hub_cpu, nats_cpu, elapsed = hub.cpu() - hub0, nats.cpu() - nats0, time.monotonic() - t0
    (flags / "stop").touch()
    for reader in readers:
        reader.proc.wait(120)
        reader.stop()
    results = [json.loads(out.read_text()) for out in outs]
    shutil.rmtree(flags, ignore_errors=True)
    lags = sorted(lag for r in results for lag in r["lags"])
    return {"clients": n, "hub_cpu": hub_cpu / elapsed, "nats_cpu": nats_cpu / elapsed,
            "reader_cpu": sum(r["cpu"] / r["seconds"] for r in results) / n,
            "events_per_reader": sum(r["events"] / r["seconds"] for r in results) / n,
            "lag_p50_ms": quantile(lags, 0.5) * 1000 if lags else None,
            "lag_p99_ms": quantile(lags, 0.99) * 1000 if lags else None,
            "joins": sum(r["resyncs"] for r in results), "rejected": sum(r["rejected"] for r in results),
            "connections": conns}


def measure_standalone(n: int, args: argparse.Namespace, sim: Any, hub_conns: int) -> dict[str, Any]:
    tails = [Proc([sys.executable, "-m", "finxtui", "tail", VENUE, "--endpoint", f"{sim.url}/{VENUE}", "--quiet",
                   "--seconds", "600"]) for _ in range(n)]
    wait_until(lambda: asyncio.run(connections(sim.url)).get(VENUE, 0) >= hub_conns + n, 300,
               f"{n} standalone clients to connect")
    time.sleep(args.warm)
    cpu0, t0 = [t.cpu() for t in tails], time.monotonic()
    time.sleep(args.seconds / 2)
    conns = asyncio.run(connections(sim.url))
    time.sleep(args.seconds / 2)
    cpu = sum(t.cpu() - c for t, c in zip(tails, cpu0, strict=True)) / (time.monotonic() - t0)
    for tail in tails:
        tail.stop()
    return {"clients": n, "total_cpu": cpu, "cpu_per_client": cpu / n,
            "connections": {k: v - (hub_conns if k == VENUE else 0) for k, v in conns.items()}}


def run(args: argparse.Namespace) -> dict[str, Any]:
    store = Path(tempfile.mkdtemp(prefix="finx-bench-nats-"))
    nats, url = nats_server(store)
    sim = start_sim(args.rate)
    hub = None
    try:
        argv = [sys.executable, "-m", "finxtui", "hub", "--nats", url, "--http", "127.0.0.1:0"]
        for venue in ("finx", "bitfinex", "bitmex", "finazon"):
            argv += ["--endpoint", f"{venue}={sim.url}/{venue}"]
        hub = Proc(argv, wait_for=" HTTP http://")
        rows = []
        for n in args.clients:
            via_hub = measure_hub(n, args, hub, nats, sim.url, url)
            standalone = measure_standalone(n, args, sim, via_hub["connections"].get(VENUE, 0))
            rows.append({"hub": via_hub, "standalone": standalone})
            print(f"{n} clients: hub {via_hub}; standalone {standalone}", file=sys.stderr)
        return {"benchmark": "hub_fanout", "rate": args.rate, "seconds": args.seconds, "venue": VENUE, "rows": rows}
    finally:
        if hub is not None:
            hub.stop()
        sim.stop()
        nats.stop()
        shutil.rmtree(store, ignore_errors=True)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def report(data: dict[str, Any]) -> str:
    lines = [f"Simulator at {data['rate']} book updates/s (all venues); readers take every {data['venue']} event "
             f"through the hub; {data['seconds']} s windows. CPU in % of one core.", "",
             "| clients | hub CPU | nats-server CPU | CPU per reader | events/s per reader | lag p50 | lag p99 "
             f"(target ≤ {TARGET_P99_MS:g} ms) | upstream connections (hub) | standalone: connections | "
             "standalone: total CPU | hub path: total CPU (hub + nats + readers) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in data["rows"]:
        h, s = row["hub"], row["standalone"]
        total = h["hub_cpu"] + h["nats_cpu"] + h["reader_cpu"] * h["clients"]
        p99 = h["lag_p99_ms"]
        ok = None if p99 is None else p99 <= TARGET_P99_MS
        conns = ", ".join(f"{k} {v}" for k, v in sorted(h["connections"].items()))
        lines.append(f"| {h['clients']} | {pct(h['hub_cpu'])} | {pct(h['nats_cpu'])} | {pct(h['reader_cpu'])} | "
                     f"{fmt(h['events_per_reader'], 0)} | {fmt(h['lag_p50_ms'] or 0, 1)} ms | "
                     f"{fmt(p99 or 0, 1)} ms {verdict(ok)} | {conns} | "
                     f"{s['connections'].get(data['venue'], 0)} | "
                     f"{pct(s['total_cpu'])} | {pct(total)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    reader = sub.add_parser("reader")
    reader.add_argument("--hub", required=True)
    reader.add_argument("--flags", required=True)
    reader.add_argument("--index", type=int, required=True)
    reader.add_argument("--out", required=True)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warm", type=float, default=2.0, help="seconds after every client reads, before measuring")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.mode == "reader":
        return reader_main(args)
    info = machine()
    data = run(args)
    publish("hub_fanout", info, data, report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
