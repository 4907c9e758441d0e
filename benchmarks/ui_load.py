"""ui_load: the app headless at 160x50 (every panel on screen: watchlist, chart, depth, trades, history,
account) on the simulator at 5k and 20k book updates/s.

The simulator runs in its own process (``finx-tui sim --rate N``; the rate is switched over its control
socket); the app runs here with every source on (FinX, Bitfinex, BitMEX, Finazon), as ``finx-tui`` would,
pointed at it with the demo accounts. Rates alternate (5k, 20k, 5k, 20k, ...) and medians are reported.
Per window: event-loop lag p50/p99 (a 5 ms probe), frames painted per second, ms per depth-ladder build,
CPU of this process and of the UI work alone (paint + ANSI encode + widget rebuilds, the chart's and the
tape's included), chart and tape rebuilds per second, frames the simulator sent against frames the feeds
applied (and the backlog growth), and the simulator's achieved rate.

Then a paused phase compares one ladder refresh (build + paint + ANSI) of the Line-API ``DepthLadder``
with a ``Static`` + ``rich.table.Table`` ladder built from the same book in the same place, A-B-A; and, at
200x60, one chart refresh (build + paint + ANSI) when the forming candle moves (the other columns come from
the column cache) and when a new high rescales the chart (every column redrawn).

    python benchmarks/ui_load.py [--rates 5000 20000] [--rounds 2] [--seconds 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.apphelp import (
    SIZE,
    LagProbe,
    Meter,
    TickToScreen,
    all_live,
    bench_app,
    book_ready,
    sim_frames,
    wait_until,
)
from benchmarks.common import (
    Control,
    fmt,
    iqr,
    machine,
    median,
    publish,
    quantile,
    start_sim,
    verdict,
    write_text,
)
from finxtui.model.book import ASK, BID, OrderBook
from finxtui.ui.widgets.ladder import DepthLadder


async def window(app: Any, meter: Meter, control: Control, sim: Any, rate: float, warm: float,
                 seconds: float, tick: TickToScreen) -> dict[str, Any]:
    await control.rate(rate)
    await asyncio.sleep(warm)
    probe = LagProbe()
    tick.reset()
    sent0, steps0 = await sim_frames(control)
    s0 = meter.snapshot()
    sc0 = sim.cpu()
    meter.ladder.samples = []
    probe.start()
    await asyncio.sleep(seconds)
    lags = await probe.stop()
    ticks = tick.samples
    s1 = meter.snapshot()
    sent1, steps1 = await sim_frames(control)
    sc1 = sim.cpu()
    d = Meter.delta(s0, s1)
    wall = d["t"]
    sent = sent1 - sent0
    got = d["frames_in"]
    return {
        "rate": rate, "wall": wall,
        "sim_steps_per_s": (steps1 - steps0) / wall,
        "frames_sent": sent, "frames_applied": got, "applied_ratio": got / sent if sent else float("nan"),
        "backlog_growth": sent - got,
        "book_changes_per_s": d["book_changes"] / wall,
        "lag_p50_ms": quantile(lags, 0.5) * 1000, "lag_p99_ms": quantile(lags, 0.99) * 1000,
        "lag_max_ms": max(lags) * 1000 if lags else float("nan"),
        "paints_per_s": d["frames"] / wall, "kib_per_s": d["bytes"] / wall / 1024,
        "ladder_builds_per_s": d["ladder_builds"] / wall,
        "ladder_build_ms": median(meter.ladder.samples or []) * 1000,
        "chart_builds_per_s": d["chart_builds"] / wall, "tape_builds_per_s": d["tape_builds"] / wall,
        "chart_build_ms": d["chart_cpu"] / d["chart_builds"] * 1000 if d["chart_builds"] else float("nan"),
        "tape_build_ms": d["tape_cpu"] / d["tape_builds"] * 1000 if d["tape_builds"] else float("nan"),
        "cpu": d["cpu"] / wall, "ui_cpu": (d["paint_cpu"] + d["poll_cpu"]) / wall,
        "paint_cpu": d["paint_cpu"] / wall, "ansi_cpu": d["ansi_cpu"] / wall, "poll_cpu": d["poll_cpu"] / wall,
        "sim_cpu": (sc1 - sc0) / wall,
        # From a frame's arrival to the first paint showing it (the book on screen), and the ladder's interval.
        "tick_p50_ms": quantile(ticks, 0.5) * 1000, "tick_p99_ms": quantile(ticks, 0.99) * 1000,
        "tick_max_ms": max(ticks) * 1000 if ticks else float("nan"), "tick_samples": len(ticks),
        "tick_invisible": tick.invisible,  # frames a build drew identically: never shown, not counted
        # ...split: queued until the feed applies it, waiting for the ladder's redraw, then that redraw to the paint
        "tick_queue_p50_ms": quantile(tick.queued, 0.5) * 1000,
        "tick_queue_p99_ms": quantile(tick.queued, 0.99) * 1000,
        "tick_wait_p50_ms": quantile(tick.waits, 0.5) * 1000,
        "tick_wait_p99_ms": quantile(tick.waits, 0.99) * 1000,
        "tick_paint_p50_ms": quantile(tick.paints, 0.5) * 1000,
        "tick_paint_p99_ms": quantile(tick.paints, 0.99) * 1000,
        "redraw_ms": 1000 / app.query_one(DepthLadder).hz,
    }


# -- the ladder refresh against a Rich-table ladder -----------------------------------------------------------


def rich_ladder(ladder: Any, book: OrderBook, n: int, decimals: int, width: int) -> Any:
    """The same rows and columns as ``DepthLadder``, as a ``rich.table.Table`` (the reference)."""
    from rich.table import Table
    from rich.text import Text

    from finxtui.ui import format as f

    asks = book.ladder(ASK, n)
    bids = book.ladder(BID, n)
    deepest = max(asks[-1][2] if asks else 0.0, bids[-1][2] if bids else 0.0) or 1.0
    sdec = f.size_decimals([s for _, s, _ in asks + bids])
    cdec = f.size_decimals([c for _, _, c in asks + bids])
    bar_w = max(0, width - 40)
    st = ladder.style
    table = Table(box=None, expand=True, show_header=True, show_edge=False, padding=(0, 1),
                  header_style=st("ladder--header"), title_style=st("ladder--header"))
    table.add_column("price", justify="right", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True, style=st("ladder--size"))
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("depth", ratio=1, no_wrap=True)
    for p, s, c in reversed(asks):
        table.add_row(Text(f.price(p, decimals), style=st("ladder--ask")), f.fixed(s, sdec), f.fixed(c, cdec),
                      Text(f.bar(c / deepest, bar_w), style=st("ladder--ask-bar")))
    spread = book.spread()
    table.add_row(Text(f"spread {f.price(spread, decimals)}", style=st("ladder--spread")), "", "", "")
    for p, s, c in bids:
        table.add_row(Text(f.price(p, decimals), style=st("ladder--bid")), f.fixed(s, sdec), f.fixed(c, cdec),
                      Text(f.bar(c / deepest, bar_w), style=st("ladder--bid-bar")))
    return table


def mutate(book: OrderBook, rng: random.Random, n: int) -> None:
    """Change about a third of the visible sizes on each side (never none), as a busy book does between repaints."""
    version = book.version
    for side, top in ((BID, book.top_bids(n)), (ASK, book.top_asks(n))):
        for price, size in top:
            if rng.random() < 0.34:
                book.set(side, price, round(size * rng.uniform(0.5, 1.5), 8) or size)
    if book.version == version and book.bids:
        price, size = book.top_bids(1)[0]
        book.set(BID, price, size * 2)


async def render_compare(app: Any, pilot: Any, meter: Meter, rounds: int, cycles: int,
                         levels: int = 10) -> dict[str, Any]:
    from textual.widgets import Static

    from finxtui.ui.widgets.ladder import DepthLadder

    key = (app.book_source, app.selected)
    live = app.state.books[key]
    book = OrderBook(live.source, live.pair)
    book.load(live.bids.items(), live.asks.items())
    app.state.books[key] = book  # a private copy: the feed's own book is never touched
    app.paused = True  # no widget rebuilds on its own timer; we drive the ladder by hand
    levels_before = app.book_levels
    app.book_levels = levels  # 10 by default; 25 is the "d" key (22 fit at 160x50)
    await pilot.pause(0.2)
    ladder = app.query_one(DepthLadder)
    info = app.config.pairs.get(app.selected)
    decimals = info.decimals if info else 2
    rich = Static(id="rich-ladder")
    rich.styles.height = "1fr"
    rich.styles.border = ("round", "grey")
    rich.styles.row_span = ladder.styles.row_span  # the grid gives it the ladder's cell while the ladder hides
    rich.display = False
    await app.query_one("#main").mount(rich, after=ladder)
    rng = random.Random(1)
    clock = time.thread_time

    async def block(use_rich: bool) -> list[tuple[float, float]]:
        if use_rich:
            # Hidden, the ladder has no height; keep it from rebuilding (on_resize) while the table stands in.
            ladder.poll = lambda force=False: None  # type: ignore[method-assign]
        ladder.display = not use_rich
        rich.display = use_rich
        await pilot.pause(0.1)
        if not use_rich and "poll" in ladder.__dict__:
            del ladder.poll
            ladder.poll(force=True)
            await pilot.pause(0.05)
        n = ladder.levels_that_fit(ladder.size.height or rich.size.height)
        width = (rich.size.width if use_rich else ladder.size.width) or 58
        out: list[tuple[float, float]] = []
        for i in range(cycles + 1):
            mutate(book, rng, n)
            painted = meter.next_paint()
            paint0 = meter.paint.cpu
            t0 = clock()
            if use_rich:
                rich.update(rich_ladder(ladder, book, n, decimals, width), layout=False)
            else:
                ladder.poll(force=True)
            build = clock() - t0
            # The real path: the refresh becomes an Update message and the screen's update timer composes the
            # dirty region; the frame is encoded. The paint is timed inside the screen's update (thread CPU
            # time), so timers that happen to run while we wait for it are not counted.
            try:
                await asyncio.wait_for(painted.wait(), 2.0)
            except TimeoutError:
                raise RuntimeError(f"no paint: rich={use_rich} cycle {i} sizes {ladder.size} {rich.size}") from None
            if i:  # the first cycle after a switch pays for the layout change
                out.append((build, build + meter.paint.cpu - paint0))
        return out

    shown = ladder.levels_that_fit(ladder.size.height)
    lines: list[list[tuple[float, float]]] = []
    tables: list[list[tuple[float, float]]] = []
    a0 = meter.ansi.cpu
    for r in range(rounds * 2 + 1):
        (lines if r % 2 == 0 else tables).append(await block(use_rich=r % 2 == 1))
    ladder.__dict__.pop("poll", None)
    ladder.display = True
    await rich.remove()
    app.state.books[key] = live
    app.book_levels = levels_before
    app.paused = False
    line_ms = [median(t for _, t in b) * 1000 for b in lines]
    table_ms = [median(t for _, t in b) * 1000 for b in tables]
    ratios = [((line_ms[i] + line_ms[i + 1]) / 2) / table_ms[i] for i in range(len(table_ms))]
    q1, q3 = iqr(ratios)
    return {"line_api_ms": median(line_ms), "rich_table_ms": median(table_ms), "ratio": median(ratios),
            "line_api_build_ms": median(median(b for b, _ in blk) for blk in lines) * 1000,
            "rich_table_build_ms": median(median(b for b, _ in blk) for blk in tables) * 1000,
            "ratio_iqr": [q1, q3], "line_blocks_ms": line_ms, "table_blocks_ms": table_ms,
            "levels": shown, "ansi_cpu_s": meter.ansi.cpu - a0}


# -- one chart refresh at 200x60 ------------------------------------------------------------------------------


async def chart_redraw(app: Any, pilot: Any, meter: Meter, cycles: int, size: tuple[int, int]) -> dict[str, Any]:
    """Build + paint + ANSI of one chart refresh, market quiet and drawing paused (the chart driven by hand).

    ``forming``: a price lands in the newest candle inside the current range, as nearly every trade does;
    ``rescale``: each price is a new high, so the scale moves and every column is drawn again (the worst case).
    """
    from finxtui.ui.widgets.chart import Chart, chart_source

    await pilot.resize_terminal(*size)
    app.paused = True
    await pilot.pause(0.5)
    chart = app.query_one(Chart)
    source = chart_source(app.state, app.config.pairs, app.selection)
    series = app.state.candles.get(source, app.selected) if source else None
    if series is None:
        raise RuntimeError(f"no candles for {app.selected} from {source}")
    tf = app.selection.timeframe
    rng = random.Random(3)
    clock = time.thread_time
    out: dict[str, Any] = {"size": f"{size[0]}x{size[1]}", "chart": f"{chart.size.width}x{chart.size.height}",
                           "source": source, "candles": len(series.candles(tf))}
    for mode in ("forming", "rescale"):
        samples: list[tuple[float, float]] = []
        for i in range(cycles + 1):
            candles = series.candles(tf)
            last = candles.peekitem(-1)[1]
            if mode == "forming":
                price = rng.uniform(last.l, last.h) if last.h > last.l else last.c
            else:
                price = max(c.h for c in candles.values()[-chart.size.width:]) * 1.0002
            series.add(price, 0.01 if series.sized else 0.0, last.last + 0.001)
            painted = meter.next_paint()
            paint0 = meter.paint.cpu
            t0 = clock()
            chart.poll(force=True)
            build = clock() - t0
            try:
                await asyncio.wait_for(painted.wait(), 2.0)
            except TimeoutError:
                raise RuntimeError(f"no paint of the chart ({mode}, cycle {i})") from None
            if i:  # the first refresh of a mode pays for the mode before it
                samples.append((build, build + meter.paint.cpu - paint0))
        out[f"{mode}_build_ms"] = median(b for b, _ in samples) * 1000
        out[f"{mode}_ms"] = median(t for _, t in samples) * 1000
        out[f"{mode}_p90_ms"] = quantile(sorted(t for _, t in samples), 0.9) * 1000
    app.paused = False
    return out


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    sim = start_sim(args.rates[0], seed=args.seed)
    meter = Meter()
    tick: TickToScreen | None = None
    try:
        async with Control(sim.url) as control:
            app = bench_app(sim.url)
            meter.attach(app)
            tick = TickToScreen(app, meter)
            async with app.run_test(size=SIZE) as pilot:
                if not app.wide:
                    raise RuntimeError(f"{SIZE} does not show every panel")
                await wait_until(lambda: book_ready(app) and all_live(app), 30, "every feed live with a book")
                runs: list[dict[str, Any]] = []
                for _ in range(args.rounds):
                    for rate in args.rates:
                        profiler = None
                        if args.profile and rate == max(args.rates) and not any(r["rate"] == rate for r in runs):
                            from pyinstrument import Profiler

                            profiler = Profiler(interval=0.0005, async_mode="disabled")
                            profiler.start()
                        runs.append(await window(app, meter, control, sim, rate, args.warm, args.seconds, tick))
                        if profiler is not None:
                            profiler.stop()
                            head = (f"ui_load at {rate:g} updates/s, {args.warm + args.seconds:.0f} s (warm-up "
                                    f"included), under the profiler: that window's figures are excluded\n")
                            write_text(args.profile, head + profiler.output_text(unicode=True, show_all=False))
                            runs.pop()
                            runs.append(await window(app, meter, control, sim, rate, args.warm, args.seconds,
                                                     tick))
                        r = runs[-1]
                        print(f"  {rate:g}/s: cpu {r['cpu']:.0%} lag p99 {r['lag_p99_ms']:.1f} ms chart/tape builds/s "
                              f"{r['chart_builds_per_s']:.1f}/{r['tape_builds_per_s']:.1f} tick to screen "
                              f"p50/p99 {r['tick_p50_ms']:.0f}/{r['tick_p99_ms']:.0f} ms "
                              f"(queued {r['tick_queue_p50_ms']:.0f}/{r['tick_queue_p99_ms']:.0f}, "
                              f"redraw wait {r['tick_wait_p50_ms']:.0f}/{r['tick_wait_p99_ms']:.0f}, "
                              f"to paint {r['tick_paint_p50_ms']:.0f}/{r['tick_paint_p99_ms']:.0f}) "
                              f"unseen {r['tick_invisible']}/{r['tick_samples']} "
                              f"paints {r['paints_per_s']:.1f}/s applied {r['applied_ratio']:.3f}", file=sys.stderr)
                await control.rate(0)
                await asyncio.sleep(1.0)
                sent_end, _ = await sim_frames(control)
                got_end = meter.snapshot()["frames_in"]
                render = await render_compare(app, pilot, meter, args.render_rounds, args.render_cycles,
                                              args.render_levels)
                print(f"  ladder {render['line_api_ms']:.2f} ms vs rich table {render['rich_table_ms']:.2f} ms",
                      file=sys.stderr)
                chart = await chart_redraw(app, pilot, meter, args.chart_cycles, (200, 60))
                print(f"  chart at 200x60: forming candle {chart['forming_ms']:.2f} ms, rescale "
                      f"{chart['rescale_ms']:.2f} ms", file=sys.stderr)
                health = {s: (h.state, h.detail) for s, h in app.state.health.items()}
                rejected = {s: getattr(f, "rejected_frames", 0) for s, f in app.source.feeds.items()}
    finally:
        if tick is not None:
            tick.close()
        meter.close()
        sim.stop()
    by_rate: dict[str, dict[str, Any]] = {}
    for rate in args.rates:
        rs = [r for r in runs if r["rate"] == rate]
        if not rs:
            continue
        by_rate[f"{rate:g}"] = {k: median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
        by_rate[f"{rate:g}"]["windows"] = len(rs)
    return {"benchmark": "ui_load", "runs": runs, "by_rate": by_rate, "render": render, "chart": chart,
            "size": f"{SIZE[0]}x{SIZE[1]}",
            "drained": {"sim_frames_sent_total": sent_end, "app_frames_total": got_end},
            "health": health, "rejected": rejected}


def report(data: dict[str, Any]) -> str:
    out = ["| sim rate (book updates/s) | achieved | frames applied / sent | backlog growth (frames) | "
           "level changes applied/s | lag p50 / p99 / max (ms) | paints/s | ladder build (ms) | "
           "chart builds/s (ms) | tape builds/s (ms) | CPU (one core) | UI CPU | to terminal | sim CPU | "
           "tick to screen p50 / p99 (ms) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rate, r in data["by_rate"].items():
        out.append(
            f"| {fmt(float(rate), 0)} | {fmt(r['sim_steps_per_s'], 0)}/s | {r['applied_ratio']:.3f} | "
            f"{r['backlog_growth']:.0f} | {fmt(r['book_changes_per_s'], 0)} | {r['lag_p50_ms']:.1f} / "
            f"{r['lag_p99_ms']:.1f} / {r['lag_max_ms']:.0f} | {r['paints_per_s']:.1f} | {r['ladder_build_ms']:.2f} | "
            f"{r['chart_builds_per_s']:.1f} ({r['chart_build_ms']:.2f}) | "
            f"{r['tape_builds_per_s']:.1f} ({r['tape_build_ms']:.2f}) | {r['cpu']:.0%} | {r['ui_cpu']:.1%} | "
            f"{r['kib_per_s']:.0f} KiB/s | {r['sim_cpu']:.0%} | **{r['tick_p50_ms']:.0f} / {r['tick_p99_ms']:.0f}** |")
    rd = data["render"]
    q1, q3 = rd["ratio_iqr"]
    out.append("")
    redraw = next(iter(data["by_rate"].values()), {}).get("redraw_ms", float("nan"))
    out.append("Tick to screen: from the event loop handing a frame's bytes to the websocket to the first frame "
               "handed to the terminal whose ladder was built from a book including it (the book on screen; "
               "every frame that changed it, shown or not), medians of the windows. The ladder redraws every "
               f"{redraw:.0f} ms.")
    out.append(f"One ladder refresh ({rd['levels']} levels a side, build + paint + ANSI, thread CPU time, paused "
               f"market, A-B-A): Line-API `DepthLadder` **{rd['line_api_ms']:.2f} ms** (of which build "
               f"{rd['line_api_build_ms']:.2f} ms), `Static` + `rich.table.Table` {rd['rich_table_ms']:.2f} ms "
               f"(update {rd['rich_table_build_ms']:.2f} ms), ratio **{rd['ratio']:.2f}** ({q1:.2f}–{q3:.2f}).")
    ch = data["chart"]
    out.append(f"One chart refresh at {ch['size']} (the chart {ch['chart']} cells, {ch['candles']} {ch['source']} "
               f"candles, build + paint + ANSI, thread CPU time, market paused): the forming candle moves "
               f"**{ch['forming_ms']:.2f} ms** (build {ch['forming_build_ms']:.2f} ms, p90 "
               f"{ch['forming_p90_ms']:.2f}); a new high rescales every column **{ch['rescale_ms']:.2f} ms** (build "
               f"{ch['rescale_build_ms']:.2f} ms, p90 {ch['rescale_p90_ms']:.2f}); against the ladder refresh above, "
               f"measured in the same run: {ch['forming_ms'] / rd['line_api_ms']:.2f}x and "
               f"{ch['rescale_ms'] / rd['line_api_ms']:.2f}x.")
    d = data["drained"]
    out.append(f"After the runs and a 1 s drain at rate 0: the simulator had sent {d['sim_frames_sent_total']:,} "
               f"frames on the app's open sockets, the feeds had applied {d['app_frames_total']:,}.")
    return "\n".join(out)


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows for run_all's summary."""
    rows = []
    hi = data["by_rate"].get("20000")
    if hi:
        d = data["drained"]
        exact = d["sim_frames_sent_total"] == d["app_frames_total"]
        rows += [
            ("20k/s: nothing dropped, no backlog",
             f"window applied/sent {hi['applied_ratio']:.3f}, backlog growth {hi['backlog_growth']:+.0f} frames "
             f"(the two counters are read a round trip apart); after a drain {d['app_frames_total']:,} of "
             f"{d['sim_frames_sent_total']:,} frames applied",
             verdict(exact and hi["applied_ratio"] >= 0.99 and abs(hi["backlog_growth"]) < 0.01 * hi["frames_sent"])),
            ("20k/s: loop lag p99 < 50 ms (DESIGN ≤ 15 ms)", f"{hi['lag_p99_ms']:.1f} ms",
             f"{verdict(hi['lag_p99_ms'] < 50)} / {verdict(hi['lag_p99_ms'] <= 15)}"),
            ("20k/s: CPU < 70% of a core (DESIGN ≤ 65%)", f"{hi['cpu']:.0%}",
             f"{verdict(hi['cpu'] < 0.70)} / {verdict(hi['cpu'] <= 0.65)}"),
            (f"UI redraw ≤ 15% of a core (at 20k/s, {data.get('size', '')}, every panel on screen)",
             f"{hi['ui_cpu']:.1%}", verdict(hi["ui_cpu"] <= 0.15)),
        ]
    ch = data["chart"]
    ladder_ms = data["render"]["line_api_ms"]
    rows.append((f"chart redraw at {ch['size']} < 5 ms (build + paint + ANSI)",
                 f"{ch['forming_ms']:.2f} ms forming candle, {ch['rescale_ms']:.2f} ms rescaled "
                 f"({ch['forming_ms'] / ladder_ms:.2f}x / {ch['rescale_ms'] / ladder_ms:.2f}x the ladder refresh "
                 f"of the same run, {ladder_ms:.2f} ms)",
                 verdict(max(ch["forming_ms"], ch["rescale_ms"]) < 5)))
    for rate, r in data["by_rate"].items():
        limit = r["redraw_ms"] + 15
        rows.append((f"tick to screen at {fmt(float(rate), 0)}/s: p99 ≤ one redraw interval + 15 ms "
                     f"({limit:.0f} ms)", f"p50 {r['tick_p50_ms']:.0f} ms, p99 {r['tick_p99_ms']:.0f} ms",
                     verdict(r["tick_p99_ms"] <= limit)))
    rd = data["render"]
    rows += [("depth render < 5 ms (build + paint + ANSI)", f"{rd['line_api_ms']:.2f} ms",
              verdict(rd["line_api_ms"] < 5)),
             ("ladder refresh ≤ 0.3 × Rich-table ladder", f"{rd['ratio']:.3f} (IQR {rd['ratio_iqr'][0]:.2f}–"
              f"{rd['ratio_iqr'][1]:.2f}; {rd['line_api_ms']:.2f} vs {rd['rich_table_ms']:.2f} ms)",
              verdict(rd["ratio"] <= 0.3))]
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="the app under load: lag, paints, CPU, updates applied")
    parser.add_argument("--rates", type=float, nargs="+", default=[5000.0, 20000.0])
    parser.add_argument("--rounds", type=int, default=2, help="windows per rate (rates alternate)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of a measured window")
    parser.add_argument("--warm", type=float, default=3.0, help="seconds at a new rate before measuring")
    parser.add_argument("--render-rounds", type=int, default=4, help="Rich-table blocks in the A-B-A comparison")
    parser.add_argument("--render-cycles", type=int, default=20, help="refreshes per block")
    parser.add_argument("--render-levels", type=int, choices=(10, 25), default=10,
                        help="the app's book levels during the comparison (25: the 'd' key)")
    parser.add_argument("--chart-cycles", type=int, default=30, help="chart refreshes per mode at 200x60")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default=None, metavar="FILE",
                        help="also profile one window at the highest rate with pyinstrument (not counted)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = asyncio.run(bench(args))
    data["args"] = vars(args)
    publish("ui_load", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
