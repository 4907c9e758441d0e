"""The finx-tui application, and ``make_app``, the factory the CLI and the tests both use.

Feeds run as async workers on the app's loop and write every event into one :class:`MarketState`; widgets
repaint on their own timers from it. The only per-event messages are status changes (``FeedStatus``) and
pair switches (``PairChanged``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.reactive import reactive
from textual.widgets import Footer

from finxtui.config import BOOK_SOURCES, Config, Refresh
from finxtui.feeds.factory import AnyFeed, make_feed
from finxtui.model.events import ERROR, Event
from finxtui.model.pairs import SOURCES
from finxtui.model.state import MarketState
from finxtui.ui.commands import PairProvider
from finxtui.ui.messages import FeedStatus, PairChanged
from finxtui.ui.screens.help import HelpScreen
from finxtui.ui.theme import PRICE_VARIABLES, THEMES
from finxtui.ui.widgets.header import AppHeader
from finxtui.ui.widgets.history import HistoryPanel, HistoryTable
from finxtui.ui.widgets.ladder import DepthLadder
from finxtui.ui.widgets.positions import PositionsPanel
from finxtui.ui.widgets.status import StatusBar
from finxtui.ui.widgets.ticker import Ticker

log = logging.getLogger("finxtui.ui")

EventSource = Callable[[], AsyncIterator[Event]]


class FinxApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "finx-tui"
    COMMANDS = App.COMMANDS | {PairProvider}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("right_square_bracket", "next_pair", "Next", key_display="]"),
        Binding("left_square_bracket", "prev_pair", "Prev", key_display="["),
        Binding("slash", "pick_pair", "Pair…", key_display="/"),
        Binding("b", "toggle_book", "Venue"),
        Binding("d", "toggle_depth", "Depth"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("r", "reconnect", "Reconnect"),
        Binding("plus,equals_sign", "replay_speed(2.0)", "Faster", key_display="+"),
        Binding("minus", "replay_speed(0.5)", "Slower", key_display="-"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        *(Binding(str(i), f"select_index({i})", f"Pair {i}", show=False) for i in range(1, 10)),
    ]

    selected: reactive[str] = reactive("BTC:USD", init=False)
    book_source: reactive[str] = reactive("bitfinex", init=False)
    book_levels: reactive[int] = reactive(10, init=False)
    paused: reactive[bool] = reactive(False, init=False)

    def __init__(self, config: Config, *, mode: str = "", demo: bool = False, seed: int = 7,
                 rate: float | None = None, warmup: int = 0, clock: Callable[[], float] = time.time,
                 events: EventSource | None = None, replay: Any = None, start_feeds: bool = True) -> None:
        super().__init__()
        self.config = config
        self.clock = clock
        self.demo = demo
        self.seed = seed
        self.rate = rate
        self.warmup = warmup
        self.mode = mode or ("DEMO" if demo else "")
        self.events_source = events
        # A replay's control (``speed`` and ``paused`` attributes): p then pauses the recording itself.
        self.replay = replay
        self.events_ended = False
        self.start_feeds = start_feeds
        self.refresh_rates: Refresh = config.effective_refresh()
        self.watchlist: list[str] = [p for p in config.watchlist if p in config.pairs]
        self.sources = [s for s in SOURCES if config.enabled.get(s, True)]
        self.state = MarketState(config.pairs, self.watchlist, clock=clock, sources=self.sources)
        self.feeds: dict[str, AnyFeed] = {}
        self.sim: Any = None
        self._feed_pairs: dict[str, tuple[str, ...]] = {}
        self.set_reactive(FinxApp.selected, config.default_pair if config.default_pair in config.pairs
                          else (self.watchlist[0] if self.watchlist else "BTC:USD"))
        self.set_reactive(FinxApp.book_source, config.book_source)
        self.set_reactive(FinxApp.book_levels, config.book_levels)

    # -- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader(id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Ticker(id="ticker")
                yield HistoryPanel(id="history")
            with Vertical(id="right"):
                yield DepthLadder(id="ladder")
                yield PositionsPanel(id="positions")
        yield StatusBar(id="status")
        yield Footer(id="footer")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # The price colours must exist under any theme the user picks.
        return dict(PRICE_VARIABLES)

    async def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        self.query_one("#ticker").border_title = "Watchlist"
        self.query_one("#history").border_title = "History"
        self.query_one("#ladder").border_title = "Depth"
        self.query_one("#positions").border_title = "Account"
        if self.demo:
            await self._start_simulator()
        if not self.start_feeds:
            return
        if self.events_source is not None:
            for pair in self.watchlist:  # a replay's history table fills from the recorded ticks
                self.state.history_for(pair).finish("")
            self.run_worker(self._event_worker(), group="events", exclusive=True, exit_on_error=False)
        else:
            self.state.mark_connecting(self.sources)
            self._start_feeds()
            self._load_history(self.selected)
        if not self.is_headless:
            self.set_interval(5.0, self._watch_terminal)

    async def _start_simulator(self) -> None:
        from finxtui.demo import demo_config
        from finxtui.sim.credentials import SimCredentials
        from finxtui.sim.server import Simulator

        self.sim = Simulator(seed=self.seed, rate=self.rate, clock=self.clock, credentials=SimCredentials(),
                             warmup=self.warmup)
        await self.sim.start()
        self.config = demo_config(self.config, self.sim)

    async def on_unmount(self) -> None:
        for feed in list(self.feeds.values()):
            with contextlib.suppress(Exception):
                await feed.aclose()
        if self.sim is not None:
            await self.sim.stop()

    def _watch_terminal(self) -> None:
        # Over SSH a dropped session can leave the process without a terminal; do not spin (dolphie does this).
        if not sys.stdin.isatty():
            self.exit(1)

    # -- feeds ----------------------------------------------------------------------------------------

    def pairs_for(self, source: str) -> tuple[str, ...]:
        """The pairs a source should carry: the watchlist and the selected pair, where the venue lists them."""
        wanted = dict.fromkeys([*self.watchlist, self.selected])
        return tuple(p for p in wanted if source in self.config.pairs.sources_for(p))

    def _start_feeds(self) -> None:
        for source in self.sources:
            pairs = self.pairs_for(source)
            if not pairs or self._feed_pairs.get(source) == pairs:
                continue
            self._feed_pairs[source] = pairs
            self.run_worker(self._feed_worker(source, pairs), group=f"feed-{source}", exclusive=True,
                            exit_on_error=False, name=f"feed-{source}")

    async def _feed_worker(self, source: str, pairs: tuple[str, ...]) -> None:
        depth = 25 if source == "bitfinex" else self.book_levels
        feed = make_feed(source, self.config, pairs, depth=depth, clock=self.clock)
        old = self.feeds.get(source)
        self.feeds[source] = feed
        if old is not None:
            await old.aclose()
        apply = self.state.apply
        try:
            async for event in feed:
                apply(event)
                if event.type == "status":
                    self.post_message(FeedStatus(event))  # type: ignore[arg-type]
        finally:
            await feed.aclose()

    async def _event_worker(self) -> None:
        assert self.events_source is not None
        apply = self.state.apply
        async for event in self.events_source():
            apply(event)
            if event.type == "status":
                self.post_message(FeedStatus(event))  # type: ignore[arg-type]
        self.events_ended = True  # a replay reached the end of its recording: say so rather than look frozen
        self.notify("end of the recording", timeout=5)
        self._repaint()

    def on_feed_status(self, message: FeedStatus) -> None:
        status = message.status
        if status.state == ERROR:
            scope = " account" if status.scope else ""
            # Details are venue text (they may hold brackets): never let them be read as markup.
            self.notify(escape(f"{status.source}{scope}: {status.detail}"), title="Feed error", severity="error",
                        timeout=8)

    @work(group="history", exclusive=True, exit_on_error=False)
    async def _load_history(self, pair: str) -> None:
        """Page today's FinX history of ``pair`` into the state (live ticks keep it current afterwards)."""
        if "finx" not in self.sources or "finx" not in self.config.pairs.sources_for(pair):
            return
        hist = self.state.history_for(pair)
        if hist.pages and not hist.error:
            return  # loaded this session; live ticks have kept it current
        if not self.config.credentials.finx_key:
            hist.finish("no FinX API key: set FINX_API_KEY to see tick history")
            return
        from finxtui.feeds.finx import FinxClient, utc_today

        hist.begin()
        try:
            async with FinxClient(self.config.endpoints["finx"], self.config.credentials.finx_key,
                                  table=self.config.pairs) as client:
                async for page in client.history_pages(pair, utc_today(self.clock)):
                    hist.page(row.tick() for row in page)
        except asyncio.CancelledError:
            hist.finish("")
            raise
        except Exception as exc:  # the table says why; the app carries on
            hist.finish(f"history unavailable: {exc}")
        else:
            hist.finish("")

    # -- actions --------------------------------------------------------------------------------------

    def select_pair(self, pair: str) -> None:
        if pair not in self.config.pairs:
            self.notify(f"unknown pair {pair}", severity="warning")
            return
        self.selected = pair

    def watch_selected(self, old: str, new: str) -> None:
        self.post_message(PairChanged(new))
        if self.book_source not in self.config.pairs.sources_for(new):
            venues = [s for s in BOOK_SOURCES if s in self.config.pairs.sources_for(new)]
            if venues:
                self.book_source = venues[0]
        if self.start_feeds and self.events_source is None and self.is_running:
            self._start_feeds()  # a pair outside the watchlist: the venues must carry it
            self._load_history(new)
        self._repaint()

    def watch_book_source(self) -> None:
        self._repaint()

    def watch_book_levels(self) -> None:
        self._repaint()

    def watch_paused(self, paused: bool) -> None:
        self._repaint(force=True)

    def _repaint(self, force: bool = True) -> None:
        """Repaint at once after a key (timers would catch up within 100-500 ms; a key deserves now)."""
        if not self.is_running:
            return
        for widget in self.query("AppHeader, Ticker, DepthLadder, HistoryHeader, PositionsPanel, StatusBar"):
            widget.poll(force=force)  # type: ignore[attr-defined]
        for table in self.query(HistoryTable):
            table.poll(force=force)

    def action_next_pair(self) -> None:
        self._step_pair(1)

    def action_prev_pair(self) -> None:
        self._step_pair(-1)

    def _step_pair(self, step: int) -> None:
        if not self.watchlist:
            return
        i = self.watchlist.index(self.selected) if self.selected in self.watchlist else -1
        self.selected = self.watchlist[(i + step) % len(self.watchlist)]

    def action_select_index(self, index: int) -> None:
        if 1 <= index <= len(self.watchlist):
            self.selected = self.watchlist[index - 1]

    def action_pick_pair(self) -> None:
        self.push_screen(CommandPalette(providers=[PairProvider], placeholder="Pair: type part of a name…"))

    def action_toggle_book(self) -> None:
        venues = [s for s in BOOK_SOURCES if s in self.sources]
        if len(venues) > 1:
            self.book_source = venues[(venues.index(self.book_source) + 1) % len(venues)] \
                if self.book_source in venues else venues[0]

    def action_toggle_depth(self) -> None:
        self.book_levels = 25 if self.book_levels == 10 else 10

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.replay is not None:
            self.replay.paused = self.paused

    def action_replay_speed(self, factor: float) -> None:
        if self.replay is None:
            return
        self.replay.speed = min(64.0, max(1 / 16, self.replay.speed * factor))
        self.notify(f"replay speed {self.replay.speed:g}x", timeout=2)
        self._repaint()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay_speed":
            return self.replay is not None  # the speed keys exist only in a replay
        return True

    def action_reconnect(self) -> None:
        for feed in self.feeds.values():
            feed.reconnect("reconnect requested (r)")
        for hist in self.state.history.values():
            if hist.error:
                hist.pages = 0
        self._load_history(self.selected)
        self.notify("reconnecting every source", timeout=3)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def health_state(self, source: str) -> str:
        health = self.state.health.get(source)
        return health.state if health else ""


def make_app(config: Config, **kwargs: Any) -> FinxApp:
    """Build the app for the CLI and for tests (``demo=True`` embeds the simulator)."""
    return FinxApp(config, **kwargs)
