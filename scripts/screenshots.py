"""Make the README's screenshots from the seeded demo: SVG from Textual, PNG with rsvg-convert (or cairosvg).

    python scripts/screenshots.py            # writes screenshots/*.svg and *.png

Each shot runs the app headless on the embedded simulator (seed 7, paused after a warm-up), steps the market
a fixed number of times, presses the keys the shot is about, and saves what the screen shows. Run it after
any change to what the UI shows, and look at the PNGs before committing them.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finxtui.config import Config  # noqa: E402
from finxtui.ui.app import make_app  # noqa: E402
from tests.ui.helpers import Clock  # noqa: E402
from tests.ui.test_snapshots import settle  # noqa: E402

OUT = ROOT / "screenshots"
SHOTS = [
    # (name, size, keys pressed after the market has moved)
    ("monitor-120x40", (120, 40), ()),
    ("bitmex-eth-25-levels", (120, 40), ("2", "b", "d")),
    ("monitor-80x24", (80, 24), ()),
    ("help", (120, 40), ("question_mark",)),
    ("pair-picker", (120, 40), ("slash", "s", "o")),
]


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...]) -> Path:
    clock = Clock()
    app = make_app(Config(), demo=True, seed=7, rate=0, warmup=3000, clock=clock)
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await settle(pilot, clock, keys=keys)
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
    for name, size, keys in SHOTS:
        svg = asyncio.run(shoot(name, size, keys))
        png = to_png(svg)
        print(f"{svg.relative_to(ROOT)}  {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
