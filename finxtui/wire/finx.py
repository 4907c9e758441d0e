"""FinX tick plant: the wire facts (``reference/finx-finazon-protocols.md`` part A; choices in its section C).

Streams: one pair a socket at ``/streaming/{APIKey}/{pair}`` (the SDK's ``Streamer`` also uses
``/streamer/``), pushing ``{"results": "streaming", "resultData": {"pair", "date", "time", "exchange",
"price"}}`` with the price as a string. Functions: ``/backend/?functionName=…&APIKey=…&…`` answered with one
frame on connect, or JSON messages ``{"functionName": …, "APIKey": …, …}`` on an open socket, one reply each.
Rows carry a UTC ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM:SS.mmmZ``); requests write ``time`` as
``HH:MM[:SS[.mmm]]``.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from urllib.parse import quote

STREAMING = "/streaming/"
STREAMER = "/streamer/"  # the SDK Streamer's spelling of the same thing
BACKEND = "/backend/"

# Functions.
AUTHENTICATE = "authenticate"
TICK_SNAP = "tickSnap"
TICK_HISTORY = "tickHistory"
KEEP_ALIVE = "keepAlive"
GET_SPOT_RATES = "getSpotRates"
LIST_DERIBIT_CONTRACTS = "listDeribitContracts"

# Request fields: a function's name and the key, in the query string or the JSON message.
FUNCTION_FIELD = "functionName"
KEY_FIELD = "APIKey"

# Frames.
STREAMING_RESULT = "streaming"  # the ``results`` of a pushed tick
RESULT_DATA = "resultData"
IS_AUTH = "isAuth"

PAGE_ROWS = 1000  # rows in a full ``tickHistory`` reply: at most this many of one UTC day after ``time``
IDLE_LIMIT = 300.0  # FinX closes a socket after this many seconds without a client frame...
KEEPALIVE_EVERY = 270.0  # ...and its docs say a keepAlive this often keeps it open
CLOSE_POLICY = 1008  # a refused key, or a stream for a pair FinX does not serve
CLOSE_IDLE = 1001

DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?")


def stream_path(api_key: str, symbol: str) -> str:
    """``/streaming/{APIKey}/{pair}``, the key escaped and the pair raw with its colon (as the SDK writes it)."""
    return f"{STREAMING}{quote(api_key, safe='')}/{quote(symbol, safe=':')}"


def parse_day(text: str) -> date:
    """A UTC day written ``YYYY-MM-DD`` (nothing else); ValueError otherwise."""
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: expected YYYY-MM-DD") from None


def parse_clock(text: str) -> int:
    """A time of day ``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.mmm`` (optional ``Z``) as milliseconds into the day.

    Digits past the millisecond are dropped. ValueError otherwise.
    """
    match = _CLOCK_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: expected HH:MM[:SS[.mmm]]")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a time of day: expected HH:MM[:SS[.mmm]]")
    millis = int((match[4] or "0")[:3].ljust(3, "0"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def format_clock(ms: int) -> str:
    """Milliseconds into a day as ``HH:MM:SS.mmm`` (a request's ``time``)."""
    hours, rest = divmod(ms % DAY_MS, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def row_time(ms: int) -> str:
    """A row's ``time`` of an epoch-millisecond instant: ``HH:MM:SS.mmmZ``."""
    return format_clock(ms) + "Z"


def day_of(ms: int) -> date:
    """The UTC day of an epoch-millisecond instant."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // DAY_MS)


def row_date(ms: int) -> str:
    """A row's ``date`` of an epoch-millisecond instant: ``YYYY-MM-DD``."""
    return day_of(ms).isoformat()


def day_start_ms(day: date) -> int:
    """Epoch milliseconds of a UTC day's first instant."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS


@lru_cache(maxsize=64)
def _day_text_ms(text: str) -> int:
    return day_start_ms(parse_day(text))


def row_ms(date_text: str, time_text: str) -> int:
    """Epoch milliseconds of a row's ``date`` and ``time``, UTC; ValueError for text of another shape."""
    return _day_text_ms(date_text) + parse_clock(time_text)
