"""idle: CPU of the app on a quiet market (10 book updates/s) over 60 s.

The simulator runs in its own process at ``--rate 10``; the app runs here headless at 160x50 (every panel on
screen) with every source on, pointed at it. After every feed is live and a settling pause, CPU time (user +
system) of this process is read over the window, with the paints and widget rebuilds that happened in it. No
lag probe runs (it would wake the loop 200 times a second and cost more than what is measured).

    python benchmarks/idle.py [--seconds 60] [--rate 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.apphelp import SIZE, Meter, all_live, bench_app, book_ready, wait_until
from benchmarks.common import machine, publish, start_sim, verdict


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    sim = start_sim(args.rate, seed=args.seed)
    meter = Meter()
    try:
        app = bench_app(sim.url)
        meter.attach(app)
        async with app.run_test(size=SIZE):
            await wait_until(lambda: book_ready(app) and all_live(app), 30, "every feed live with a book")
            await asyncio.sleep(args.settle)
            s0 = meter.snapshot()
            sc0 = sim.cpu()
            await asyncio.sleep(args.seconds)
            s1 = meter.snapshot()
            sc1 = sim.cpu()
    finally:
        meter.close()
        sim.stop()
    d = Meter.delta(s0, s1)
    wall = d["t"]
    return {"benchmark": "idle", "rate": args.rate, "seconds": wall, "cpu": d["cpu"] / wall,
            "ui_cpu": (d["paint_cpu"] + d["poll_cpu"]) / wall, "paints_per_s": d["frames"] / wall,
            "rebuilds_per_s": d["rebuilds"] / wall, "frames_in_per_s": d["frames_in"] / wall,
            "kib_per_s": d["bytes"] / wall / 1024, "sim_cpu": (sc1 - sc0) / wall}


def report(data: dict[str, Any]) -> str:
    return ("| market | window | app CPU (one core) | of which UI | paints/s | widget rebuilds/s | frames in/s | "
            "to terminal | sim CPU | target < 3% |\n|---|---|---|---|---|---|---|---|---|---|\n"
            f"| {data['rate']:g} updates/s | {data['seconds']:.0f} s | **{data['cpu']:.2%}** | {data['ui_cpu']:.2%} | "
            f"{data['paints_per_s']:.1f} | {data['rebuilds_per_s']:.1f} | {data['frames_in_per_s']:.1f} | "
            f"{data['kib_per_s']:.1f} KiB/s | {data['sim_cpu']:.1%} | {verdict(data['cpu'] < 0.03)} |")


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("idle CPU < 3% of a core (10 updates/s)", f"{data['cpu']:.2%}", verdict(data["cpu"] < 0.03))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="CPU of the app on a quiet market")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="simulator book updates a second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after every feed is live")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = asyncio.run(bench(args))
    publish("idle", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
