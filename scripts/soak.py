"""Soak: the monitor for a long time at a high rate with 10 pairs; RSS, tasks and sockets must stay flat.

    python scripts/soak.py --minutes 60 --rate 5000          # the issue's hour
    python scripts/soak.py --minutes 20 --interval 60        # a shorter run

The simulator runs in its own process (10 pairs: the standard seven plus three more Bitfinex pairs), the
monitor headless at 120x40 in this one, with every source connected and the simulator injecting a random
fault every ``--chaos`` seconds (0 turns that off), so reconnects and resyncs happen for real. Every
``--interval`` seconds it prints one row: RSS, asyncio tasks, open sockets, events applied, events/s, loop-lag
p99, CPU and reconnects so far; at the end, the growth of each over the second half. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import bench_config, start_sim  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_sockets() -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(fd).startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(0.05)
        samples.append(max(0.0, loop.time() - start - 0.05) * 1000)


async def soak(args: argparse.Namespace) -> int:
    from finxtui.sources import LiveSource
    from finxtui.ui.app import FinxApp

    sim = start_sim(args.rate, seed=args.seed, extra_pairs=3)
    try:
        cfg = bench_config(sim.url, extra_pairs=3)
        app = FinxApp(cfg, LiveSource(cfg))
        rows: list[dict[str, float]] = []
        async with app.run_test(size=(120, 40)) as pilot:
            if args.chaos:
                import orjson
                import websockets

                async with websockets.connect(sim.url + "/control") as control:
                    await control.send(orjson.dumps({"op": "chaos", "interval": args.chaos, "seed": 1}).decode())
                    await control.recv()
            lags: list[float] = []
            stop = asyncio.Event()
            probe = asyncio.create_task(lag_probe(lags, stop))
            start = time.monotonic()
            last_wall, last_cpu, last_events = start, time.process_time(), 0
            print(f"soak: {args.minutes} min at {args.rate} updates/s, 10 pairs, chaos every {args.chaos or '-'} s",
                  flush=True)
            print(f"{'min':>6} {'RSS MiB':>8} {'tasks':>6} {'sockets':>8} {'events':>10} {'ev/s':>8} "
                  f"{'lag p99':>8} {'CPU %':>6} {'reconn':>7}", flush=True)
            reconnects = 0
            seen_states: dict[str, str] = {}
            while time.monotonic() - start < args.minutes * 60:
                await pilot.pause(args.interval)
                for source, health in app.state.health.items():
                    if health.state == "reconnecting" and seen_states.get(source) != "reconnecting":
                        reconnects += 1
                    seen_states[source] = health.state
                now, cpu = time.monotonic(), time.process_time()
                events = sum(h.events for h in app.state.health.values())
                window, lags[:] = sorted(lags), []
                row = {"min": (now - start) / 60, "rss": rss_mib(), "tasks": len(asyncio.all_tasks()),
                       "sockets": open_sockets(), "events": events,
                       "rate": (events - last_events) / (now - last_wall),
                       "lag_p99": window[int(len(window) * 0.99)] if window else 0.0,
                       "cpu": 100 * (cpu - last_cpu) / (now - last_wall), "reconnects": reconnects}
                rows.append(row)
                last_wall, last_cpu, last_events = now, cpu, events
                print(f"{row['min']:6.1f} {row['rss']:8.1f} {row['tasks']:6d} {row['sockets']:8d} {events:10d} "
                      f"{row['rate']:8.0f} {row['lag_p99']:8.1f} {row['cpu']:6.1f} {reconnects:7d}", flush=True)
            stop.set()
            await probe
        half = rows[len(rows) // 2:]
        if len(half) >= 2:
            first, last = half[0], half[-1]
            growth = 100 * (last["rss"] - first["rss"]) / first["rss"]
            print(f"second half: RSS {first['rss']:.1f} -> {last['rss']:.1f} MiB ({growth:+.1f}%), "
                  f"tasks {min(r['tasks'] for r in half)}-{max(r['tasks'] for r in half)}, "
                  f"sockets {min(r['sockets'] for r in half)}-{max(r['sockets'] for r in half)}, "
                  f"median {statistics.median(r['rate'] for r in half):.0f} events/s, "
                  f"median CPU {statistics.median(r['cpu'] for r in half):.0f}%", flush=True)
        return 0
    finally:
        sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=5000.0, help="simulated book updates a second")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between rows")
    parser.add_argument("--chaos", type=float, default=20.0, help="a random fault every N seconds (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
