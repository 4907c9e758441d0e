"""Number and time text for the screen: one place, so every widget agrees."""

from __future__ import annotations

import math
import time

SPARK_BARS = "▁▂▃▄▅▆▇█"


def price(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{decimals}f}"


def size(value: float | None) -> str:
    """Sizes: whole contracts with separators, coin amounts with up to 4 decimals."""
    if value is None or not math.isfinite(value):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    if abs(value) >= 1:
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 0.0001 else f"{value:.2e}"


def size_decimals(values: list[float]) -> int:
    """One precision for a whole column of sizes, so the digits line up."""
    if not values or all(float(v).is_integer() for v in values):
        return 0
    top = max(abs(v) for v in values)
    return 4 if top < 1 else 3 if top < 10 else 2 if top < 1000 else 0


def fixed(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def percent(value: float | None, signed: bool = True) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) < 0.00005:
        value = 0.0  # never "-0.00%"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def signed(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+,.{decimals}f}"


def money(value: float | None, currency: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    decimals = 4 if currency in ("XBT", "BTC", "ETH") else 2
    return f"{value:+,.{decimals}f} {currency}"


def age(seconds: float | None) -> str:
    """How long ago, compactly: 0.3s, 12s, 4m, 2h."""
    if seconds is None or seconds < 0 or not math.isfinite(seconds):
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def time_ms(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts)) + f".{round(ts * 1000) % 1000:03d}"


def sparkline(values: list[float], width: int) -> str:
    """The last ``width`` values as block characters scaled between their own min and max."""
    if width <= 0 or not values:
        return ""
    points = values[-width:]
    low, high = min(points), max(points)
    if high == low:
        return SPARK_BARS[len(SPARK_BARS) // 2] * len(points)
    scale = (len(SPARK_BARS) - 1) / (high - low)
    return "".join(SPARK_BARS[int((v - low) * scale)] for v in points)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` of ``width`` cells long, with eighth-cell precision."""
    if width <= 0:
        return ""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
