"""The venue registry: every source finx-tui speaks, described once.

Config (defaults, endpoint overrides, key variables), the command line (choices), the status bar and ticker
(names and tags), the feeds and the simulator (protocol paths) all read this table; adding a venue starts
here. Tags are the names users type (``--endpoint bitfinex=…``, ``tail bitmex``) and the ``source`` of every
event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Venue:
    """One source.

    ``path`` is what the client appends to a base URL (the simulator serves it under ``/{tag}`` too);
    ``key_vars`` the environment variables of its credentials (empty: public data); ``books`` whether it
    has an order book the ladder can show; ``account`` whether keys unlock a private account stream
    (market data then needs no key).
    """

    tag: str
    name: str
    short: str
    default_url: str
    path: str
    key_vars: tuple[str, ...] = ()
    books: bool = False
    account: bool = False
    alternatives: tuple[str, ...] = ()  # other real endpoints worth knowing (beta, testnet)

    @property
    def needs_key(self) -> bool:
        """True when the market data itself needs a key (without one the source is off)."""
        return bool(self.key_vars) and not self.account

    def key_hint(self) -> str:
        """Which variables to set, as a user reads it: ``BITMEX_API_KEY and BITMEX_API_SECRET``."""
        return " and ".join(self.key_vars)


FINX = Venue("finx", "FinX", "FX", "wss://ws.finx.io", "/streaming/{key}/{pair}", ("FINX_API_KEY",),
             alternatives=("wss://beta.finx.io",))
BITFINEX = Venue("bitfinex", "Bitfinex", "BF", "wss://api-pub.bitfinex.com", "/ws/2", books=True)
BITMEX = Venue("bitmex", "BitMEX", "BM", "wss://ws.bitmex.com", "/realtime", ("BITMEX_API_KEY", "BITMEX_API_SECRET"),
               books=True, account=True, alternatives=("wss://ws.testnet.bitmex.com",))
FINAZON = Venue("finazon", "Finazon", "FZ", "wss://ws.finazon.io", "/v1?apikey={key}", ("FINAZON_API_KEY",))

#: every venue, in the order the status bar lists them
VENUES: dict[str, Venue] = {v.tag: v for v in (FINX, BITFINEX, BITMEX, FINAZON)}
SOURCES: tuple[str, ...] = tuple(VENUES)
#: venues with an order book, in the order the ladder's venue key cycles through them
BOOK_SOURCES: tuple[str, ...] = tuple(tag for tag, v in VENUES.items() if v.books)


def venue(tag: str) -> Venue:
    """The venue called ``tag``; KeyError naming the known ones otherwise."""
    try:
        return VENUES[tag]
    except KeyError:
        raise KeyError(f"unknown source {tag!r} (known: {', '.join(SOURCES)})") from None


def key_hint(tag: str) -> str:
    """The variables that turn ``tag`` on (``FINX_API_KEY``); empty for a public venue or an unknown tag."""
    found = VENUES.get(tag)
    return found.key_hint() if found is not None else ""


def display_name(tag: str) -> str:
    """``Bitfinex`` for ``bitfinex``; an unknown tag as it is."""
    found = VENUES.get(tag)
    return found.name if found is not None else tag
