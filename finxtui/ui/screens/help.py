"""The ``?`` help screen: every key as it is now (after ``[keys]``), the panels, alerts and where data comes from."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

PANELS = """\
[b]Panels[/b]
  Watchlist   last price, change since this session opened, source (FX FinX, BF Bitfinex,
              BM BitMEX, FZ Finazon) and recent ticks; the selected pair is marked ▶
  Depth       asks above, bids below, best prices in the middle; size, running total and a bar
              (the deepest total shown fills 70-100% of it); BitMEX sizes are contracts
  Chart       candles, newest on the right, volume below (FinX: ticks per candle), the last price
              marked ◀ on the axis; FinX candles start with today's history
  Trades      Bitfinex (BF) and BitMEX (BM) trades, newest on top, sizes in the coin; a venue's
              same-side trades in one millisecond merge into one print (×n, average price);
              large prints are highlighted (\\[tape] in the config sets the threshold)
  History     today's FinX ticks for the pair, newest first; live ticks land on top
  Account     your BitMEX positions and margin (read-only key; nothing is ever traded)
  Status bar  each source's state and how long ago it last spoke:
              live · connecting · resyncing (book being rebuilt) · stale (quiet too long)
              · reconnecting (with the reason) · error (needs you: see the message)
              · off (its key is not set: the bar names the variable)

[b]Alerts[/b]  (a adds one for the selected pair; A lists them with their log; ctrl+p "alert")
  above / below / crosses a price, a % move within a window, a spread at least N wide on one
  venue's book, a feed not live for N seconds. Once, or repeating after the condition clears
  (at most once per cool-down). A firing shows a toast, rings the terminal bell and, where the
  terminal shows them, sends a desktop notification (OSC 9 / 777; over SSH too): \\[notify].
  Rules are saved in the config file (\\[\\[alerts]]); what fired survives a restart.

[b]Watchlist[/b]  w adds the selected pair (pick any with /), W removes it, < and > move it;
  saved to the config file with its comments kept.

[b]Layout[/b]
  From 160x50 every panel is on screen. Smaller terminals show the watchlist and the account with
  one view at a time; v steps through the views, and t or c bring the chart on screen.

[b]Keys and settings[/b]
  Rebind any key above in the config file's \\[keys] table by its id, e.g.  "pair.next" = "n".
  Colours: theme = "dark" | "light" (or any Textual theme), updown = "blue-orange" for a
  colour-blind-safe up/down pair (flags --theme and --updown).
  API keys come from FINX_API_KEY, BITMEX_API_KEY / BITMEX_API_SECRET and FINAZON_API_KEY, or the
  config file's \\[credentials] table. The config file lives in your config directory
  (finx-tui --help shows how to point elsewhere).

Press escape, q or ? to close."""


def keys_table(keys: Sequence[tuple[str, str, str, str]]) -> str:
    """The keys section: keys now, what they do, and the id to rebind them by, grouped by where they apply."""
    lines = ["[b]Keys[/b]  (as bound now; rebind one by its id in the config's \\[keys])"]
    scope = None
    for shown, what, binding_id, where in keys:
        if where != scope:
            scope = where
            if where != "monitor":
                lines.append(f"  [i]{escape(where)}[/i]")
        # Pad before escaping (the escape adds characters), and escape a lone "[" too (the "previous" key).
        lines.append(f"  {shown:<12}".replace("[", "\\[") + f" [dim]{escape(binding_id):<16}[/dim] {escape(what)}")
    lines.append("  tab                           focus the history table (up/down, page up/down, home/end)")
    lines.append("  ctrl+p                        every command: pairs, alerts, watchlist, themes")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Help; ``keys`` are (keys now, what, binding id, where) as the app has them after the keymap."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 106; max-width: 96%; height: auto; max-height: 90%; }
    """

    def __init__(self, keys: Sequence[tuple[str, str, str, str]] = ()) -> None:
        super().__init__()
        self.keys = tuple(keys)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(keys_table(self.keys) + "\n\n" + PANELS, id="help-text")
