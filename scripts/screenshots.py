"""Make the README's screenshots from the seeded demo: SVG from Textual, PNG with rsvg-convert (or cairosvg).

    python scripts/screenshots.py            # writes screenshots/*.svg and *.png

Each shot runs the monitor headless on the embedded simulator (seed 7, paused after a warm-up, the venues'
clock moved by hand, a frozen wall clock), steps the market a fixed number of times, presses the keys the
shot is about, and saves what the screen shows. Run it after any change to what the UI shows, and look at
the PNGs before committing them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from finxtui.config import Config  # noqa: E402
from finxtui.model.alerts import AlertRule  # noqa: E402
from finxtui.sim.settings import SimSettings  # noqa: E402
from finxtui.sources import DemoSource  # noqa: E402
from finxtui.ui.app import FinxApp  # noqa: E402
from tests.ui.helpers import Clock, all_live, wait_for  # noqa: E402

OUT = ROOT / "screenshots"
ALERTS = (AlertRule("above", 90_000.0, "BTC:USD"), AlertRule("cross", 3_500.0, "ETH:USD", repeat=True),
          AlertRule("move", 2.0, "SOL:USD", window=300.0, repeat=True, cooldown=600.0),
          AlertRule("feed_down", 30.0, source="bitmex"))
SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...], Config]] = [
    # (name, size, keys pressed after the market has moved, config)
    ("monitor-200x60", (200, 60), (), Config()),
    ("monitor-120x40", (120, 40), (), Config()),
    ("chart-120x40", (120, 40), ("v",), Config()),
    ("bitmex-eth-25-levels", (120, 40), ("2", "b", "d"), Config()),
    ("monitor-80x24", (80, 24), (), Config()),
    ("chart-80x24-5m", (80, 24), ("t",), Config()),
    ("help", (120, 40), ("question_mark",), Config()),
    ("pair-picker", (120, 40), ("slash", "s", "o"), Config()),
    ("alerts", (120, 40), ("A",), Config(alerts=ALERTS)),
    ("light-blue-orange", (120, 40), (), Config(theme="light", updown="blue-orange")),
]


async def settle(pilot: Pilot[Any], app: FinxApp, source: DemoSource, clock: Clock, keys: tuple[str, ...]) -> None:
    """Every feed live, the market moved a fixed number of steps, the venues' one-second timers run twice."""
    venues = ("bitfinex", "bitmex", "finazon")
    await wait_for(pilot, lambda: all(app.state.health[s].state == "live" for s in venues), timeout=15)
    hist = app.state.history_for(app.selected)
    await wait_for(pilot, lambda: hist.pages and not hist.loading, timeout=15)
    await wait_for(pilot, lambda: len(app.state.positions) == 3, timeout=15)
    # FinX streams go live with their first tick; the tape's trades spread over a second. One step a clock tick
    # (1/600 s): no two steps share a millisecond, so the tape and the chart come out the same whichever venue's
    # socket the feeds happened to read first.
    for _ in range(600):
        source.simulator.step(1)
        clock.advance(1 / 600)
    await wait_for(pilot, lambda: all_live(app), timeout=15)
    source.simulator.advance(2.5)  # bars, positions and quotes go out on the venues' one-second timers
    await pilot.pause(1.0)  # a script, not a test: let the feeds read what the venues sent
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.2)
    clock.advance(1.0)  # past every flash; ages read 1.0s
    app.redraw_now()
    await pilot.pause()


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...], config: Config) -> Path:
    clock = Clock()
    source = DemoSource(config, seed=7, rate=0, warmup=3000, clock=clock, settings=SimSettings(manual_time=True))
    app = FinxApp(config, source)
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app, source, clock, keys)
        for widget in app.screen.query("CommandInput"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause(0.3)
        svg = OUT / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(OUT))
    return svg


def to_png(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-w", "1600", str(svg), "-o", str(png)], check=True)
    else:
        import cairosvg  # the 'screenshots' extra

        cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=1600)
    return png


def main() -> int:
    OUT.mkdir(exist_ok=True)
    # Alerts save what fired (and a config path would be edited): keep the user's own state and config out of it.
    scratch = tempfile.mkdtemp(prefix="finx-shots-")
    os.environ["XDG_STATE_HOME"] = scratch
    os.environ["FINX_TUI_CONFIG"] = os.path.join(scratch, "config.toml")
    for name, size, keys, config in SHOTS:
        svg = asyncio.run(shoot(name, size, keys, config))
        png = to_png(svg)
        print(f"{svg.relative_to(ROOT)}  {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
