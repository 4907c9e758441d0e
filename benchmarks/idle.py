"""idle: CPU of the app on a quiet market (10 book updates/s), and of the demo as it ships, over 60 s each.

1. **quiet market**: the simulator runs in its own process at ``--rate 10``; the app runs here headless at
   160x50 (every panel on screen) with every source on, pointed at it.
2. **demo**: ``finx-tui --demo`` as it runs: the simulator in-process (on the app's event loop) at its default rate, the
   app on it; CPU is the whole process, simulator included (``--no-demo`` skips it).

After every feed is live and a settling pause, CPU time (user + system) of this process is read over the
window, with the paints and widget rebuilds that happened in it. No lag probe runs (it would wake the loop 200
times a second and cost more than what is measured).

    python benchmarks/idle.py [--seconds 60] [--rate 10] [--no-demo] [--json out.json]
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
from benchmarks.common import Child, machine, publish, start_sim, verdict
from finxtui.ui.widgets.base import PolledLines


async def measure(app: Any, meter: Meter, args: argparse.Namespace, sim: Child | None) -> dict[str, Any]:
    meter.attach(app)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: book_ready(app) and all_live(app), 30, "every feed live with a book")
        await asyncio.sleep(args.settle)
        s0 = meter.snapshot()
        sc0 = sim.cpu() if sim else 0.0
        r0 = {type(w).__name__: w.rebuilds for w in app.query(PolledLines)}
        await asyncio.sleep(args.seconds)
        s1 = meter.snapshot()
        sc1 = sim.cpu() if sim else 0.0
        r1 = {type(w).__name__: w.rebuilds for w in app.query(PolledLines)}
    d = Meter.delta(s0, s1)
    wall = d["t"]
    return {"seconds": wall, "cpu": d["cpu"] / wall, "ui_cpu": (d["paint_cpu"] + d["poll_cpu"]) / wall,
            "paints_per_s": d["frames"] / wall, "lines_per_s": d["restyled"] / wall,
            "rebuilds_per_s": d["rebuilds"] / wall,
            "rebuilds_by_widget": {k: (r1.get(k, 0) - v) / wall for k, v in r0.items()},
            "frames_in_per_s": d["frames_in"] / wall, "book_changes_per_s": d["book_changes"] / wall,
            "kib_per_s": d["bytes"] / wall / 1024, "sim_cpu": (sc1 - sc0) / wall}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"benchmark": "idle", "rate": args.rate}
    sim = start_sim(args.rate, seed=args.seed)
    meter = Meter()
    try:
        out.update(await measure(bench_app(sim.url), meter, args, sim))
    finally:
        meter.close()
        sim.stop()
    if args.demo:
        from finxtui.config import Config
        from finxtui.sources import DemoSource
        from finxtui.ui.app import FinxApp

        cfg = Config()
        meter = Meter()
        try:
            out["demo"] = await measure(FinxApp(cfg, DemoSource(cfg, seed=args.seed)), meter, args, None)
        finally:
            meter.close()
    return out


def report(data: dict[str, Any]) -> str:
    lines = ["| market | window | CPU (one core) | of which UI | paints/s | lines restyled/s | widget rebuilds/s | "
             "frames in/s | to terminal | sim CPU | target |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [(f"{data['rate']:g} updates/s (simulator in its own process)", data, "< 3%", data["cpu"] < 0.03)]
    if "demo" in data:
        d = data["demo"]
        rows.append((f"`finx-tui --demo` (simulator in-process, default rate: {d['book_changes_per_s']:,.0f} level "
                     "changes/s applied)", d, "< 8%", d["cpu"] < 0.08))
    for name, r, target, ok in rows:
        sim = f"{r['sim_cpu']:.1%}" if r["sim_cpu"] else "in the process"
        lines.append(f"| {name} | {r['seconds']:.0f} s | **{r['cpu']:.2%}** | {r['ui_cpu']:.2%} | "
                     f"{r['paints_per_s']:.1f} | {r['lines_per_s']:.0f} | {r['rebuilds_per_s']:.1f} | "
                     f"{r['frames_in_per_s']:.1f} | "
                     f"{r['kib_per_s']:.1f} KiB/s | {sim} | {target}: {verdict(ok)} |")
    if "demo" in data:
        by = ", ".join(f"{k} {v:.1f}" for k, v in sorted(data["demo"]["rebuilds_by_widget"].items()) if v)
        lines.append(f"\nDemo widget rebuilds a second: {by}.")
    return "\n".join(lines)


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = [("idle CPU < 3% of a core (10 updates/s)", f"{data['cpu']:.2%}", verdict(data["cpu"] < 0.03))]
    if "demo" in data:
        rows.append(("demo (finx-tui --demo, default rate) CPU < 8% of a core", f"{data['demo']['cpu']:.2%}",
                     verdict(data["demo"]["cpu"] < 0.08)))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="CPU of the app on a quiet market")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="simulator book updates a second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after every feed is live")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-demo", dest="demo", action="store_false", help="skip the demo's window")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = asyncio.run(bench(args))
    publish("idle", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
