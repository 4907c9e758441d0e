"""Candles for the selected pair: one column per candle, a volume strip, a price axis with the last price.

Drawn row by row like the depth ladder, not through a plotting library (textual-plotext measured ~250 ms an
update here). Each column's glyphs are cached by its candle and the scale: when only the forming candle
moves, one column is recomputed and the rows are re-joined from the cache.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from finxtui.model.candles import LABELS, Candle
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import PRICE_PRIORITY, MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PolledLines
from finxtui.wire.venues import display_name

# A cell holds two half-rows of a column; each half is empty (0), wick (1) or body (2).
GLYPHS = {(0, 0): " ", (1, 1): "│", (2, 2): "┃", (0, 1): "╷", (1, 0): "╵", (0, 2): "╻", (2, 0): "╹",
          (1, 2): "╽", (2, 1): "╿"}
VOLUME = " ▁▂▃▄▅▆▇█"
# Where the candles come from, per source: what a price is and what the volume strip counts.
WHAT = {"finx": ("FinX ticks", "ticks"), "bitfinex": ("Bitfinex trades", "vol"), "bitmex": ("BitMEX trades", "ct"),
        "finazon": ("Finazon bars", "vol")}
LABEL_EVERY = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
UP, DOWN, FLAT, BLANK = 0, 1, 2, 3  # BLANK: empty cells, unstyled (never merged with the axis' text)


def nice_step(raw: float) -> float:
    """The 1-2-5 step at or above ``raw`` (axis labels at round prices)."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def chart_source(market: MarketState, pairs: PairTable, selection: Selection) -> str | None:
    """The source whose candles the chart draws: the chosen one, else the watchlist's preferred source with
    candles (FinX for crypto, with today's history; Finazon for equities), else any source with candles."""
    pair = selection.pair
    have = list(market.candles.sources_for(pair))
    if selection.chart_source and selection.chart_source in pairs.sources_for(pair):
        return selection.chart_source
    info = pairs.get(pair)
    for source in PRICE_PRIORITY.get(info.kind if info else "crypto", ()):
        if source in have:
            return source
    return have[0] if have else None


