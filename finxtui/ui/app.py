"""The finx-tui application: one source of events, one market state, and the widgets that draw it.

The app takes a :class:`~finxtui.sources.Source` (the venues, the embedded demo, a replay, a script) and
nothing else of its kind. One worker reads the source and applies every event to a :class:`MarketState`;
widgets repaint on the shared poll clock from that state and the user's :class:`Selection`, which they are
handed when they are made: no widget knows the app. The only per-event messages are status changes
(``FeedStatus``) and pair switches (``PairChanged``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Container
from textual.events import Resize
from textual.markup import escape
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from finxtui.config import Config, Refresh
from finxtui.model.candles import TIMEFRAMES
from finxtui.model.events import ERROR, Status
from finxtui.model.pairs import PairTable
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.model.tape import Tapes
from finxtui.sources.base import HistoryUnavailable, Source
from finxtui.ui.collector import QuietCollector
from finxtui.ui.commands import PairProvider
from finxtui.ui.messages import FeedStatus, PairChanged
from finxtui.ui.screens.help import HelpScreen
from finxtui.ui.theme import PRICE_VARIABLES, THEMES
from finxtui.ui.trader import TRADER_BINDINGS, TraderApp
from finxtui.ui.widgets.base import PollClock, PolledLines
from finxtui.ui.widgets.chart import Chart, chart_source
from finxtui.ui.widgets.header import AppHeader
from finxtui.ui.widgets.history import HistoryPanel, HistoryTable
from finxtui.ui.widgets.ladder import DepthLadder
from finxtui.ui.widgets.positions import PositionsPanel
from finxtui.ui.widgets.status import StatusBar
from finxtui.ui.widgets.tape import TradeTape
from finxtui.ui.widgets.ticker import Ticker
from finxtui.wire.venues import BOOK_SOURCES, FINX

log = logging.getLogger("finxtui.ui")

#: From this size up every panel is on screen; below it the ``v`` key steps through VIEWS.
WIDE_AT = (160, 50)
#: Compact views, in the order ``v`` steps through them: depth + history, chart + trades, depth + trades (the
#: panels each shows are set in app.tcss by the ``-view-NAME`` class).
VIEWS = ("depth", "chart", "tape")


# The screen and the grid under the panels never show a cell of their own (header, grid, status and footer fill the
# screen; the panels fill the grid), yet Textual styled every one of their lines again on each paint: a paint asks
# every widget whose clip meets the changed box for all its lines, and these two meet every box. BLANK (a
# documented Widget flag) hands back plain background lines instead.
class MonitorScreen(Screen[None]):
    BLANK = True


class PanelGrid(Container):
    BLANK = True


class FinxApp(TraderApp):
    """The monitor on ``source``, laid out and coloured by ``config`` (alerts, watchlist edits, keymap and
    up/down colours come from :class:`TraderApp`; every binding has an id that ``[keys]`` can rebind)."""

    CSS_PATH = "app.tcss"
    TITLE = "finx-tui"
    COMMANDS = TraderApp.COMMANDS | {PairProvider}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("right_square_bracket", "next_pair", "Next", key_display="]", tooltip="next pair in the watchlist",
                id="pair.next"),
        Binding("left_square_bracket", "prev_pair", "Prev", key_display="[", tooltip="previous pair in the watchlist",
                id="pair.prev"),
        Binding("slash", "pick_pair", "Pair…", key_display="/", tooltip="pick any pair (fuzzy search)", id="pair.pick"),
        Binding("v", "next_view", "View", tooltip="next view (below 160x50): depth · chart · trades", id="view.next"),
        Binding("t", "next_timeframe", "Timeframe", show=False, tooltip="chart timeframe: 1m · 5m · 15m · 1h",
                id="chart.timeframe"),
        Binding("c", "next_chart_source", "Candles", show=False,
                tooltip="chart candles from FinX ticks · Bitfinex · BitMEX trades", id="chart.source"),
        Binding("b", "toggle_book", "Venue", tooltip="ladder venue: Bitfinex / BitMEX", id="book.venue"),
        Binding("d", "toggle_depth", "Depth", tooltip="ladder depth: 10 or 25 levels a side", id="book.depth"),
        Binding("p", "toggle_pause", "Pause", tooltip="pause drawing (data keeps flowing)", id="view.pause"),
        Binding("r", "reconnect", "Reconnect", tooltip="reconnect every source now", id="feeds.reconnect"),
        Binding("plus,equals_sign", "replay_speed(2.0)", "Faster", key_display="+", tooltip="replay: twice as fast",
                id="replay.faster"),
        Binding("minus", "replay_speed(0.5)", "Slower", key_display="-", tooltip="replay: half as fast",
                id="replay.slower"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help", id="app.help"),
        Binding("q", "quit", "Quit", tooltip="quit", id="app.quit"),
        *(Binding(str(i), f"select_index({i})", f"Pair {i}", show=False, tooltip=f"watchlist pair {i}",
                   id=f"pair.{i}") for i in range(1, 10)),
        *TRADER_BINDINGS,
    ]

    selected: reactive[str] = reactive("BTC:USD", init=False)
    book_source: reactive[str] = reactive("bitfinex", init=False)
    book_levels: reactive[int] = reactive(10, init=False)
    paused: reactive[bool] = reactive(False, init=False)
    #: the compact layout's view (VIEWS), kept while the terminal is wide
    view: reactive[str] = reactive("depth", init=False)
    #: every panel on screen (the terminal is at least WIDE_AT)
    wide: reactive[bool] = reactive(False, init=False)
    timeframe: reactive[int] = reactive(60, init=False)

    def __init__(self, config: Config, source: Source) -> None:
        super().__init__()
        self.config = config
        self.source = source
        self.clock = source.clock
        self.refresh_rates: Refresh = config.effective_refresh()
        self.watchlist: list[str] = [p for p in config.watchlist if p in config.pairs]
        self.state = MarketState(config.pairs, self.watchlist, clock=self.clock, sources=source.venues,
                                 tapes=Tapes(config.tape.large, config.tape.large_notional))
        #: the source's events have all been applied (a replay reached its end)
        self.events_ended = False
        first = config.default_pair if config.default_pair in config.pairs else (
            self.watchlist[0] if self.watchlist else "BTC:USD")
        self.selection = Selection(first, config.book_source, config.book_levels)
        self.set_reactive(FinxApp.selected, first)
        self.set_reactive(FinxApp.book_source, config.book_source)
        self.set_reactive(FinxApp.book_levels, config.book_levels)
        self.init_trader()
        #: full garbage collections between redraws while the monitor runs
        self.collector = QuietCollector()

    @property
    def pairs(self) -> PairTable:
        """Every pair the monitor knows (the pair picker lists them)."""
        return self.config.pairs

    # -- layout ---------------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return MonitorScreen(id="_default")

    def compose(self) -> ComposeResult:
        market, sel, pairs, rates, clock = self.state, self.selection, self.config.pairs, self.refresh_rates, self.clock
        yield AppHeader(market, sel, pairs, badge=self.source.badge, clock=clock, hz=rates.ticker, id="header")
        # One grid, every panel placed once; the layout classes (see app.tcss) decide spans and what shows.
        with PanelGrid(id="main", classes="-compact -view-depth"):
            yield Ticker(market, sel, pairs, self.watchlist, clock=clock, hz=rates.ticker, id="ticker")
            yield Chart(market, sel, pairs, hz=rates.chart, id="chart")
            yield DepthLadder(market, sel, pairs, hz=rates.book, id="ladder")
            yield TradeTape(market, sel, pairs, hz=rates.tape, id="tape")
            yield HistoryPanel(market, sel, pairs, recorded=self.source.recorded, clock=clock, hz=rates.history,
                               id="history")
            yield PositionsPanel(market, sel, pairs, has_account=self.source.has_account, hz=rates.positions,
                                 id="positions")
        yield StatusBar(market, sel, self.source.venues, playback=self.source.playback is not None, clock=clock,
                        hz=rates.status, id="status")
        yield Footer(id="footer")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # The price colours must exist under any theme the user picks.
        return dict(PRICE_VARIABLES)

    async def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        self.mount_trader()
        self.query_one("#ticker").border_title = "Watchlist"
        self.query_one("#history").border_title = "History"
        self.query_one("#ladder").border_title = "Depth"
        self.query_one("#positions").border_title = "Account"
        self.query_one("#chart").border_title = "Chart"
        self.query_one("#tape").border_title = "Trades"
        self._layout(self.size.width, self.size.height)
        self._apply_layout()
        if not self.source.recorded:  # until each feed says otherwise, within milliseconds
            wanted = self.wanted_pairs()
            self.state.mark_connecting(v for v in self.source.venues
                                       if any(v in self.config.pairs.sources_for(p) for p in wanted))
        await self.source.start()
        self.source.follow(self.wanted_pairs())
        self.run_worker(self._read_source(), name="source", group="source", exclusive=True, exit_on_error=False)
        self._load_history(self.selected)
        if not self.is_headless:
            self.set_interval(5.0, self._watch_terminal)
        self.collector.start()
        PollClock.of(self).between_ticks(self.collector.collect_if_due)

    async def on_unmount(self) -> None:
        self.collector.stop()
        self.workers.cancel_group(self, "source")  # the reader first: a source is not stopped under its reader
        await self.source.stop()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:
        self.wide = width >= WIDE_AT[0] and height >= WIDE_AT[1]

    def watch_wide(self) -> None:
        self._apply_layout()

    def watch_view(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        main = next(iter(self.query("#main")), None)
        if main is None:
            return  # a resize before the screen is composed: on_mount lays it out
        main.set_class(self.wide, "-wide")
        main.set_class(not self.wide, "-compact")
        for name in VIEWS:
            main.set_class(name == self.view, f"-view-{name}")
        # A panel shown again at the size it had before gets no resize event: redraw once the layout is done.
        self.call_after_refresh(self.redraw_now)

    def _watch_terminal(self) -> None:
        # Over SSH a dropped session can leave the process without a terminal; do not spin (dolphie does this).
        if not sys.stdin.isatty():
            self.exit(1)

    # -- the source -----------------------------------------------------------------------------------

    def wanted_pairs(self) -> list[str]:
        """The pairs the source should carry: the watchlist, the selected pair, and those alerts watch."""
        return list(dict.fromkeys([*self.watchlist, self.selected, *self.alerts.pairs()]))

    async def _read_source(self) -> None:
        apply, observe = self.state.apply, self.alerts.observe
        async for event in self.source:
            apply(event)
            observe(event)  # alerts fire from the data as it arrives, not from a redraw
            if type(event) is Status:
                self.post_message(FeedStatus(event))
        self.events_ended = True
        if self.source.recorded:  # the end of a recording: say so rather than look frozen
            self.notify("end of the recording", timeout=5)
        self.redraw_now()

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
        if FINX.tag not in self.config.pairs.sources_for(pair):
            return
        hist = self.state.history_for(pair)
        if hist.pages and not hist.error:
            return  # loaded this session; live ticks have kept it current
        day = datetime.fromtimestamp(self.clock(), UTC).date()
        hist.begin()
        error = ""
        try:
            async for page in self.source.history(pair, day):
                hist.page(page)
        except HistoryUnavailable as exc:
            error = str(exc)
        except Exception as exc:  # the table says why; the app carries on
            log.exception("history of %s failed", pair)
            error = f"history unavailable: {exc}"
        finally:
            hist.finish(error)

    # -- actions --------------------------------------------------------------------------------------

    def select_pair(self, pair: str) -> None:
        if pair not in self.config.pairs:
            self.notify(f"unknown pair {pair}", severity="warning")
            return
        self.selected = pair

    def watch_selected(self, old: str, new: str) -> None:
        self.selection.pair = new
        self.post_message(PairChanged(new))
        listed = self.config.pairs.sources_for(new)
        if self.book_source not in listed:
            venues = [s for s in BOOK_SOURCES if s in listed]
            if venues:
                self.book_source = venues[0]
        if self.is_running:
            self.source.follow(self.wanted_pairs())  # a pair outside the watchlist: the venues must carry it
            self._load_history(new)
        self.redraw_now()

    def watch_book_source(self, source: str) -> None:
        self.selection.book_source = source
        self.redraw_now()

    def watch_book_levels(self, levels: int) -> None:
        self.selection.book_levels = levels
        self.redraw_now()

    def watch_timeframe(self, timeframe: int) -> None:
        self.selection.timeframe = timeframe
        self.redraw_now()

    def watch_paused(self, paused: bool) -> None:
        self.selection.paused = paused
        self.redraw_now()

    def redraw_now(self) -> None:
        """Repaint every panel at once (timers would catch up within 100-500 ms; a key deserves now)."""
        if not self.is_running:
            return
        for widget in self.query(PolledLines):
            widget.poll(force=True)
        for table in self.query(HistoryTable):
            table.poll(force=True)

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
        venues = [s for s in BOOK_SOURCES if s in self.source.venues]
        if len(venues) > 1:
            self.book_source = venues[(venues.index(self.book_source) + 1) % len(venues)] \
                if self.book_source in venues else venues[0]

    def action_next_view(self) -> None:
        if self.wide:
            self.notify("every panel is on screen at this size", timeout=2)
            return
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)] if self.view in VIEWS else VIEWS[0]

    def _show_chart(self) -> None:
        """A chart key pressed while the chart is hidden brings it on screen."""
        if not self.wide and self.view != "chart":
            self.view = "chart"

    def action_next_timeframe(self) -> None:
        i = TIMEFRAMES.index(self.timeframe) if self.timeframe in TIMEFRAMES else -1
        self.timeframe = TIMEFRAMES[(i + 1) % len(TIMEFRAMES)]
        self._show_chart()

    def action_next_chart_source(self) -> None:
        pair = self.selected
        listed = [s for s in ("finx", "bitfinex", "bitmex", "finazon")
                  if s in self.config.pairs.sources_for(pair) and s in self.source.venues]
        if not listed:
            return
        current = chart_source(self.state, self.config.pairs, self.selection)
        nxt = listed[(listed.index(current) + 1) % len(listed)] if current in listed else listed[0]
        self.selection.chart_source = nxt
        self._show_chart()
        self.redraw_now()

    def action_toggle_depth(self) -> None:
        self.book_levels = 25 if self.book_levels == 10 else 10

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.source.playback is not None:
            self.source.playback.paused = self.paused

    def action_replay_speed(self, factor: float) -> None:
        playback = self.source.playback
        if playback is None:
            return
        playback.speed = min(64.0, max(1 / 16, playback.speed * factor))
        self.notify(f"replay speed {playback.speed:g}x", timeout=2)
        self.redraw_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay_speed":
            return self.source.playback is not None  # the speed keys exist only in a replay
        return True

    def action_reconnect(self) -> None:
        self.source.reconnect("reconnect requested (r)")
        for hist in self.state.history.values():
            if hist.error:
                hist.pages = 0
        self._load_history(self.selected)
        self.notify("reconnecting every source", timeout=3)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_lines()))

    def on_watchlist_changed(self) -> None:
        self.redraw_now()
