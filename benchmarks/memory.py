"""memory: RSS of the app after N minutes at 5k book updates/s with 10 pairs, and its growth over the second half.

The simulator runs in its own process with three more pairs than its default seven (LTC, ADA and DOT on
Bitfinex, added through ``Market(pairs=..., books=...)`` in ``benchmarks/common.py``, defaults untouched); the
app runs here headless at 160x50 (every panel on screen) with all ten pairs in its watchlist and every source
on. RSS (VmRSS of this process, which is only the app: the benchmark imports nothing heavy of its own) is
sampled every few seconds. Growth compares the median of the samples around the half-way point with the median
of the last ones. The count of live Python objects is taken at both points too, which tells a leak from
allocator noise.

    python benchmarks/memory.py [--minutes 2] [--rate 5000] [--json out.json]    # --minutes 10 for a soak
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.apphelp import SIZE, Meter, all_live, bench_app, book_ready, wait_until
from benchmarks.common import machine, median, proc_rss, publish, start_sim, verdict

MIB = 1024 * 1024


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    baseline = proc_rss()
    sim = start_sim(args.rate, seed=args.seed, extra_pairs=3)
    meter = Meter()
    samples: list[tuple[float, int]] = []
    objects: dict[str, int] = {}
    try:
        app = bench_app(sim.url, extra_pairs=3)
        meter.attach(app)
        async with app.run_test(size=SIZE):
            await wait_until(lambda: book_ready(app) and all_live(app), 40, "every feed live with a book")
            pairs = len(app.watchlist)
            books = len(app.state.books)
            total = args.minutes * 60
            start = time.monotonic()
            s0 = meter.snapshot()
            half_done = False
            while (elapsed := time.monotonic() - start) < total:
                samples.append((elapsed, proc_rss()))
                if not half_done and elapsed >= total / 2:
                    half_done = True
                    objects["half"] = len(gc.get_objects())
                await asyncio.sleep(args.every)
            samples.append((time.monotonic() - start, proc_rss()))
            objects["end"] = len(gc.get_objects())
            s1 = meter.snapshot()
            health = {s: h.state for s, h in app.state.health.items()}
    finally:
        meter.close()
        sim.stop()
    d = Meter.delta(s0, s1)
    total = samples[-1][0]
    mid = [r for t, r in samples if abs(t - total / 2) <= max(args.every * 1.5, total * 0.05)]
    last = [r for t, r in samples if t >= total - max(args.every * 2.5, total * 0.05)]
    rss_mid = median(mid)
    rss_end = median(last)
    return {"benchmark": "memory", "minutes": total / 60, "rate": args.rate, "pairs": pairs, "books": books,
            "baseline_mib": baseline / MIB, "rss_end_mib": rss_end / MIB, "rss_mid_mib": rss_mid / MIB,
            "rss_max_mib": max(r for _, r in samples) / MIB, "growth": (rss_end - rss_mid) / rss_mid,
            "objects": objects, "cpu": d["cpu"] / d["t"], "frames_in_per_s": d["frames_in"] / d["t"],
            "samples": [(round(t, 1), round(r / MIB, 2)) for t, r in samples], "health": health}


def report(data: dict[str, Any]) -> str:
    obj = data["objects"]
    return ("| run | pairs (books) | RSS at half-time | RSS at end | growth, second half | max | live objects "
            "half → end | CPU | targets: < 120 MB (DESIGN ≤ ~64 MiB), growth < 5% |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
            f"| {data['minutes']:.1f} min at {data['rate']:g}/s | {data['pairs']} ({data['books']}) | "
            f"{data['rss_mid_mib']:.1f} MiB | **{data['rss_end_mib']:.1f} MiB** | **{data['growth']:+.1%}** | "
            f"{data['rss_max_mib']:.1f} MiB | {obj.get('half', 0):,} → {obj.get('end', 0):,} | {data['cpu']:.0%} | "
            f"{verdict(data['rss_end_mib'] * 1.048576 < 120)} ({verdict(data['rss_end_mib'] <= 64)}), "
            f"{verdict(abs(data['growth']) < 0.05)} |")


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f"RSS < 120 MB after {data['minutes']:.0f} min at 5k/s, 10 pairs (DESIGN ≤ ~64 MiB)",
             f"{data['rss_end_mib']:.1f} MiB", f"{verdict(data['rss_end_mib'] * 1.048576 < 120)} / "
             f"{verdict(data['rss_end_mib'] <= 64)}"),
            ("RSS growth < 5% over the second half", f"{data['growth']:+.1%}", verdict(abs(data["growth"]) < 0.05))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="RSS of the app over time with 10 pairs at 5k/s")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = asyncio.run(bench(args))
    publish("memory", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
