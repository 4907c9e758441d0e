"""Bitfinex API v2 public websocket: the wire facts (``reference/exchange-protocols.md`` part A).

Frames: events are JSON objects (``info``, ``conf``, ``subscribed``, ``unsubscribed``, ``error``, ``pong``);
channel data are arrays ``[CHAN_ID, payload, …, SEQ]`` whose payload is a list (snapshot or update), ``"hb"``,
``"cs"`` (checksum) or a trade message word. With ``FLAG_SEQ_ALL`` one counter per socket numbers every array
frame (heartbeats and checksums included), starting at 1.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from finxtui.wire.jsnum import js_number

PATH = "/ws/2"

# conf flags (A3): OR them into {"event": "conf", "flags": N}.
FLAG_TIMESTAMP = 32768
FLAG_SEQ_ALL = 65536
FLAG_CHECKSUM = 131072
FLAG_BULK = 536870912

# Events (A2-A4, A9): ``{"event": …}`` objects; the client sends conf, subscribe, unsubscribe and ping.
CONF = "conf"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
INFO = "info"
ERROR = "error"
PING = "ping"
PONG = "pong"
STATUS_OK = "OK"  # ``status`` of a conf or unsubscribe reply that succeeded
PLATFORM_MAINTENANCE = 0  # ``platform.status`` of the first info event while the venue is in maintenance

# Channels and payload words.
BOOK = "book"
TRADES = "trades"
HEARTBEAT = "hb"
CHECKSUM = "cs"
TRADE_EXECUTED = "te"
TRADE_UPDATED = "tu"  # the same trade again with its id settled: a client counts ``te`` only
FUNDING_TRADE_WORDS = ("fte", "ftu")

#: book lengths a subscription may ask for (``len``, sent and acked as a string)
LENGTHS = (1, 25, 100, 250)
PRECISION = "P0"  # raw price levels; P1-P4 aggregate
FREQUENCIES = ("F0", "F1")  # F0 real time, F1 every 2 s
CHECKSUM_LEVELS = 25  # the checksum covers the top 25 levels a side
CHANNEL_LIMIT = 25  # subscriptions per connection (A1)

#: the venue sends ``[CHAN_ID, "hb"]`` on a 15 s tick per channel, and skips a channel's heartbeat when it
#: had traffic since the previous tick, so a healthy channel may go up to two periods between frames (A7)
HEARTBEAT_SECONDS = 15.0

# Error codes (A8).
ERR_UNKNOWN_EVENT = 10000
ERR_SUBSCRIBE = 10300
ERR_ALREADY_SUBSCRIBED = 10301
ERR_SUBSCRIPTION_LIMIT = 10305
ERR_UNSUBSCRIBE = 10400

# Info codes (A9).
INFO_RESTART = 20051  # "Stopping. Please try to reconnect"
INFO_MAINTENANCE = 20060  # pause until 20061
INFO_MAINTENANCE_OVER = 20061
API_VERSION = 2

Level = tuple[float, float]  # (price, size), size positive on both sides


def checksum_string(bids: Sequence[Level], asks: Sequence[Level]) -> str:
    """``bid0.price:bid0.amount:ask0.price:-ask0.amount:…`` in JavaScript number text (best first)."""
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            p, s = bids[i]
            parts.append(js_number(p))
            parts.append(js_number(s))
        if i < len(asks):
            p, s = asks[i]
            parts.append(js_number(p))
            parts.append(js_number(-s))
    return ":".join(parts)


def checksum_of(bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """Signed 32-bit CRC as Bitfinex sends it in a ``cs`` frame (``bids``/``asks`` best first, sizes positive)."""
    crc = zlib.crc32(checksum_string(bids[:CHECKSUM_LEVELS], asks[:CHECKSUM_LEVELS]).encode("ascii"))
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def book_length(depth: int, at_least: int = 25) -> int:
    """The smallest subscribable book length that holds ``depth`` levels (never below ``at_least``)."""
    need = max(depth, at_least)
    for length in LENGTHS:
        if length >= need:
            return length
    return LENGTHS[-1]
