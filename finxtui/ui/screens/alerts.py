"""Alerts in the app: a dialog to add one, and a screen listing the rules and the log of firings.

Both are modal, over the monitor (whose layout stays as it is). They are handed the engine and what to do
on add/remove; they never reach into the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from finxtui.model.alerts import (
    DEFAULT_COOLDOWN,
    DEFAULT_WINDOW,
    KINDS,
    AlertEngine,
    AlertRule,
    RuleError,
    rule_from_fields,
)
from finxtui.model.pairs import PairTable

KIND_LABELS = {
    "above": "price at or above",
    "below": "price at or below",
    "cross": "price crosses (either way)",
    "move": "moves by % within a window",
    "spread": "spread at least",
    "feed_down": "a feed down for (seconds)",
}
LEVEL_HINTS = {"above": "price, e.g. 100000", "below": "price", "cross": "price", "move": "percent, e.g. 2",
               "spread": "width in price units, e.g. 25", "feed_down": "seconds, e.g. 30"}
#: the dialog's inputs by the rule field they fill (an error on a field focuses its input)
FIELD_INPUTS = {"pair": "#alert-pair", "level": "#alert-level", "window": "#alert-window",
                "source": "#alert-source", "cooldown": "#alert-cooldown", "repeat": "#alert-repeat"}


class AddAlertScreen(ModalScreen[AlertRule | None]):
    """Fields for one rule; Enter (or Add) checks them and returns the rule, Escape cancels.

    A bad field is named under the form and focused; nothing typed is lost.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="alerts.cancel-add")]
    DEFAULT_CSS = """
    AddAlertScreen { align: center middle; }
    AddAlertScreen > Vertical { width: 64; max-width: 98%; height: auto; max-height: 98%; padding: 0 1;
                                border: round $accent; background: $surface; }
    AddAlertScreen .row { height: auto; margin: 1 0 0 0; }
    AddAlertScreen Label { width: 12; }
    AddAlertScreen Input, AddAlertScreen Select { width: 1fr; }
    AddAlertScreen #alert-error { color: $error; height: auto; margin: 1 0 0 0; display: none; }
    AddAlertScreen #alert-buttons { align-horizontal: right; height: 1; margin: 1 0 0 0; }
    AddAlertScreen Button { margin: 0 0 0 2; }
    """

    def __init__(self, pairs: PairTable, sources: Sequence[str], pair: str, kind: str = "above",
                 level: float | None = None) -> None:
        super().__init__()
        self.pairs = pairs
        self.sources = tuple(sources)
        self.pair = pair
        self.kind = kind
        self.level = level

    def compose(self) -> ComposeResult:
        with Vertical(id="alert-form"):
            yield Static("[b]Add an alert[/b] · tab: next field · enter: add · escape: cancel")
            with Horizontal(classes="row"):
                yield Label("pair")
                yield Input(self.pair, placeholder="BTC:USD", compact=True, id="alert-pair")
            with Horizontal(classes="row"):
                yield Label("when")
                yield Select([(label, kind) for kind, label in KIND_LABELS.items()], value=self.kind,
                             allow_blank=False, compact=True, id="alert-kind")
            with Horizontal(classes="row"):
                yield Label("level")
                level = "" if self.level is None else f"{self.level:.8f}".rstrip("0").rstrip(".")
                yield Input(level, placeholder=LEVEL_HINTS[self.kind], compact=True, id="alert-level")
            with Horizontal(classes="row", id="alert-window-row"):
                yield Label("window s")
                yield Input(f"{DEFAULT_WINDOW:g}", compact=True, id="alert-window")
            with Horizontal(classes="row", id="alert-source-row"):
                yield Label("venue")
                yield Select([(s, s) for s in self.sources], value=self.sources[0] if "bitfinex" not in
                             self.sources else "bitfinex", allow_blank=False, compact=True, id="alert-source")
            with Horizontal(classes="row"):
                yield Label("")
                yield Checkbox("repeat (after it clears)", compact=True, id="alert-repeat")
            with Horizontal(classes="row", id="alert-cooldown-row"):
                yield Label("cool-down s")
                yield Input(f"{DEFAULT_COOLDOWN:g}", compact=True, id="alert-cooldown")
            yield Static("", id="alert-error")
            with Horizontal(id="alert-buttons"):
                yield Button("Add", variant="primary", compact=True, id="alert-add")
                yield Button("Cancel", compact=True, id="alert-cancel")

    def on_mount(self) -> None:
        self._show_fields()
        for level in self.query("#alert-level"):
            level.focus()

    @on(Select.Changed, "#alert-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.kind = str(event.value)
        self.query_one("#alert-level", Input).placeholder = LEVEL_HINTS[self.kind]
        self._show_fields()

    @on(Checkbox.Changed, "#alert-repeat")
    def _repeat_changed(self) -> None:
        self._show_fields()

    def _show_fields(self) -> None:
        # query(), not query_one(): a dialog opened as the app quits may not have composed its fields.
        repeat = any(box.value for box in self.query("#alert-repeat").results(Checkbox))
        self.query("#alert-window-row").set(display=self.kind == "move")
        self.query("#alert-source-row").set(display=self.kind in ("spread", "feed_down"))
        self.query("#alert-pair").set(disabled=self.kind == "feed_down")
        self.query("#alert-cooldown-row").set(display=repeat)

    def fields(self) -> dict[str, object]:
        """What the form says, as ``[[alerts]]`` fields (numbers still as typed: the rule checks them)."""
        kind = self.kind
        out: dict[str, object] = {kind: self.query_one("#alert-level", Input).value}
        if kind != "feed_down":
            out["pair"] = self.query_one("#alert-pair", Input).value
        if kind == "move":
            out["window"] = self.query_one("#alert-window", Input).value
        if kind in ("spread", "feed_down"):
            out["source"] = str(self.query_one("#alert-source", Select).value)
        if self.query_one("#alert-repeat", Checkbox).value:
            out["repeat"] = True
            out["cooldown"] = self.query_one("#alert-cooldown", Input).value
        return out

    @on(Input.Submitted)
    @on(Button.Pressed, "#alert-add")
    def submit(self) -> None:
        try:
            rule = rule_from_fields(self.fields(), pairs=self.pairs, sources=self.sources)
        except RuleError as exc:
            name = "level" if exc.field in KINDS else exc.field
            error = self.query_one("#alert-error", Static)
            error.update(f"{name}: {exc.problem}")
            error.display = True
            target = FIELD_INPUTS.get(name)
            if target:
                self.query_one(target).focus()
            return
        self.dismiss(rule)

    @on(Button.Pressed, "#alert-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AlertsScreen(ModalScreen[None]):
    """Every rule with its state, and the log of firings, newest first. ``add``/``remove`` act for the app."""

    BINDINGS = [
        Binding("a", "add", "Add", id="alerts.list-add"),
        Binding("x,delete", "remove", "Remove", id="alerts.remove"),
        Binding("r", "rearm", "Re-arm", id="alerts.rearm"),
        Binding("escape,q", "dismiss", "Close", id="alerts.close"),
    ]
    DEFAULT_CSS = """
    AlertsScreen { align: center middle; }
    AlertsScreen > Vertical { width: 110; max-width: 98%; height: 90%; border: round $accent;
                              background: $surface; padding: 0 1; }
    AlertsScreen DataTable { height: 1fr; min-height: 4; }
    AlertsScreen #alerts-log { height: 1fr; min-height: 3; }
    """

    def __init__(self, engine: AlertEngine, *, add: Callable[[], None], remove: Callable[[AlertRule], None],
                 clock: Callable[[], float] = time.time, problems: Sequence[str] = ()) -> None:
        super().__init__()
        self.engine = engine
        self.on_add = add
        self.on_remove = remove
        self.clock = clock
        self.problems = tuple(problems)
        self._version = -1

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Alerts[/b] · a add · x remove · r re-arm · escape close", id="alerts-title")
            if self.problems:
                yield Static("\n".join(f"[$warning]skipped: {p}[/]" for p in self.problems), id="alerts-problems",
                             markup=True)
            yield DataTable(cursor_type="row", zebra_stripes=True, id="alerts-rules")
            yield Static("[b]Log[/b] · newest first", id="alerts-log-title")
            yield Static("", id="alerts-log")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("rule", "state", "fired", "last fired (UTC)")
        self.refresh_rows()
        self.set_interval(0.5, self.refresh_rows)
        table.focus()

    def refresh_rows(self) -> None:
        engine = self.engine
        if engine.version == self._version:
            return
        self._version = engine.version
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        now = self.clock()
        for key, rule in engine.rules.items():
            state = engine.states[key]
            if state.done:
                where = "done (r re-arms)"
            elif rule.repeat and state.count and now - state.fired_at < rule.cooldown:
                where = f"cooling {int(rule.cooldown - (now - state.fired_at))}s"
            elif not state.armed:
                where = "fired, waits to clear"
            else:
                where = "armed"
            last = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(state.fired_at)) if state.count else "—"
            table.add_row(rule.describe() + (f"  · {rule.note}" if rule.note else ""), where, str(state.count),
                          last, key=key)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        lines = [f"{time.strftime('%m-%d %H:%M:%S', time.gmtime(f.ts))}  {f.text}" for f in reversed(engine.log)]
        self.query_one("#alerts-log", Static).update("\n".join(lines[:200]) or "no alert has fired yet")

    def _selected(self) -> AlertRule | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.engine.rules.get(str(key))

    def action_add(self) -> None:
        self.on_add()

    def action_remove(self) -> None:
        rule = self._selected()
        if rule is not None:
            self.on_remove(rule)
            self.refresh_rows()

    def action_rearm(self) -> None:
        rule = self._selected()
        if rule is not None:
            self.engine.rearm(rule.key)
            self.refresh_rows()
