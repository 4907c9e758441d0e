"""Today's FinX tick history for the selected pair, newest first, with live ticks landing on top."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from finxtui.model.events import OFF
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import History, MarketState
from finxtui.ui import format as fmt
from finxtui.ui.widgets.base import Cell, PollClock, PolledLines, theme_line_filters
from finxtui.wire.venues import key_hint

TIME_W, EXCH_W, PRICE_W, CHANGE_W = 13, 9, 12, 10
WIDE = 46  # below this, times drop their milliseconds so price and change still fit
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def widths(width: int) -> tuple[int, int, int]:
    """(time, price, change) column widths for a panel ``width`` wide (the table's scrollbar included):
    narrow panels drop milliseconds and padding, not columns."""
    if width - 1 >= WIDE:
        return TIME_W, PRICE_W, CHANGE_W
    return TIME_W - 4, PRICE_W - 2, CHANGE_W - 2


class HistoryHeader(PolledLines):
    """Title (with the loading indicator) and the column names. ``recorded``: the ticks come from a recording."""

    COMPONENT_CLASSES = {"history--title", "history--columns", "history--loading", "history--error"}
    DEFAULT_CSS = """
    HistoryHeader { height: 2; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, recorded: bool,
                 clock: Callable[[], float], hz: float) -> None:
        super().__init__(selection, hz=hz)
        self.market = market
        self.pairs = pairs
        self.recorded = recorded
        self.clock = clock

    def signature(self) -> Any:
        hist = self.market.history.get(self.selection.pair)
        spin = int(self.clock() * 8) if hist is not None and hist.loading else 0
        return (self.selection.pair, hist.version if hist else None, spin, self.market.health_version)

    def build(self, width: int, height: int) -> list[Strip]:
        pair = self.selection.pair
        hist = self.market.history.get(pair)
        info = self.pairs.get(pair)
        when = "recorded" if self.recorded else "today (UTC)"
        title: list[Cell] = [(f" FinX ticks · {pair} · {when}", self.style("history--title"))]
        if info is not None and "finx" not in self.pairs.sources_for(pair):
            title = [(f" {pair} is not on FinX: no tick history (equities come as Finazon bars)",
                      self.style("history--error"))]
        elif hist is None:
            title.append(("  not loaded", self.style("history--loading")))
        elif hist.loading:
            spin = SPINNER[int(self.clock() * 8) % len(SPINNER)]
            title.append((f"  {spin} loading… {len(hist.rows):,} ticks, {hist.pages} page(s)",
                          self.style("history--loading")))
        elif hist.error:
            finx = self.market.health.get("finx")
            if finx is not None and finx.state == OFF:  # no key is a choice, not a fault: no red, and short
                title = [(f" FinX ticks · {pair}", self.style("history--title")),
                         (f"  off · set {key_hint('finx')}", self.style("history--loading"))]
            else:
                title.append((f"  {hist.error}", self.style("history--error")))
        else:
            title.append((f"  {len(hist.rows):,} ticks", self.style("history--loading")))
        time_w, price_w, change_w = widths(width)
        columns = " " + "time".ljust(time_w) + "exchange".ljust(EXCH_W) + "price".rjust(price_w) + "change".rjust(
            change_w)
        return [self.line(title, width), self.line([(columns, self.style("history--columns"))], width)]


class HistoryTable(ScrollView):
    """Rows newest first; scrolls with the keyboard when focused (up/down, page up/down, home/end)."""

    can_focus = True
    COMPONENT_CLASSES = {"history--row", "history--up", "history--down", "history--muted", "history--live"}
    DEFAULT_CSS = """
    HistoryTable { height: 1fr; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, hz: float) -> None:
        super().__init__()
        self.market = market
        self.selection = selection
        self.pairs = pairs
        self.hz = hz
        self._signature: Any = None
        self._hist: History | None = None
        # What every row of one paint shares (the widget's style, which walks every ancestor's CSS, 60 us on this
        # box; the row styles; the column widths), read by the first row a paint asks for. Only kept while Textual
        # renders this widget, so a theme or a resize is always read afresh.
        self._paint: _RowStyle | None = None
        self._in_paint = False

    def on_mount(self) -> None:
        PollClock.of(self.app).add(self, 1 / self.hz)  # painted with the others
        self.poll(force=True)

    def on_unmount(self) -> None:
        PollClock.forget(self.app, self)

    def poll(self, force: bool = False) -> None:
        if self.selection.paused and not force:
            return
        pair = self.selection.pair
        hist = self.market.history.get(pair)
        sig = (pair, hist.version if hist else None)
        if sig == self._signature and not force:
            return
        if self._signature is not None and sig[0] != self._signature[0]:
            self.scroll_home(animate=False)
        self._signature = sig
        self._hist = hist
        size = Size(self.size.width, len(hist.rows) if hist else 0)
        old = self.virtual_size
        if size != old:
            if size.width == old.width and min(size.height, old.height) > self.size.height:
                # More rows than fit, before and after: the scrollbars stay as they are, so the scroll range
                # grows without a layout pass of the whole screen (one per tick landing, 30 ms each at idle).
                # The thumb is resized by the next layout; in a long history it moves by under a cell.
                self.set_reactive(HistoryTable.virtual_size, size)
            else:
                self.virtual_size = size
        self.refresh()

    def get_line_filters(self) -> Sequence[LineFilter]:
        return theme_line_filters(self.app)

    def render_lines(self, crop: Region) -> list[Strip]:
        # A tick landing moves every row down: Textual asks for them all here, in one call.
        self._in_paint = True
        try:
            return super().render_lines(crop)
        finally:
            self._in_paint = False
            self._paint = None

    def _row_style(self) -> _RowStyle:
        rs = self._paint
        if rs is None:
            style = self.get_component_rich_style
            info = self.pairs.get(self._hist.pair) if self._hist is not None else None
            rs = _RowStyle(self.rich_style, self.scrollable_content_region.width,  # not the scrollbar's column
                           style("history--up", partial=True), style("history--down", partial=True),
                           style("history--muted", partial=True), widths(self.size.width),
                           info.decimals if info else 2)
            if self._in_paint:
                self._paint = rs
        return rs

    def render_line(self, y: int) -> Strip:
        rs = self._row_style()
        base, width = rs.base, rs.width
        hist = self._hist
        index = y + self.scroll_offset.y
        if hist is None or index >= len(hist.rows):
            return Strip.blank(width, base)
        rows = hist.rows
        row = rows[-1 - index]
        older = rows[-2 - index] if index + 1 < len(rows) else None
        decimals = rs.decimals
        change = None if older is None else row.price - older.price
        move = rs.up if change and change > 0 else rs.down if change and change < 0 else rs.muted
        time_w, price_w, change_w = rs.widths
        stamp = fmt.time_ms(row.ts) if time_w == TIME_W else fmt.clock_text(row.ts)
        cells: list[Cell] = [
            (" " + stamp.ljust(time_w), None),
            (row.exchange[:EXCH_W - 1].ljust(EXCH_W), rs.muted),
            (fmt.price(row.price, decimals).rjust(price_w), None),
            ((fmt.signed(change, decimals) if change is not None else "").rjust(change_w), move),
        ]
        segments = [Segment(text, base + st if st is not None else base) for text, st in cells]
        return Strip(segments).adjust_cell_length(width, base)


class _RowStyle(NamedTuple):
    base: Style
    width: int
    up: Style
    down: Style
    muted: Style
    widths: tuple[int, int, int]
    decimals: int


class HistoryPanel(Vertical):
    """The header above the scrolling table, both reading the same history."""

    DEFAULT_CSS = """
    HistoryPanel { height: 1fr; }
    """

    def __init__(self, market: MarketState, selection: Selection, pairs: PairTable, *, recorded: bool,
                 clock: Callable[[], float], hz: float, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts = (HistoryHeader(market, selection, pairs, recorded=recorded, clock=clock, hz=hz),
                       HistoryTable(market, selection, pairs, hz=hz))

    def compose(self) -> ComposeResult:
        yield from self._parts
