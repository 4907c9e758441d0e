"""One Config: defaults < TOML file (platformdirs config dir) < environment < command-line flags.

A bad value names its file and line. Secrets (API keys) come from the environment or the file's
``[credentials]`` table, are never part of ``repr``, and a file holding one that others can read gets a
warning. No textual here: the CLI, the feeds and the UI all read this.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from finxtui.model.alerts import AlertRule, RuleError, rule_from_fields
from finxtui.model.pairs import PairTable, canonical
from finxtui.wire.venues import BITMEX, BOOK_SOURCES, FINAZON, FINX, SOURCES, VENUES

APP_NAME = "finx-tui"
DEFAULT_ENDPOINTS = {tag: venue.default_url for tag, venue in VENUES.items()}
DEFAULT_WATCHLIST = ("BTC:USD", "ETH:USD", "SOL:USD", "XRP:USD", "AAPL", "MSFT")
COLOR_CHOICES = ("auto", "truecolor", "256", "16")
#: up/down colour pairs: the usual green/red, or blue/orange that colour-blind eyes tell apart
UPDOWN_CHOICES = ("green-red", "blue-orange")
#: terminal notifications: auto (what the terminal is known to show), OSC 9, OSC 777, or none
DESKTOP_CHOICES = ("auto", "osc9", "osc777", "off")


class ConfigError(ValueError):
    """A configuration value is wrong; the message names where (file:line or variable or flag)."""


@dataclass(frozen=True)
class Credentials:
    """API keys. ``repr`` never shows them; ``describe`` says which are set without revealing them."""

    finx_key: str = field(default="", repr=False)
    bitmex_key: str = field(default="", repr=False)
    bitmex_secret: str = field(default="", repr=False)
    finazon_key: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"Credentials({self.describe()})"

    def describe(self) -> str:
        have = [name for name, value in (("finx", self.finx_key), ("bitmex", self.bitmex_key and self.bitmex_secret),
                                         ("finazon", self.finazon_key)) if value]
        return "set: " + (", ".join(have) if have else "none")

    def secrets(self) -> list[str]:
        """Every secret value, for redaction."""
        return [v for v in (self.finx_key, self.bitmex_key, self.bitmex_secret, self.finazon_key) if v]

    @property
    def bitmex(self) -> bool:
        return bool(self.bitmex_key and self.bitmex_secret)


@dataclass(frozen=True)
class Refresh:
    """Redraw rates in Hz per widget (models update at any rate; these only pace painting)."""

    book: float = 10.0
    ticker: float = 4.0
    history: float = 2.0
    positions: float = 1.0
    status: float = 2.0
    chart: float = 2.0  # the forming candle moves with every trade; twice a second reads as live
    tape: float = 4.0

    def halved(self) -> Refresh:
        return Refresh(**{f.name: getattr(self, f.name) / 2 for f in fields(self)})


@dataclass(frozen=True)
class Notify:
    """How a firing alert reaches the person: a toast, the terminal's bell (BEL, works over SSH), and a desktop
    notification the terminal shows (OSC 9 / OSC 777, in-band, so also over SSH)."""

    toast: bool = True
    bell: bool = True
    desktop: str = "auto"


@dataclass(frozen=True)
class KeySetting:
    """One ``[keys]`` line: a binding id, the keys the user wants for it, and where it was written."""

    binding: str
    keys: str
    where: str


@dataclass(frozen=True)
class TapeSettings:
    """When a print on the trade tape is large: a size in the base currency per pair (``[tape.large]``), else
    a value in the quote currency (``large_notional``)."""

    large: Mapping[str, float] = field(default_factory=dict)
    large_notional: float = 100_000.0


@dataclass(frozen=True)
class Config:
    endpoints: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ENDPOINTS))
    enabled: Mapping[str, bool] = field(default_factory=lambda: dict.fromkeys(SOURCES, True))
    credentials: Credentials = field(default_factory=Credentials)
    watchlist: tuple[str, ...] = DEFAULT_WATCHLIST
    default_pair: str = "BTC:USD"
    book_source: str = "bitfinex"
    book_levels: int = 10
    bitfinex_len: int = 25
    finazon_interpolate: int = 0
    refresh: Refresh = field(default_factory=Refresh)
    tape: TapeSettings = field(default_factory=lambda: TapeSettings())
    theme: str = "finx-dark"
    color: str = "auto"
    slow_link: bool = False
    log_level: str = "INFO"
    updown: str = "green-red"
    alerts: tuple[AlertRule, ...] = ()
    notify: Notify = field(default_factory=Notify)
    keys: tuple[KeySetting, ...] = ()
    pairs: PairTable = field(default_factory=PairTable, repr=False)
    path: Path | None = None
    warnings: tuple[str, ...] = ()

    def with_endpoint(self, source: str, url: str) -> Config:
        if source not in SOURCES:
            raise ConfigError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
        endpoints = dict(self.endpoints)
        endpoints[source] = url
        return replace(self, endpoints=endpoints)

    def effective_refresh(self) -> Refresh:
        return self.refresh.halved() if self.slow_link else self.refresh


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


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """The line number of ``key`` inside ``[table]`` (None: top level), for error messages."""
    current: str | None = None
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1).replace('"', "").replace(" ", "")
            continue
        if current == (table.replace('"', "").replace(" ", "") if table else None) and re.match(
                rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


class _Reader:
    """Checks values from a parsed TOML file and names file:line on the first bad one."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(self, table: str | None, key: str, problem: str) -> ConfigError:
        line = _line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = f"{table}.{key}" if table else key
        return ConfigError(f"{where}: {name}: {problem}")

    def get(self, data: Mapping[str, Any], table: str | None, key: str, kind: type | tuple[type, ...],
            default: Any = None, choices: tuple[Any, ...] | None = None, low: float | None = None,
            high: float | None = None) -> Any:
        if key not in data:
            return default
        value: Any = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(table, key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not _is_kind(value, kinds):
            raise self.error(table, key, f"expected {_kind_name(kinds)}, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(table, key, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
        if low is not None and value < low:
            raise self.error(table, key, f"must be at least {low}, got {value!r}")
        if high is not None and value > high:
            raise self.error(table, key, f"must be at most {high}, got {value!r}")
        return value


def _is_kind(value: Any, kinds: tuple[type, ...]) -> bool:
    # A function, not an inline isinstance: mypy would narrow ``value`` to object and lose its comparisons.
    return isinstance(value, kinds)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None, *,
                create: bool = False) -> Config:
    """Defaults, then the file (if any), then the environment. Flags are applied by the caller."""
    env = os.environ if env is None else env
    path = path or default_config_path()
    if create:
        try:
            ensure_config_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from None
    cfg = Config(path=path if path.exists() else None)
    if path.exists():
        cfg = _apply_file(cfg, path)
    return _apply_env(cfg, env)


def _apply_file(cfg: Config, path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line N, column M)"; lead with the file and line like every other error here.
        m = re.search(r"at line (\d+)", str(exc))
        if m:
            where = f"{path}:{m.group(1)}"
        elif "end of document" in str(exc):
            where = f"{path}:{max(1, len(text.splitlines()))}"
        else:
            where = str(path)
        raise ConfigError(f"{where}: {exc}") from None
    r = _Reader(path, text)
    known = {"watchlist", "default_pair", "book_source", "book_levels", "theme", "color", "slow_link",
             "log_level", "refresh", "sources", "credentials", "pairs", "tape", "updown", "alerts", "notify",
             "keys"}
    for key in data:
        if key not in known:
            raise r.error(None, key, f"unknown setting (known: {', '.join(sorted(known))})")
    changes: dict[str, Any] = {}
    pairs = PairTable()
    for pair, spec in r.get(data, None, "pairs", dict, {}).items():
        if not isinstance(spec, dict):
            raise r.error("pairs", pair, "expected a table of venue symbols")
        symbols = {}
        for key, value in spec.items():
            if key in SOURCES:
                if not isinstance(value, str) or not value:
                    raise r.error(f'pairs."{pair}"', key, "expected the venue's symbol as a string")
                symbols[key] = value
            elif key not in ("tick", "kind"):
                raise r.error(f'pairs."{pair}"', key, f"unknown key (known: tick, kind, {', '.join(SOURCES)})")
        tick = r.get(spec, f'pairs."{pair}"', "tick", (int, float), None, low=1e-12)
        kind = r.get(spec, f'pairs."{pair}"', "kind", str, None, choices=("crypto", "equity"))
        pairs.extend(canonical(pair), kind=kind, tick=float(tick) if tick else None, symbols=symbols)
    changes["pairs"] = pairs
    watch = r.get(data, None, "watchlist", list, None)
    if watch is not None:
        if not watch or not all(isinstance(p, str) and p.strip() for p in watch):
            raise r.error(None, "watchlist", "expected a non-empty list of pair names")
        names = tuple(canonical(p) for p in watch)
        unknown = [p for p in names if p not in pairs]
        if unknown:
            raise r.error(None, "watchlist", f"unknown pair(s) {', '.join(unknown)}; add them under [pairs]")
        changes["watchlist"] = names
    default_pair = r.get(data, None, "default_pair", str, None)
    if default_pair is not None:
        if canonical(default_pair) not in pairs:
            raise r.error(None, "default_pair", f"unknown pair {default_pair!r}")
        changes["default_pair"] = canonical(default_pair)
    for key, choices in (("book_source", BOOK_SOURCES), ("color", COLOR_CHOICES), ("updown", UPDOWN_CHOICES),
                         ("log_level", ("DEBUG", "INFO", "WARNING", "ERROR"))):
        value = r.get(data, None, key, str, None, choices=choices)
        if value is not None:
            changes[key] = value
    levels = r.get(data, None, "book_levels", int, None, choices=(10, 25))
    if levels is not None:
        changes["book_levels"] = levels
    theme = r.get(data, None, "theme", str, None)
    if theme is not None:
        changes["theme"] = theme
    slow = r.get(data, None, "slow_link", bool, None)
    if slow is not None:
        changes["slow_link"] = slow
    refresh = r.get(data, None, "refresh", dict, None)
    if refresh is not None:
        rates = {}
        rate_names = {f.name for f in fields(Refresh)}
        for key in refresh:
            if key not in rate_names:
                raise r.error("refresh", key, f"unknown rate (known: {', '.join(sorted(rate_names))})")
            rates[key] = float(r.get(refresh, "refresh", key, (int, float), low=0.1, high=60))
        changes["refresh"] = replace(cfg.refresh, **rates)
    tape = r.get(data, None, "tape", dict, None)
    if tape is not None:
        changes["tape"] = _tape(r, tape, pairs)
    sources = r.get(data, None, "sources", dict, {})
    endpoints = dict(cfg.endpoints)
    enabled = dict(cfg.enabled)
    for source, spec in sources.items():
        if source not in SOURCES:
            raise r.error("sources", source, f"unknown source (known: {', '.join(SOURCES)})")
        table = f"sources.{source}"
        if not isinstance(spec, dict):
            raise r.error("sources", source, "expected a table")
        allowed = {"url", "enabled"} | ({"len"} if source == "bitfinex" else set()) | (
            {"interpolate"} if source == "finazon" else set())
        for key in spec:
            if key not in allowed:
                raise r.error(table, key, f"unknown key (known: {', '.join(sorted(allowed))})")
        url = r.get(spec, table, "url", str, None)
        if url is not None:
            if not re.match(r"^wss?://[^/\s]+", url):
                raise r.error(table, "url", f"expected a ws:// or wss:// URL, got {url!r}")
            endpoints[source] = url
        on = r.get(spec, table, "enabled", bool, None)
        if on is not None:
            enabled[source] = on
        if source == "bitfinex":
            length = r.get(spec, table, "len", int, None, choices=(1, 25, 100, 250))
            if length is not None:
                changes["bitfinex_len"] = length
        if source == "finazon":
            n = r.get(spec, table, "interpolate", int, None, low=0, high=10000)
            if n is not None:
                changes["finazon_interpolate"] = n
    changes["endpoints"] = endpoints
    changes["enabled"] = enabled
    creds = r.get(data, None, "credentials", dict, {})
    fields_of = {"finx_api_key": "finx_key", "bitmex_api_key": "bitmex_key", "bitmex_api_secret": "bitmex_secret",
                 "finazon_api_key": "finazon_key"}
    values = {}
    for key in creds:
        if key not in fields_of:
            raise r.error("credentials", key, f"unknown key (known: {', '.join(sorted(fields_of))})")
        value = r.get(creds, "credentials", key, str)
        if value:
            values[fields_of[key]] = value
    warnings = list(cfg.warnings)
    if values:
        changes["credentials"] = replace(cfg.credentials, **values)
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(f"{path} holds API keys but other users can read it "
                            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
    changes["notify"] = _notify(r, data)
    changes["keys"] = _keys(r, data)
    changes["alerts"] = _alerts(r, data, pairs, warnings)
    changes["warnings"] = tuple(warnings)
    return replace(cfg, **changes)


def _notify(r: _Reader, data: Mapping[str, Any]) -> Notify:
    spec = r.get(data, None, "notify", dict, {})
    for key in spec:
        if key not in ("toast", "bell", "desktop"):
            raise r.error("notify", key, "unknown key (known: bell, desktop, toast)")
    return Notify(toast=r.get(spec, "notify", "toast", bool, True), bell=r.get(spec, "notify", "bell", bool, True),
                  desktop=r.get(spec, "notify", "desktop", str, "auto", choices=DESKTOP_CHOICES))


def _keys(r: _Reader, data: Mapping[str, Any]) -> tuple[KeySetting, ...]:
    """The ``[keys]`` table as written; the app checks the ids and key names (it knows its bindings)."""
    spec = r.get(data, None, "keys", dict, {})
    out = []
    for binding, keys in spec.items():
        if not isinstance(keys, str) or not keys.strip():
            raise r.error("keys", binding, f'expected the keys as a string such as "n" or "ctrl+n,f5", got {keys!r}')
        line = _line_of(r.text, "keys", binding)
        out.append(KeySetting(binding, keys.strip(), f"{r.path}:{line}" if line else str(r.path)))
    return tuple(out)


def _alerts(r: _Reader, data: Mapping[str, Any], pairs: PairTable, warnings: list[str]) -> tuple[AlertRule, ...]:
    """Every good ``[[alerts]]`` entry. A bad one is skipped with a warning naming its field and line: one
    typo must not cost the other alerts, nor the monitor."""
    entries = data.get("alerts", [])
    if not isinstance(entries, list):
        raise r.error(None, "alerts", "expected [[alerts]] tables (an array of tables)")
    rules: list[AlertRule] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise r.error(None, "alerts", "expected [[alerts]] tables (an array of tables)")
        try:
            rules.append(rule_from_fields(entry, pairs=pairs, sources=SOURCES))
        except RuleError as exc:
            line = _line_in_array(r.text, "alerts", index, exc.field)
            where = f"{r.path}:{line}" if line else str(r.path)
            warnings.append(f"{where}: alerts[{index + 1}].{exc.field}: {exc.problem} (this alert is skipped)")
    return tuple(dict.fromkeys(rules))


def _line_in_array(text: str, table: str, index: int, key: str) -> int | None:
    """The line of ``key`` in the ``index``-th ``[[table]]`` (or of that header when the key is missing)."""
    header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]\s*(#.*)?$")
    other = re.compile(r"^\s*\[")
    seen, start = -1, None
    for number, line in enumerate(text.splitlines(), 1):
        if header.match(line):
            seen += 1
            if seen == index:
                start = number
            elif seen > index:
                break
            continue
        if start is not None:
            if other.match(line):
                break
            if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return number
    return start


def _tape(r: _Reader, tape: Mapping[str, Any], pairs: PairTable) -> TapeSettings:
    for key in tape:
        if key not in ("large", "large_notional"):
            raise r.error("tape", key, "unknown key (known: large, large_notional)")
    notional = float(r.get(tape, "tape", "large_notional", (int, float), TapeSettings.large_notional, low=0))
    large: dict[str, float] = {}
    for pair, size in r.get(tape, "tape", "large", dict, {}).items():
        name = canonical(pair)
        if name not in pairs:
            raise r.error("tape.large", pair, f"unknown pair {pair!r}; add it under [pairs]")
        large[name] = float(r.get({pair: size}, "tape.large", pair, (int, float), low=0))
    return TapeSettings(large, notional)


def _apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    creds = cfg.credentials
    values = {}
    bitmex_key_var, bitmex_secret_var = BITMEX.key_vars
    for attr, var in (("finx_key", FINX.key_vars[0]), ("bitmex_key", bitmex_key_var),
                      ("bitmex_secret", bitmex_secret_var), ("finazon_key", FINAZON.key_vars[0])):
        if env.get(var):
            values[attr] = env[var].strip()
    if values:
        creds = replace(creds, **values)
    return replace(cfg, credentials=creds)


def parse_endpoint(text: str) -> tuple[str, str]:
    """``SOURCE=URL`` from ``--endpoint``."""
    if "=" not in text:
        raise ConfigError(f"--endpoint {text!r}: expected SOURCE=URL, e.g. bitfinex=ws://127.0.0.1:9001")
    source, url = text.split("=", 1)
    source = source.strip().lower()
    if source not in SOURCES:
        raise ConfigError(f"--endpoint {text!r}: unknown source {source!r} (known: {', '.join(SOURCES)})")
    if not re.match(r"^wss?://[^/\s]+", url.strip()):
        raise ConfigError(f"--endpoint {text!r}: expected a ws:// or wss:// URL")
    return source, url.strip()
