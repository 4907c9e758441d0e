"""The ``?`` help screen: every key, what the panels show, and where the data comes from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Keys[/b]
  ]  /  \\[        next / previous pair in the watchlist
  1 … 9          select watchlist pair 1 … 9
  /  or ctrl+p   pick any pair (fuzzy search; ctrl+p also lists the app's commands)
  v              view (below 160x50): depth + history · chart + trades · depth + trades
  t              chart timeframe: 1m · 5m · 15m · 1h
  c              chart candles from FinX ticks · Bitfinex trades · BitMEX trades
  b              switch the depth ladder's venue (Bitfinex / BitMEX)
  d              ladder depth: 10 or 25 levels per side
  p              pause redrawing (data keeps flowing; p again resumes)
  r              reconnect every source now (also retries a rejected key)
  tab            focus the history table (then up/down, page up/down, home/end)
  ?              this help        q  quit

[b]Panels[/b]
  Watchlist   last price, change since this session opened, source (FX FinX, BF Bitfinex,
              BM BitMEX, FZ Finazon) and recent ticks; the selected pair is marked ▶
  Depth       asks above, bids below, best prices in the middle; size, running total and a bar
              scaled to the deepest total shown; BitMEX sizes are contracts
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

[b]Layout[/b]
  From 160x50 every panel is on screen. Smaller terminals show the watchlist and the account with
  one view at a time; v steps through the views, and t or c bring the chart on screen.

[b]Keys and settings[/b]
  API keys come from FINX_API_KEY, BITMEX_API_KEY / BITMEX_API_SECRET and FINAZON_API_KEY, or the
  config file's \\[credentials] table. The config file lives in your config directory
  (finx-tui --help shows how to point elsewhere).

Press escape, q or ? to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 106; max-width: 96%; height: auto; max-height: 90%; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP, id="help-text")
