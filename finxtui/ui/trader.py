"""The trader's own features of the monitor: alerts, editing the watchlist, your own keys, up/down colours.

:class:`TraderApp` is the base of the app: it keeps these apart from the monitor's layout and data loop
(``ui/app.py``). The app lists :data:`TRADER_BINDINGS` after its own keys, and these palette entries join
the system commands. Everything the user changes here is saved: rules and the
watchlist to the config file (comments kept), the alerts' fired state and log to the state directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.markup import escape
from textual.screen import Screen

from finxtui.config import Config, ConfigError, default_config_path
from finxtui.model.alerts import AlertEngine, AlertRule, Firing
from finxtui.model.selection import Selection
from finxtui.model.state import MarketState
from finxtui.sources.base import Source
from finxtui.ui.keymap import BindingInfo, bindings_of, check_keymap, effective_keys
from finxtui.ui.notify import TerminalNotifier
from finxtui.ui.screens.alerts import AddAlertScreen, AlertsScreen
from finxtui.ui.screens.help import HelpScreen
from finxtui.ui.theme import THEME_ALIASES, updown_variables
from finxtui.userfiles import AlertStateFile, ConfigFile

log = logging.getLogger("finxtui.ui")


#: the keys of these features; the monitor lists them after its own (so the footer shows its keys first)
TRADER_BINDINGS = [
        Binding("a", "add_alert", "Alert…", tooltip="add an alert on the selected pair", id="alerts.add"),
        Binding("A", "list_alerts", "Alerts", show=False, tooltip="list alerts and their log; remove, re-arm",
                id="alerts.list"),
        Binding("w", "watch_add", "Watch", show=False, tooltip="add the selected pair to the watchlist",
                id="watch.add"),
        Binding("W", "watch_remove", "Unwatch", show=False, tooltip="remove the selected pair from the watchlist",
                id="watch.remove"),
        Binding("less_than_sign", "watch_move(-1)", "Move up", show=False, key_display="<",
                tooltip="move the selected pair up the watchlist", id="watch.up"),
        Binding("greater_than_sign", "watch_move(1)", "Move down", show=False, key_display=">",
                tooltip="move the selected pair down the watchlist", id="watch.down"),
]


class TraderApp(App[int]):
    """Alerts, watchlist editing, the keymap and the up/down colours, for the monitor built on it."""

    # Set by the monitor before ``init_trader``.
    config: Config
    source: Source
    state: MarketState
    selection: Selection
    watchlist: list[str]
    #: the up/down colour preset (a class default: Textual reads the CSS variables before ``__init__`` ends)
    updown = "green-red"

    def init_trader(self) -> None:
        """Rules (with their saved state), the files, the notifier and the keymap; ConfigError on a bad key."""
        self.updown = self.config.updown
        self.alerts = AlertEngine(self.config.alerts, price_of=self._shown_price, on_fire=self._alert_fired,
                                  clock=self.source.clock)
        self.alert_state = AlertStateFile()
        self.alerts.restore(self.alert_state.load())
        self.config_file = ConfigFile(self.config.path or default_config_path())
        self.notifier = TerminalNotifier(self.config.notify, bell=self.bell, write=self._write_terminal,
                                         env=os.environ)
        for pair in self.alerts.pairs():
            self.state.pair(pair)  # prices of pairs outside the watchlist are kept only for pairs it knows
        self.keymap = check_keymap(self.config.keys, {b.id: b for b in self.binding_infos()})
        self.set_keymap(self.keymap)

    def mount_trader(self) -> None:
        theme = THEME_ALIASES.get(self.config.theme, self.config.theme)
        if theme in self.available_themes:
            self.theme = theme
        else:
            known = ", ".join(["dark", "light", *sorted(t for t in self.available_themes if not t.startswith("finx"))])
            self.notify(escape(f"unknown theme {theme!r}; known: {known}"), title="Config", severity="warning",
                        timeout=15)
        # Only a feed that went silent needs time to fire (everything else is checked as events arrive).
        self.set_interval(1.0, self._alert_clock, name="alert-clock")
        for warning in self.config.warnings:
            self.notify(escape(warning), title="Config", severity="warning", timeout=15)

    def _alert_clock(self) -> None:
        self.alerts.tick()

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        variables.update(updown_variables(self.updown, dark=self.current_theme.dark))
        self.theme_variables = variables
        return variables

    # -- keys -----------------------------------------------------------------------------------------

    @classmethod
    def binding_infos(cls) -> list[BindingInfo]:
        """Every binding a user can rebind: the app's (its whole class tree) and its screens'."""
        infos: list[BindingInfo] = []
        for klass in cls.__mro__:  # the monitor's own keys first
            if issubclass(klass, App):
                infos.extend(bindings_of("monitor", klass.__dict__.get("BINDINGS", [])))
        for scope, screen in (("alert list", AlertsScreen), ("add alert", AddAlertScreen), ("help", HelpScreen)):
            infos.extend(bindings_of(scope, screen.BINDINGS))
        return infos

    def key_lines(self) -> list[tuple[str, str, str, str]]:
        """(keys now, what, binding id, where) for the help screen: the keys as the keymap made them."""
        return [(effective_keys(b, self.keymap), b.description, b.id, b.scope) for b in self.binding_infos()]

    # -- alerts ---------------------------------------------------------------------------------------

    def _shown_price(self, pair: str) -> float | None:
        state = self.state.pairs.get(pair)
        return state.last if state is not None else None

    def _alert_fired(self, firing: Firing) -> None:
        if self.config.notify.toast:
            self.notify(escape(firing.detail), title=f"Alert: {firing.rule}", severity="warning", timeout=10)
        self.notifier.notify("finx-tui alert", firing.text)
        self.alert_state.save(self.alerts.snapshot())

    def _write_terminal(self, data: str) -> None:
        # Textual has no public way to send an escape sequence; App.bell writes through the driver like this.
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write(data)

    def action_add_alert(self, kind: str = "above") -> None:
        pair = self.selection.pair
        last = self._shown_price(pair)
        screen = AddAlertScreen(self.config.pairs, self.source.venues or ("bitfinex",), pair, kind,
                                level=last if kind in ("above", "below", "cross") else None)
        # After the dialog has gone: a toast raised while it closes would wait for the next one to show.
        self.push_screen(screen, self._added)

    def _added(self, rule: AlertRule | None) -> None:
        self.call_after_refresh(self.add_alert, rule)

    def add_alert(self, rule: AlertRule | None) -> None:
        """Add ``rule`` (None: the dialog was cancelled), save it to the config file, and carry its pair."""
        if rule is None:
            return
        if not self.alerts.add(rule):
            self.notify(f"already set: {rule.describe()}", timeout=4)
            return
        if rule.pair:
            self.state.pair(rule.pair)
            self.source.follow(self.wanted_pairs())
        saved = self._save(partial(self.config_file.add_alert, rule))
        self.alert_state.save(self.alerts.snapshot())
        self.notify(f"{rule.describe()}" + ("" if saved else " (this session only)"), title="Alert added",
                    timeout=4)

    def remove_alert(self, rule: AlertRule) -> None:
        if self.alerts.remove(rule.key) is None:
            return
        self.source.follow(self.wanted_pairs())  # a pair only this rule watched need not be carried any more
        self._save(partial(self.config_file.remove_alert, rule))
        self.alert_state.save(self.alerts.snapshot())
        self.notify(rule.describe(), title="Alert removed", timeout=4)

    def action_list_alerts(self) -> None:
        problems = [w for w in self.config.warnings if "alerts[" in w]
        self.push_screen(AlertsScreen(self.alerts, add=self.action_add_alert, remove=self.remove_alert,
                                      clock=self.source.clock, problems=problems))

    def wanted_pairs(self) -> list[str]:
        raise NotImplementedError  # the monitor says which pairs it wants

    # -- the watchlist --------------------------------------------------------------------------------

    def action_watch_add(self) -> None:
        pair = self.selection.pair
        if pair in self.watchlist:
            self.notify(f"{pair} is already in the watchlist", timeout=3)
            return
        self._set_watchlist([*self.watchlist, pair], f"added {pair}")

    def action_watch_remove(self) -> None:
        pair = self.selection.pair
        if pair not in self.watchlist:
            self.notify(f"{pair} is not in the watchlist", timeout=3)
        elif len(self.watchlist) == 1:
            self.notify("the watchlist keeps at least one pair", severity="warning", timeout=3)
        else:
            self._set_watchlist([p for p in self.watchlist if p != pair], f"removed {pair}")

    def action_watch_move(self, step: int) -> None:
        pair = self.selection.pair
        if pair not in self.watchlist:
            return
        i = self.watchlist.index(pair)
        j = i + step
        if not 0 <= j < len(self.watchlist):
            return
        pairs = list(self.watchlist)
        pairs[i], pairs[j] = pairs[j], pairs[i]
        self._set_watchlist(pairs, "")

    def _set_watchlist(self, pairs: list[str], said: str) -> None:
        # In place: the ticker holds this very list.
        self.watchlist[:] = pairs
        self.state.watchlist[:] = pairs
        for pair in pairs:
            self.state.pair(pair)
        self.source.follow(self.wanted_pairs())
        for widget in self.query("#ticker"):
            widget.refresh(layout=True)
        saved = self._save(partial(self.config_file.set_watchlist, pairs))
        if said:
            self.notify(f"watchlist: {said}" + ("" if saved else " (this session only)"), timeout=3)
        self.on_watchlist_changed()

    def on_watchlist_changed(self) -> None:
        """The monitor repaints (hook)."""

    def _save(self, write: Any) -> bool:
        try:
            write()
        except ConfigError as exc:
            self.notify(escape(str(exc)), title="Not saved", severity="error", timeout=10)
            return False
        return True

    # -- the command palette --------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        pair = self.selection.pair
        yield SystemCommand("Alert: add…", f"an alert on {pair} (price, move, spread) or a feed",
                            self.action_add_alert)
        for kind, words in (("move", "a % move"), ("spread", "a wide spread"), ("feed_down", "a feed down")):
            yield SystemCommand(f"Alert: add on {words}…", f"{pair}" if kind != "feed_down" else "any venue",
                                partial(self.action_add_alert, kind))
        yield SystemCommand("Alerts: list, log, remove", f"{len(self.alerts.rules)} rule(s), "
                            f"{len(self.alerts.log)} in the log", self.action_list_alerts)
        for rule in list(self.alerts.rules.values()):
            yield SystemCommand(f"Alert: remove {rule.describe()}", "and from the config file",
                                partial(self.remove_alert, rule))
        if pair in self.watchlist:
            yield SystemCommand(f"Watchlist: remove {pair}", "saved to the config file", self.action_watch_remove)
            yield SystemCommand(f"Watchlist: move {pair} up", "saved to the config file",
                                partial(self.action_watch_move, -1))
            yield SystemCommand(f"Watchlist: move {pair} down", "saved to the config file",
                                partial(self.action_watch_move, 1))
        else:
            yield SystemCommand(f"Watchlist: add {pair}", "saved to the config file", self.action_watch_add)
