"""A Line-API widget that repaints on its own timer, and only the lines whose content changed.

Feeds update the model at any rate; a widget polls a cheap signature (model version counters, the selected
pair, its size) a few times a second, rebuilds its lines only when the signature moved, and marks dirty only
the rows that differ from what is on screen. That is the whole rendering policy of the monitor.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from finxtui.model.selection import Selection

Cell = tuple[str, Style | None]


class Pollable(Protocol):
    """Anything the poll clock can drive: a widget that repaints from the model when its data changed."""

    def poll(self, force: bool = False) -> None: ...


def theme_line_filters(app: App) -> Sequence[LineFilter]:
    """The app's line filters but the ANSI-to-truecolor one, for widgets whose rows are styled from the theme.

    Those rows' colours are all truecolor already (a theme is, and an ANSI theme turns the filter off), so that
    filter rebuilt every changed row, and looked up every unchanged one on every paint, to change nothing: about
    a sixth of what Textual spends on a changed row (benchmarks/paint_floor.py). ``NO_COLOR``'s filter stays.
    """
    return [f for f in app.get_line_filters() if not isinstance(f, ANSIToTruecolor)]


class PollClock:
    """One timer that polls every ``PolledLines`` widget of an app, each at its own rate.

    With a timer each, widgets due at the same moment polled a few milliseconds apart and the screen painted
    after the first: two or three frames where one would do (at idle, half of the app's CPU went on frames).
    Polled from one callback, everything due in a tick changes together and Textual paints it once. Rates
    are kept: a widget is polled every ``period`` seconds on average, on the nearest tick.
    """

    TICK = 0.1  # the book's 10 Hz; the shortest period asked for if shorter (rates go up to 60 Hz). Every
    # wake-up of an idle loop costs, so the clock ticks no faster than the fastest widget needs.
    _clocks: weakref.WeakKeyDictionary[App, PollClock] = weakref.WeakKeyDictionary()

    def __init__(self, app: App) -> None:
        self._app = weakref.ref(app)
        self._due: dict[Pollable, list[float]] = {}  # widget -> [next poll (monotonic), period]
        self.tick = self.TICK
        self._origin = time.monotonic()
        self._timer = app.set_interval(self.tick, self._tick, name="polled-lines")
        # Work that must not delay a paint runs once this tick's paint is done, with the most time before the
        # next redraw (the garbage collector's full pass).
        self._between: list[Callable[[], None]] = []

    @classmethod
    def of(cls, app: App) -> PollClock:
        clock = cls._clocks.get(app)
        if clock is None:
            clock = cls._clocks[app] = cls(app)
        return clock

    def add(self, widget: Pollable, period: float) -> None:
        # Every widget's polls sit on one grid from the clock's start, so the slower ones (4, 2, 1 Hz) fall on the
        # same ticks: a paint walks every panel under the box around what changed, so changes that come together
        # cost one paint, not two or three.
        # The first slot lies past ``now + tick / 2``: a tick polls slots up to half a tick early, so a nearer one
        # may have been polled for the others already, and this widget would be polled for it alone.
        now = time.monotonic() + self.tick / 2
        self._due[widget] = [self._origin + period * (math.floor((now - self._origin) / period) + 1), period]
        app = self._app()
        if period < self.tick and app is not None:
            self._timer.stop()
            self.tick = period
            self._timer = app.set_interval(self.tick, self._tick, name="polled-lines")

    def between_ticks(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every tick, once the screen has painted what the tick redrew."""
        self._between.append(callback)

    def remove(self, widget: Pollable) -> None:
        self._due.pop(widget, None)

    @classmethod
    def forget(cls, app: App, widget: Pollable) -> None:
        """Stop polling ``widget`` (unmounted); no clock is made for an app that has none."""
        clock = cls._clocks.get(app)
        if clock is not None:
            clock.remove(widget)

    def _tick(self) -> None:
        now = time.monotonic()
        soon = now + self.tick / 2
        for widget, slot in list(self._due.items()):
            due, period = slot
            if soon >= due:
                # The next slot on the grid after now: a late tick skips what it missed, no catch-up bursts.
                slot[0] = due + period * (math.floor((now - due) / period) + 1 if now - due >= period else 1)
                widget.poll()
        app = self._app()
        if self._between and app is not None:
            app.call_after_refresh(self._run_between)

    def _run_between(self) -> None:
        for callback in self._between:
            callback()


class PolledLines(Widget):
    """Subclasses implement ``signature``/``build``. ``hz`` is the redraw rate; ``selection`` says whether
    drawing is paused (and what is selected, for subclasses)."""

    ALLOW_MAXIMIZE = True

    def __init__(self, selection: Selection, *, hz: float, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.selection = selection
        self.hz = hz
        self._lines: list[Strip] = []
        self._signature: Any = object()
        self.rebuilds = 0
        # ``rich_style`` walks every ancestor's CSS on each read and a build used to read it once a row (two
        # thirds of a ladder build), so a build reads it once: nothing can restyle during a build.
        self._poll_base: Style | None = None
        # Component styles survive builds: Textual clears its own cache of them on every refresh, so each build
        # recomputed every one. An entry is only used while Textual still holds the very same component styles,
        # unchanged (applying CSS, e.g. a theme or a pseudo-class change, replaces them).
        self._component_cache: dict[str, tuple[Any, int, Style]] = {}
        # Rows by what they show, from the last build and the one running: a row that did not change is the very
        # same Strip again, built once (a Strip and its seven caches cost more than the text in it), and the
        # comparison in ``_set_lines`` finds it unchanged at once. Two builds' rows at most, so it stays small.
        self._rows: dict[tuple[Any, ...], Strip] = {}
        self._next_rows: dict[tuple[Any, ...], Strip] = {}

    def on_mount(self) -> None:
        PollClock.of(self.app).add(self, 1 / self.hz)
        self.poll(force=True)

    def on_unmount(self) -> None:
        PollClock.forget(self.app, self)

    def on_resize(self) -> None:
        self.poll(force=True)

    def get_line_filters(self) -> Sequence[LineFilter]:
        return theme_line_filters(self.app)

    def signature(self) -> Any:
        """Anything that changes when the lines would change (versions, selection, size)."""
        raise NotImplementedError

    def build(self, width: int, height: int) -> list[Strip]:
        raise NotImplementedError

    @property
    def text(self) -> str:
        """What the widget shows now, one line per row (for tests and scripts)."""
        return "\n".join(strip.text for strip in self._lines)

    def poll(self, force: bool = False) -> None:
        if self.selection.paused and not force:
            return
        sig = (self.signature(), self.size)
        if sig == self._signature and not force:
            return
        self._signature = sig
        self.rebuilds += 1
        width, height = self.size
        self._poll_base = self.rich_style
        self._next_rows = {}
        try:
            lines = self.build(width, height)
        finally:
            self._poll_base = None
            self._rows, self._next_rows = self._next_rows, {}
        self._set_lines(lines)

    def _set_lines(self, lines: list[Strip]) -> None:
        old = self._lines
        self._lines = lines
        width = self.size.width
        # No layout pass when the number of lines changes: each one reflows the whole screen, and a widget sized by
        # its content (the ticker, the account) asks for one itself when the height it wants changes. Rows past
        # the shorter list are repainted like changed ones.
        if len(old) == len(lines):
            changed = [y for y, (a, b) in enumerate(zip(old, lines, strict=True)) if a != b]
        else:
            common = min(len(old), len(lines))
            changed = [y for y in range(common) if old[y] != lines[y]]
            changed += range(common, max(len(old), len(lines)))
        if len(changed) > max(len(old), len(lines)) // 2:
            # Most rows (a rescaled chart, a ladder's running totals): one region around them costs less than one
            # per row, and the blank rows below the content (half a tall ladder) are not painted again.
            self.refresh(Region(0, changed[0], width, changed[-1] - changed[0] + 1))
            return
        for y in changed:
            self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    # -- helpers for subclasses -----------------------------------------------------------------------

    def style(self, name: str) -> Style:
        source = self._component_styles.get(name)
        if source is None:
            return self.get_component_rich_style(name, partial=True)  # raises the usual KeyError
        key = source._cache_key
        hit = self._component_cache.get(name)
        if hit is not None and hit[0] is source and hit[1] == key:
            return hit[2]
        style = self.get_component_rich_style(name, partial=True)
        self._component_cache[name] = (source, key, style)
        return style

    def line(self, cells: list[Cell], width: int, fill: Style | None = None) -> Strip:
        """One row from (text, style) cells, cropped or padded to ``width`` (padding in ``fill``)."""
        base = self._poll_base if self._poll_base is not None else self.rich_style
        key = (*cells, width, fill, base)
        strip = self._rows.get(key)
        if strip is None:
            strip = self._next_rows.get(key) or self._make_line(cells, width, fill, base)
        self._next_rows[key] = strip
        return strip

    @staticmethod
    def _make_line(cells: list[Cell], width: int, fill: Style | None, base: Style) -> Strip:
        segments = [Segment(text, base + style if style is not None else base) for text, style in cells if text]
        length = sum(segment.cell_length for segment in segments)
        if length < width:  # padded, as Strip.adjust_cell_length pads, without building the strip twice
            segments.append(Segment(" " * (width - length), base + fill if fill is not None else base))
            return Strip(segments, width)
        if length == width:
            return Strip(segments, width)
        return Strip(segments, length).adjust_cell_length(width, base + fill if fill is not None else base)
