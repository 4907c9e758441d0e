"""The hub's wire facts, shared by the publisher (``finxtui.hub``) and the reader (``sources/hub.py``).

One JetStream stream :data:`STREAM` holds every subject under ``md.>``:

- ``md.<venue>.<token>.book.snap``: the whole book, published with ``Nats-Rollup: sub`` so one is retained;
- ``md.<venue>.<token>.book.delta``: one applied venue frame;
- ``md.<venue>.<token>.trade`` | ``.tick`` | ``.bar`` | ``.instrument``: the event as it is.

Every body is the ``tail`` JSON line of the event (:mod:`finxtui.wire.lines`). Book lines add ``seq`` (per
book, +1 for every venue frame), ``epoch`` (the publisher's run) and, on a delta, ``changes``
(``[[side, price, size], …]``, size 0 deletes); a snapshot lists every level. The same ``seq`` and ``epoch``
ride in the :data:`H_SEQ` and :data:`H_EPOCH` headers for readers that do not parse bodies.

Last values live in the KV bucket :data:`BUCKET` (history 1): ``hub`` (the publisher's heartbeat: epoch,
per-book seq, per-venue state and age), ``status.<venue>`` (the venue's status line), ``last.<venue>.<token>.<kind>``
(the last trade, tick or bar line) and ``inst.<venue>.<token>``.

Pair tokens: NATS tokens and KV keys allow neither ``:`` nor ``.``, so ``BTC:USD`` travels as ``BTC-USD``;
any other character outside ``[A-Za-z0-9_]`` is written ``=XX`` (its hex code).
"""

from __future__ import annotations

from functools import lru_cache

STREAM = "FINX_MD"
BUCKET = "FINX_STATE"
PREFIX = "md"

SNAP = "book.snap"
DELTA = "book.delta"
KINDS = ("trade", "tick", "bar", "instrument")

H_SEQ = "Finx-Seq"
H_EPOCH = "Finx-Epoch"
H_ROLLUP = "Nats-Rollup"

HEARTBEAT_KEY = "hub"
HEARTBEAT_EVERY = 1.0  # seconds between the publisher's heartbeats
HEARTBEAT_STALE = 3.5  # a reader calls the hub silent after this long without one

DEFAULT_NATS = "nats://127.0.0.1:4222"


def pair_token(pair: str) -> str:
    """``BTC:USD`` → ``BTC-USD``; reversible by :func:`token_pair`."""
    out = []
    for ch in pair:
        if ch == ":":
            out.append("-")
        elif ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        else:
            out.append("".join(f"={b:02X}" for b in ch.encode()))
    return "".join(out)


def token_pair(token: str) -> str:
    """The pair a :func:`pair_token` token names."""
    out = bytearray()
    i = 0
    while i < len(token):
        ch = token[i]
        if ch == "-":
            out += b":"
        elif ch == "=" and i + 3 <= len(token):
            out.append(int(token[i + 1:i + 3], 16))
            i += 2
        else:
            out += ch.encode()
        i += 1
    return out.decode()


def book_key(venue: str, pair: str) -> str:
    """The name of a book in the heartbeat's ``books``: ``bitfinex.BTC-USD``."""
    return f"{venue}.{pair_token(pair)}"


def subject(venue: str, pair: str, kind: str) -> str:
    return f"{PREFIX}.{venue}.{pair_token(pair)}.{kind}"


def pair_filter(venue: str, pair: str) -> str:
    """Every subject of one pair of one venue (one consumer reads them in stream order)."""
    return f"{PREFIX}.{venue}.{pair_token(pair)}.>"


@lru_cache(maxsize=4096)  # a reader sees the same few subjects thousands of times a second
def parse_subject(text: str) -> tuple[str, str, str] | None:
    """``(venue, pair, kind)`` of a hub subject; None for anything else (a foreign subject)."""
    parts = text.split(".")
    if len(parts) < 4 or parts[0] != PREFIX:
        return None
    kind = ".".join(parts[3:])
    if kind not in (SNAP, DELTA, *KINDS):
        return None
    try:
        return parts[1], token_pair(parts[2]), kind
    except (ValueError, UnicodeDecodeError):
        return None


def status_key(venue: str) -> str:
    return f"status.{venue}"


def last_key(venue: str, pair: str, kind: str) -> str:
    return f"last.{venue}.{pair_token(pair)}.{kind}"


def instrument_key(venue: str, pair: str) -> str:
    return f"inst.{venue}.{pair_token(pair)}"


def kv_subject(key: str) -> str:
    """The stream subject of a KV key (the publisher writes last values with a plain publish)."""
    return f"$KV.{BUCKET}.{key}"


def servers(text: str) -> list[str]:
    """The server URLs of ``nats://a:4222,nats://b:4222`` (NATS's own tools take the same list)."""
    urls = [u.strip() for u in text.split(",") if u.strip()]
    if not urls:
        raise ValueError("no NATS server URL given")
    for url in urls:
        if "://" not in url:
            raise ValueError(f"{url!r} is not a URL: expected nats://HOST:PORT")
    return urls
