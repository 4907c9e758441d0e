"""What a Config holds: the settings dataclasses, their defaults and the choices they allow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from finxtui.model.alerts import AlertRule
from finxtui.model.pairs import PairTable
from finxtui.wire.venues import SOURCES, VENUES

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
