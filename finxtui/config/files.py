"""Where the config, state and logs live, and the commented default file written on first run."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from finxtui.config.settings import APP_NAME


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    override = os.environ.get("FINX_TUI_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """Where the app keeps what it learns while running (alerts' fired state and log), not settings."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


DEFAULT_FILE = """\
# finx-tui configuration (TOML). Every line here is a commented default: uncomment to change it.
# Precedence: these defaults < this file < environment variables < command-line flags.

# Pairs shown in the ticker; keys 1-9 select them. Canonical names: BTC:USD, ETH:USD, ... or equity tickers.
# watchlist = ["BTC:USD", "ETH:USD", "SOL:USD", "XRP:USD", "AAPL", "MSFT"]
# default_pair = "BTC:USD"

# Depth ladder: which venue's book ("bitfinex" or "bitmex"), and 10 or 25 levels per side.
# book_source = "bitfinex"
# book_levels = 10

# theme = "dark"                 # dark | light, or any Textual theme: "nord", "gruvbox", ... (--theme)
# updown = "green-red"           # or "blue-orange": rises and falls that colour-blind eyes tell apart (--updown)
# color = "auto"                 # auto | truecolor | 256 | 16 (over SSH, auto usually means 256)
# slow_link = false              # halve every redraw rate (slow SSH links)
# log_level = "INFO"

# Redraw rates in Hz. Data is always taken in at full speed; these only pace painting.
# [refresh]
# book = 10
# ticker = 4
# history = 2
# positions = 1
# chart = 2
# tape = 4

# The trade tape highlights large prints: from a size in the base currency per pair, and for pairs not
# listed, from a value in the quote currency.
# [tape]
# large_notional = 100000
# [tape.large]
# "BTC:USD" = 2.0
# "ETH:USD" = 50

# Where each venue lives. The client appends the protocol path (/ws/2, /realtime, /v1, /streaming/...).
# [sources.finx]
# url = "wss://ws.finx.io"       # beta: wss://beta.finx.io
# [sources.bitfinex]
# url = "wss://api-pub.bitfinex.com"
# len = 25                       # Bitfinex book length: 1, 25, 100 or 250
# [sources.bitmex]
# url = "wss://ws.bitmex.com"    # testnet: wss://ws.testnet.bitmex.com
# [sources.finazon]
# url = "wss://ws.finazon.io"
# interpolate = 0                # price points between each bar's open and close, sent as ticks (e.g. 90)

# API keys. Prefer the environment (FINX_API_KEY, BITMEX_API_KEY, BITMEX_API_SECRET, FINAZON_API_KEY).
# If you keep them here, make this file private: chmod 600. Use a read-only BitMEX key.
# [credentials]
# finx_api_key = ""
# bitmex_api_key = ""
# bitmex_api_secret = ""
# finazon_api_key = ""

# Alerts (also added, listed and removed in the app: ctrl+p, "alert"). Exactly one condition per entry:
# above / below / cross = a price; move = a percent within window seconds (direction any|up|down);
# spread = a width on one venue's book (source, default bitfinex); feed_down = seconds a feed is not live.
# repeat = true fires again after the condition cleared, at most once per cooldown seconds (default 300).
# [[alerts]]
# pair = "BTC:USD"
# above = 100000
# [[alerts]]
# pair = "ETH:USD"
# move = 2
# window = 300
# repeat = true
# [[alerts]]
# feed_down = 30
# source = "bitmex"

# How a firing alert reaches you (over SSH too): a toast, the terminal bell, and a desktop notification
# (auto | osc9 | osc777 | off; auto sends one only to terminals known to show it).
# [notify]
# toast = true
# bell = true
# desktop = "auto"

# Your own keys: binding id = "keys" (comma-separated). The ids and their keys are listed by ? (help).
# [keys]
# "pair.next" = "n"
# "alerts.add" = "ctrl+a"

# Extra pairs, or other venue symbols for known ones.
# [pairs."DOGE:USD"]
# tick = 0.00001
# bitfinex = "tDOGE:USD"
"""


def ensure_config_file(path: Path | None = None) -> Path:
    """Create the config file with commented defaults on first run (private: it may later hold keys)."""
    path = path or default_config_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(DEFAULT_FILE)
    return path
