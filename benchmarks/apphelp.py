"""Running the app headless for a benchmark, and measuring it from inside without changing what it does.

``Meter`` wraps (for the benchmark process only):

- ``Screen._on_timer_update``: the compositor's paint, timed in thread CPU time;
- ``App._display`` on the app instance: counts painted frames and, since headless Textual skips it, encodes
  each update to terminal escape codes (``CompositorUpdate.render_segments``) as a real terminal would need,
  so paint cost and bytes/s include the ANSI step (the ``write()`` itself and the terminal are not included);
- ``PolledLines.poll`` and ``HistoryTable.poll``: the widgets' rebuilds (thread CPU time);
- ``DepthLadder.build``: ms per ladder build;
- ``Chart.build`` and ``TradeTape.build``: the two panels' rebuilds (thread CPU time);
- ``StylesCache.render_line``: the lines Textual styles again (borders, padding, background) because they changed,
  counted to set a paint's cost beside ``paint_floor.py``'s per-line figure.

Event-loop lag comes from a probe task (``asyncio.sleep(period)`` and how late it wakes). Book updates applied
are read from the books' ``version`` counters (one per level change), which costs nothing to count.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import Control, bench_config, proc_cpu
from finxtui.sources import LiveSource
from finxtui.ui.app import FinxApp
from finxtui.ui.widgets.base import PolledLines
from finxtui.ui.widgets.chart import Chart
from finxtui.ui.widgets.history import HistoryTable
from finxtui.ui.widgets.ladder import DepthLadder
from finxtui.ui.widgets.tape import TradeTape

SIZE = (160, 50)  # the smallest size with every panel on screen (chart and trade tape included)


class Counter:
    __slots__ = ("calls", "cpu", "samples")

    def __init__(self) -> None:
        self.calls = 0
        self.cpu = 0.0
        self.samples: list[float] | None = None

    def add(self, dt: float) -> None:
        self.calls += 1
        self.cpu += dt
        if self.samples is not None:
            self.samples.append(dt)


def _timed(owner: type, name: str, counter: Counter) -> Callable[[], None]:
    original = owner.__dict__[name]
    clock = time.thread_time

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        t = clock()
        try:
            return original(self, *args, **kwargs)
        finally:
            counter.add(clock() - t)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


class Meter:
    """Counters for one app; ``snapshot()`` before and after a window, ``delta`` between them."""

    def __init__(self) -> None:
        from textual._styles_cache import StylesCache
        from textual.screen import Screen

        self.paint = Counter()  # Screen._on_timer_update (layout + compositor + our ANSI encode)
        self.ansi = Counter()
        self.polls = Counter()  # every widget poll (signature check and, when changed, a rebuild)
        self.ladder = Counter()  # DepthLadder.build
        self.ladder.samples = []
        self.chart = Counter()  # Chart.build
        self.tape = Counter()  # TradeTape.build
        self.restyle = Counter()  # StylesCache.render_line: one changed line of one widget styled again
        self.frames = 0  # updates handed to the terminal
        self.bytes = 0
        self._undo = [
            _timed(Screen, "_on_timer_update", self.paint),
            _timed(PolledLines, "poll", self.polls),
            _timed(HistoryTable, "poll", self.polls),
            _timed(DepthLadder, "build", self.ladder),
            _timed(Chart, "build", self.chart),
            _timed(TradeTape, "build", self.tape),
            _timed(StylesCache, "render_line", self.restyle),
        ]
        self.app: FinxApp | None = None
        self._painted: asyncio.Event | None = None
        self.on_paint: list[Callable[[float], None]] = []  # called with time.monotonic() after each frame

    def next_paint(self) -> asyncio.Event:
        """An event set when the next frame has been handed to the terminal."""
        self._painted = asyncio.Event()
        return self._painted

    def attach(self, app: FinxApp) -> None:
        """Count painted frames and add the ANSI encoding headless mode leaves out."""
        from textual._compositor import CompositorUpdate

        self.app = app
        original = app._display
        clock = time.thread_time

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and not app._batch_count:
                self.frames += 1
                if app.is_headless and isinstance(renderable, CompositorUpdate):
                    t = clock()
                    self.bytes += len(renderable.render_segments(app.console))
                    self.ansi.add(clock() - t)
            original(screen, renderable)
            if renderable is not None:
                if self.on_paint:
                    now = time.monotonic()
                    for hook in self.on_paint:
                        hook(now)
                if self._painted is not None:
                    self._painted.set()
                    self._painted = None

        app._display = display  # type: ignore[method-assign]

    def close(self) -> None:
        for undo in self._undo:
            undo()

    def snapshot(self) -> dict[str, float]:
        app = self.app
        assert app is not None
        books = sum(b.version for b in app.state.books.values())
        frames_in = sum(getattr(f, "frames", 0) for f in app.source.feeds.values())  # type: ignore[attr-defined]
        return {"t": time.perf_counter(), "cpu": proc_cpu(), "paint_calls": self.paint.calls,
                "paint_cpu": self.paint.cpu, "ansi_cpu": self.ansi.cpu, "poll_cpu": self.polls.cpu,
                "rebuilds": sum(w.rebuilds for w in app.query(PolledLines)), "ladder_builds": self.ladder.calls,
                "ladder_cpu": self.ladder.cpu, "chart_builds": self.chart.calls, "chart_cpu": self.chart.cpu,
                "tape_builds": self.tape.calls, "tape_cpu": self.tape.cpu, "frames": self.frames, "bytes": self.bytes,
                "restyled": self.restyle.calls, "book_changes": books,
                "frames_in": frames_in}

    @staticmethod
    def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {k: b[k] - a[k] for k in a}


class TickToScreen:
    """From a frame's arrival to the first paint that shows it, for the book on screen.

    Arrival is when the event loop hands the frame's bytes to the websocket (the connection's
    ``data_received``: each frame it queues is stamped then). A frame that changes the displayed book records
    the book's ``version`` after it; each ladder build records the version it drew; the first frame handed to
    the terminal after a build that drew version V shows every frame up to V. Benchmark-side wrappers only
    (the feed's instance attributes and the ladder's ``build``); the app runs as it does.
    """

    def __init__(self, app: FinxApp, meter: Meter) -> None:
        from finxtui.feeds.session import Feed

        self.app = app
        self.samples: list[float] = []
        self.queued: list[float] = []  # arrival -> the feed applying it (waiting in the socket's queue)
        self.waits: list[float] = []  # applied -> the build that drew it (waiting for the redraw)
        self.paints: list[float] = []  # that build -> the paint that showed it
        self.invisible = 0  # frames whose changes a build drew identically (deeper levels, undone, rounding)
        self.pending: collections.deque[tuple[int, float, float]] = collections.deque()
        self._built = -1
        self._built_at = 0.0
        self._wrapped: set[int] = set()
        original_take = Feed.__dict__["_take_queue"]
        original_build = DepthLadder.__dict__["build"]
        probe = self

        def take_queue(feed: Feed, ws: Any) -> None:
            original_take(feed, ws)
            probe._stamp(feed, ws)

        def build(ladder: DepthLadder, width: int, height: int) -> Any:
            book = ladder.market.book(ladder.selection.book_source, ladder.selection.pair)
            version = book.version if book is not None else -1
            before = ladder.text
            lines = original_build(ladder, width, height)
            if "\n".join(strip.text for strip in lines) == before:
                probe._unseen(version)  # these frames changed nothing on screen: no paint can show them
            else:
                probe._built = version
                probe._built_at = time.monotonic()
            return lines

        Feed._take_queue = take_queue  # type: ignore[method-assign]
        DepthLadder.build = build  # type: ignore[method-assign]
        self._undo = [lambda: setattr(Feed, "_take_queue", original_take),
                      lambda: setattr(DepthLadder, "build", original_build)]
        meter.on_paint.append(self._paint)

    def close(self) -> None:
        for undo in self._undo:
            undo()

    def reset(self) -> None:
        self.samples = []
        self.queued = []
        self.waits = []
        self.paints = []
        self.invisible = 0

    def _shown(self) -> Any:
        app = self.app
        return app.state.book(app.book_source, app.selected)

    def _stamp(self, feed: Any, ws: Any) -> None:
        queue = feed._queued
        stamps: collections.deque[float] = collections.deque()
        receive = ws.data_received
        clock = time.monotonic

        def data_received(data: bytes) -> None:
            n = len(queue) if queue is not None else 0
            receive(data)
            if queue is not None and len(queue) > n:
                stamps.extend([clock()] * (len(queue) - n))

        ws.data_received = data_received  # the transport looks it up on the instance for every read
        if id(feed) in self._wrapped:
            feed._stamps = stamps
            return
        self._wrapped.add(id(feed))
        feed._stamps = stamps
        on_frame = feed.on_frame
        probe = self

        def stamped(frame: Any) -> None:
            arrived = feed._stamps.popleft() if feed._stamps else clock()
            book = probe._shown()
            before = book.version if book is not None else None
            on_frame(frame)
            if book is not None and book.version != before:
                probe.pending.append((book.version, arrived, clock()))

        feed.on_frame = stamped

    def _unseen(self, version: int) -> None:
        pending = self.pending
        while pending and pending[0][0] <= version:
            pending.popleft()
            self.invisible += 1

    def _paint(self, now: float) -> None:
        pending = self.pending
        built = self._built
        built_at = self._built_at
        while pending and pending[0][0] <= built:
            _, arrived, applied = pending.popleft()
            self.samples.append(now - arrived)
            self.queued.append(applied - arrived)
            self.waits.append(built_at - applied)
            self.paints.append(now - built_at)


class LagProbe:
    """How late ``asyncio.sleep(period)`` wakes up: the event loop's responsiveness."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.period
        while True:
            t = loop.time()
            await asyncio.sleep(period)
            self.samples.append(loop.time() - t - period)

    def start(self) -> None:
        self.samples = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        return self.samples


def bench_app(sim_url: str, *, extra_pairs: int = 0, **config_changes: Any) -> FinxApp:
    """The app pointed at a simulator in another process (demo accounts), as the CLI would build it."""
    cfg = bench_config(sim_url, extra_pairs=extra_pairs, **config_changes)
    return FinxApp(cfg, LiveSource(cfg))


def book_ready(app: FinxApp) -> bool:
    book = app.state.book(app.book_source, app.selected)
    return book is not None and bool(book.bids) and bool(book.asks)


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def all_live(app: FinxApp) -> bool:
    used = [h for h in app.state.health.values() if h.state]
    return bool(used) and all(h.state == "live" for h in used)


async def sim_frames(control: Control) -> tuple[int, int]:
    """(frames the simulator has sent to its open sockets, market steps so far)."""
    stats = await control.stats()
    return int(stats["frames_sent"]), int(stats["steps"])