def _glyphs(candle: Candle, lo: float, hi: float, plot: int) -> str:
    """A candle's column, top to bottom, at half-row precision: blanks above and below its wick."""
    last = 2 * plot - 1
    scale = last / (hi - lo)

    def y(price: float) -> int:
        return min(last, max(0, round((hi - price) * scale)))

    wick_top, wick_bottom = y(candle.h), y(candle.l)
    body_top, body_bottom = y(max(candle.o, candle.c)), y(min(candle.o, candle.c))
    cells = []
    for r in range(wick_top // 2, wick_bottom // 2 + 1):
        upper, lower = 2 * r, 2 * r + 1
        cells.append(GLYPHS[(2 if body_top <= upper <= body_bottom else 1 if wick_top <= upper <= wick_bottom else 0,
                             2 if body_top <= lower <= body_bottom else 1 if wick_top <= lower <= wick_bottom else 0)])
    return " " * (wick_top // 2) + "".join(cells) + " " * (plot - 1 - wick_bottom // 2)


_VOLUMES: dict[tuple[int, int], str] = {}


def _volume(eighths: int, rows: int) -> str:
    """A volume bar ``eighths`` of a row high in a strip ``rows`` tall, top to bottom."""
    text = _VOLUMES.get((eighths, rows))
    if text is None:
        text = "".join(VOLUME[min(8, max(0, eighths - (rows - 1 - r) * 8))] for r in range(rows))
        if len(_VOLUMES) < 4096:
            _VOLUMES[(eighths, rows)] = text
    return text


_GLYPHS_RUN = re.compile(r"[^ ]+")


def _runs(row: str, kinds: list[int], styles: list[Style], blank: Style) -> list[Segment]:
    """``row`` as segments of one style, found from its non-blank stretches (most of a chart is blank): each
    segment starts with a glyph and blanks close the segment before them (a terminal does not care; SVG
    renderers drop leading blanks and shift what follows)."""
    segments: list[Segment] = []
    text = ""
    kind = -1  # the current segment's style (-1: blanks so far)
    pos = 0
    for match in _GLYPHS_RUN.finditer(row):
        a, b = match.span()
        text += row[pos:a]
        i = a
        while i < b:
            k = kinds[i]
            j = i + 1
            while j < b and kinds[j] == k:
                j += 1
            if k == kind:
                text += row[i:j]
            else:
                if text:
                    segments.append(Segment(text, styles[kind] if kind >= 0 else blank))
                text, kind = row[i:j], k
            i = j
        pos = b
    text += row[pos:]
    if text:
        segments.append(Segment(text, styles[kind] if kind >= 0 else blank))
    return segments


class Chart(PolledLines):
    """Candles of ``selection.timeframe`` from ``chart_source``'s series; newest on the right."""

    COMPONENT_CLASSES = {"chart--title", "chart--muted", "chart--up", "chart--down", "chart--flat", "chart--axis",
                         "chart--last", "chart--volume", "chart--hint"}
    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, hz: float,
                 id: str | None = None) -> None:
        super().__init__(selection, hz=hz, id=id)
        self.market = market
        self.pairs = pairs
        # column cache: a candle's (o, h, l, c) -> its glyphs top to bottom; valid for one price scale only,
        # so it is dropped when the scale changes
        self._columns: dict[Any, str] = {}
        self._scale: Any = None

    def signature(self) -> Any:
        sel = self.selection
        source = chart_source(self.market, self.pairs, sel)
        series = self.market.candles.get(source, sel.pair) if source else None
        return (sel.pair, sel.timeframe, source, series.version if series else None)

    def build(self, width: int, height: int) -> list[Strip]:
        sel = self.selection
        pair, tf = sel.pair, sel.timeframe
        source = chart_source(self.market, self.pairs, sel)
        series = self.market.candles.get(source, pair) if source else None
        info = self.pairs.get(pair)
        decimals = info.decimals if info else 2
        muted = self.style("chart--muted")
        what, vol_name = WHAT.get(source or "", (display_name(source or ""), "vol"))
        title: list[Cell] = [(f" {what if source else 'no candles'} · {pair} · {LABELS.get(tf, tf)}",
                              self.style("chart--title"))]
        if series is None or not len(series) or not series.candles(tf):
            where = display_name(source) if source else "any source"
            title.append(("  t timeframe · c source", self.style("chart--hint")))
            return [self.line(title, width), self.line([(f" waiting for prices from {where}…", muted)], width)]
        candles = series.candles(tf)
        last = candles.peekitem(-1)[1]
        axis_w = len(fmt.price(last.h * 10, decimals)) + 2  # room for a price one digit longer than now
        cols = max(1, width - axis_w)
        end = last.ts
        shown = [candles.get(end - (cols - 1 - i) * tf) for i in range(cols)]
        present = [c for c in shown if c is not None]
        hi = max(c.h for c in present)
        lo = min(c.l for c in present)
        if hi == lo:
            pad = max(info.tick if info else 0.01, abs(hi) * 0.0005)
            hi, lo = hi + pad, lo - pad
        # OHLC of the newest candle on the title line, if it fits.
        up_style, down_style = self.style("chart--up"), self.style("chart--down")
        move = up_style if last.c > last.o else down_style if last.c < last.o else muted
        volume = last.v if series.sized else float(last.n)
        ohlc = (f"  O {fmt.price(last.o, decimals)} H {fmt.price(last.h, decimals)} L {fmt.price(last.l, decimals)}"
                f" C {fmt.price(last.c, decimals)}  {vol_name} {fmt.size(volume)}")
        used = sum(len(t) for t, _ in title)
        short = f"  {fmt.price(last.c, decimals)}  {vol_name} {fmt.size(volume)}"
        for text in (ohlc, short):
            if used + len(text) <= width:
                title.append((text, move))
                used += len(text)
                break
        if used + 26 <= width:
            title.append(("  t timeframe · c source", self.style("chart--hint")))
        lines = [self.line(title, width)]
        rows = height - 2  # the title above, the time axis below
        vol_rows = 0 if rows < 8 else max(2, rows // 6)
        plot = rows - vol_rows
        if plot < 2:
            return lines
        vmax = max((c.v if series.sized else c.n) for c in present) or 1.0
        scale = (lo, hi, plot)
        if scale != self._scale or len(self._columns) > 4096:
            self._scale = scale
            self._columns = {}
        columns = [self._column(c, lo, hi, plot, vol_rows, vmax, series.sized) if c is not None else None
                   for c in shown]
        styles = (up_style, down_style, muted, Style())
        # The price axis: round prices, and the last price marked where it stands.
        span = hi - lo
        half = lambda price: min(2 * plot - 1, max(0, round((hi - price) / span * (2 * plot - 1))))  # noqa: E731
        labels: dict[int, str] = {}
        step = max(nice_step(span / max(1, plot // 3)), info.tick if info else 0.0)  # never finer than a tick
        value = math.ceil(lo / step) * step
        while value <= hi:
            labels[half(value) // 2] = fmt.price(value, decimals)
            value += step
        last_row = half(last.c) // 2
        axis_style, last_style = self.style("chart--axis"), self.style("chart--last")
        base = self._poll_base if self._poll_base is not None else self.rich_style
        # Rows are read across the cached columns: transposed in one step, then cut where the style changes.
        blank_column = " " * (plot + vol_rows)
        texts = [c[0] + c[2] if c is not None else blank_column for c in columns]
        kinds = [c[1] if c is not None else BLANK for c in columns]
        across = ["".join(cells) for cells in zip(*texts, strict=True)]
        plot_styles = [base + st for st in styles]
        # The volume strip is one colour (the candle above it shows the direction): a row is one segment, so a
        # repaint of the strip costs a few segments, not one per column.
        volume_style = [base + self.style("chart--volume")]
        one_kind = [0] * cols
        for r in range(plot):
            if r == last_row:  # the dotted last-price line goes through blanks only: drawn cell by cell
                segments = self._row(columns, r, styles, base, dotted=True)
                segments.append(Segment(("◀" + fmt.price(last.c, decimals)).ljust(axis_w)[:axis_w],
                                        base + last_style))
            else:
                segments = _runs(across[r], kinds, plot_styles, base)
                segments.append(Segment((" " + labels.get(r, "")).ljust(axis_w)[:axis_w], base + axis_style))
            lines.append(Strip(segments, width))
        for r in range(vol_rows):
            segments = _runs(across[plot + r], one_kind, volume_style, base)
            text = f" {vol_name} {fmt.size(vmax)}" if r == 0 else ""
            segments.append(Segment(text.ljust(axis_w)[:axis_w], base + axis_style))
            lines.append(Strip(segments, width))
        lines.append(self._time_axis(shown, end, tf, cols, width, axis_style))
        return lines

    def _column(self, candle: Candle, lo: float, hi: float, plot: int, vol_rows: int, vmax: float,
                sized: bool) -> tuple[str, int, str]:
        """(glyphs top to bottom, style, volume top to bottom). The glyphs are cached for the price scale; the
        volume is cheap and drawn every time (the forming candle's volume moves the volume scale often)."""
        key = (candle.o, candle.h, candle.l, candle.c)
        text = self._columns.get(key)
        if text is None:
            text = self._columns[key] = _glyphs(candle, lo, hi, plot)
        style = UP if candle.c > candle.o else DOWN if candle.c < candle.o else FLAT
        amount = candle.v if sized else candle.n
        eighths = round(amount / vmax * vol_rows * 8) if vmax else 0
        if amount > 0:
            eighths = max(1, eighths)  # any volume shows
        return (text, style, _volume(eighths, vol_rows))

    @staticmethod
    def _row(columns: list[tuple[str, int, str] | None], r: int, styles: tuple[Style, ...], base: Style,
             dotted: bool) -> list[Segment]:
        """Row ``r`` (plot rows first, then volume rows) as runs of one style."""
        segments: list[Segment] = []
        run: list[str] = []
        run_style = -1
        blank, blank_style = ("·", FLAT) if dotted else (" ", BLANK)
        for column in columns:
            if column is None:
                ch, st = blank, blank_style
            else:
                text, st, vol = column
                n = len(text)
                ch = text[r] if r < n else vol[r - n]
                if ch == " ":
                    ch, st = blank, blank_style
            if st != run_style and run:
                segments.append(Segment("".join(run), base + styles[run_style]))
                run = []
            run_style = st
            run.append(ch)
        if run:
            segments.append(Segment("".join(run), base + styles[run_style]))
        return segments

    def _time_axis(self, shown: list[Candle | None], end: int, tf: int, cols: int, width: int,
                   style: Style) -> Strip:
        every = next((e for e in LABEL_EVERY if e >= tf * 9), LABEL_EVERY[-1])
        text = [" "] * cols
        for i in range(cols):
            ts = end - (cols - 1 - i) * tf
            if ts % every == 0 and i + 5 <= cols:
                label = time.strftime("%H:%M" if ts % 86400 else "%d%b", time.gmtime(ts))
                if all(c == " " for c in text[max(0, i - 1):i + len(label) + 1]):
                    text[i:i + len(label)] = label
        return self.line([("".join(text), style)], width)
