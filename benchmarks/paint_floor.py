"""paint_floor: what Textual alone costs to paint a screen laid out like the monitor's, at its redraw rate.

The demo's and idle targets (< 8% and < 3% of a core) include Textual's share of every redraw: styling each
changed line, composing it with the panels beside it, encoding the update. This script measures that share
with none of the monitor's code: a bare Textual app at 160x50 with the monitor's wide layout (a header line,
six bordered and titled panels on the same grid, a status line), whose panels hand Textual prepared lines
(Line API, ``render_line`` returning a stored ``Strip``) and build nothing. A 10 Hz timer, the monitor's
redraw rate, changes the header and then ``--lines`` rows of the tallest panel (the depth ladder's slot),
each refreshed as the monitor refreshes a changed row. CPU is this process's (user + system) over each
window, the ANSI encoding headless mode leaves out included, as ``idle.py`` counts it.

Rows: ``timer only`` (the 10 Hz timer and nothing to paint: the loop's floor), then each number of changed
lines; the per-paint and per-line costs are the least-squares fit over the painted rows. The monitor's figures
to set beside them (paints and changed lines a second) come from ``idle.py`` and the closing notes.

    python benchmarks/paint_floor.py [--seconds 20] [--lines 1 5 10 25 45] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from benchmarks.apphelp import SIZE, Meter
from benchmarks.common import machine, proc_cpu, publish

REDRAW = 0.1  # seconds: the monitor's poll clock and book redraw

CSS = """
Screen { layout: vertical; }
#header, #status { height: 1; background: $panel; }
#main { height: 1fr; layout: grid; grid-size: 3 4; grid-columns: 46 1fr 52; grid-rows: auto 1fr 1fr auto; }
#chart { row-span: 3; }
#ladder { row-span: 4; }
#history { row-span: 2; }
.panel { border: round $panel-lighten-2; border-title-color: $text-muted; border-title-style: bold; }
#ticker { height: 8; }
#positions { height: 12; }
"""


class Lines(Widget):
    """A panel whose rows are prepared strips (two versions of each row, swapped by ``flip``)."""

    def __init__(self, name: str, *, panel: bool = True) -> None:
        super().__init__(id=name, classes="panel" if panel else "")
        self._lines: list[Strip] = []
        self._other: list[Strip] = []

    def on_resize(self) -> None:
        width = self.size.width
        self._lines = [self._strip(y, width, "") for y in range(self.size.height)]
        self._other = [self._strip(y, width, "*") for y in range(self.size.height)]

    @staticmethod
    def _strip(y: int, width: int, mark: str) -> Strip:
        text = f" {y:3d} {mark}97,218.5 {y * 0.37:12.4f} {y * 1.9:12.4f}  " + "▇" * (y % 17)
        segments = [Segment(text[:width], Style(color="#e0e0e0")),
                    Segment(" " * max(0, width - len(text)), Style())]
        return Strip(segments, width)

    def flip(self, count: int) -> None:
        """Change the first ``count`` rows (each refreshed alone, or as one region when most rows change)."""
        width = self.size.width
        count = min(count, len(self._lines))
        for y in range(count):
            self._lines[y], self._other[y] = self._other[y], self._lines[y]
        if count > len(self._lines) // 2:
            self.refresh(Region(0, 0, width, count))
        else:
            for y in range(count):
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width)


class FloorApp(App[None]):
    CSS = CSS

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0  # rows of the ladder changed a tick; -1: the timer runs and nothing changes

    def compose(self) -> ComposeResult:
        yield Lines("header", panel=False)
        with Container(id="main"):
            for name in ("ticker", "chart", "ladder", "tape", "history", "positions"):
                panel = Lines(name)
                panel.border_title = name.title()
                yield panel
        yield Lines("status", panel=False)

    def on_mount(self) -> None:
        self.set_interval(REDRAW, self._tick)

    def _tick(self) -> None:
        if self.lines < 0:
            return
        self.query_one("#header", Lines).flip(1)
        self.query_one("#ladder", Lines).flip(self.lines)


async def measure(app: FloorApp, meter: Meter, lines: list[int], seconds: float) -> list[dict[str, Any]]:
    rows = []
    meter.attach(app)  # type: ignore[arg-type]  # only its display hook and counters are used
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        for count in [-1, *lines]:
            app.lines = count
            await asyncio.sleep(1.0)  # one second to settle into the new rate
            c0, p0, f0, t0 = proc_cpu(), meter.paint.cpu, meter.frames, time.perf_counter()
            await asyncio.sleep(seconds)
            wall = time.perf_counter() - t0
            paints = (meter.frames - f0) / wall
            # The paint counter includes the ANSI encoding (it runs inside the paint).
            rows.append({"lines": count, "seconds": wall, "cpu": (proc_cpu() - c0) / wall,
                         "paint_cpu": (meter.paint.cpu - p0) / wall, "paints_per_s": paints})
    return rows


def fit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """CPU a second = floor + paints × (per paint + lines × per line), fitted over the painted rows."""
    floor = rows[0]["cpu"]
    painted = [r for r in rows if r["lines"] >= 0 and r["paints_per_s"] > 0]
    xs = [r["lines"] + 1 for r in painted]  # the header's line changes on every tick too
    ys = [(r["cpu"] - floor) / r["paints_per_s"] for r in painted]  # seconds of CPU a paint
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return {"floor_cpu": floor, "per_paint_ms": (my - slope * mx) * 1e3, "per_line_us": slope * 1e6}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    meter = Meter()
    try:
        rows = await measure(FloorApp(), meter, args.lines, args.seconds)
    finally:
        meter.close()
    return {"benchmark": "paint_floor", "size": list(SIZE), "redraw_s": REDRAW, "rows": rows, **fit(rows)}


def report(data: dict[str, Any]) -> str:
    out = [f"Bare Textual app at {data['size'][0]}x{data['size'][1]}, the monitor's wide layout, "
           f"redrawn every {data['redraw_s'] * 1000:.0f} ms.\n",
           "| changed lines a paint | window | paints/s | CPU (one core) | of which painting |",
           "|---|---|---|---|---|"]
    for r in data["rows"]:
        name = "timer only" if r["lines"] < 0 else f"header + {r['lines']}"
        out.append(f"| {name} | {r['seconds']:.0f} s | {r['paints_per_s']:.1f} | **{r['cpu']:.2%}** | "
                   f"{r['paint_cpu']:.2%} |")
    out.append(f"\nFit: the loop's floor {data['floor_cpu']:.2%} of a core; a paint "
               f"{data['per_paint_ms']:.2f} ms plus {data['per_line_us']:.0f} µs a changed line.")
    return "\n".join(out)


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("Textual's own paint at the monitor's layout (no target: the floor under the CPU targets)",
             f"{data['per_paint_ms']:.2f} ms a paint + {data['per_line_us']:.0f} µs a changed line; loop "
             f"{data['floor_cpu']:.2%}", "–")]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Textual's own cost of painting the monitor's screen")
    parser.add_argument("--seconds", type=float, default=20.0, help="window per row")
    parser.add_argument("--lines", type=int, nargs="+", default=[1, 5, 10, 25, 45],
                        help="ladder rows changed a paint, one row each")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = asyncio.run(bench(args))
    publish("paint_floor", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
