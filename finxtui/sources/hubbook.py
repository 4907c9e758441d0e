"""One pair of one venue as a hub reader keeps it: the book rebuilt from snapshot + deltas, checked by ``seq``.

:meth:`HubChannel.apply` takes one hub message (subject, body) and returns the event it makes, nothing (a
duplicate, a periodic snapshot the reader already has), or raises :class:`Resync` (a gap, a new publisher
epoch) or :class:`~finxtui.wire.lines.LineError` (a malformed or foreign body). No I/O here: the source
(``sources/hub.py``) owns the subscriptions and decides what a resync means.
"""

from __future__ import annotations

from typing import Any

from finxtui.model.book import ASK, BID, OrderBook
from finxtui.model.events import BookChange, BookUpdate, Event
from finxtui.wire import hub as wire
from finxtui.wire.lines import LineError, decode, levels, load


class Resync(Exception):
    """The book cannot go on from here; the message says why (for the status line)."""


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LineError(f"{key!r} is not a whole number: {value!r}")
    return value


_NUMBER = (int, float)  # by exact type: a bool is not a price


def _changes(obj: dict[str, Any]) -> list[BookChange]:
    raw = obj.get("changes")
    if not isinstance(raw, list):
        raise LineError("a delta without a 'changes' list")
    out: list[BookChange] = []
    for change in raw:  # the hot loop of a reader: one pass, exact type checks
        try:
            side, price, size = change
        except (TypeError, ValueError):
            raise LineError(f"a change {change!r} is not [side, price, size]") from None
        if (side != BID and side != ASK) or type(price) not in _NUMBER or type(size) not in _NUMBER:
            raise LineError(f"a change {change!r} is not [side, price, size]")
        out.append((side, price, size))
    return out


class HubChannel:
    """The subjects ``md.<venue>.<token>.>`` of one pair, applied in stream order.

    ``seq`` is the hub's per-book sequence of the book as held (-1: no snapshot yet); ``epoch`` the
    publisher run it belongs to; ``gen`` the subscription generation (messages of an older one are dropped).
    """

    def __init__(self, venue: str, pair: str) -> None:
        self.venue = venue
        self.pair = pair
        self.book = OrderBook(venue, pair)
        self.seq = -1
        self.epoch = ""
        self.gen = 0
        self.syncing = True
        self.hub_seq = -1  # the hub's seq of this book in its last heartbeat (-1: it has none)
        self.progress_at = 0.0  # monotonic time of the last message applied
        self.last_ts: dict[str, float] = {}

    def reset(self) -> None:
        """Forget the sequence (a resync starts): the book stays on screen, marked resyncing by the source."""
        self.gen += 1
        self.seq = -1
        self.syncing = True

    def apply(self, subject: str, data: bytes, now: float) -> Event | None:
        parsed = wire.parse_subject(subject)
        if parsed is None or parsed[0] != self.venue or parsed[1] != self.pair:
            raise LineError(f"a message on {subject!r}, not a hub subject of {self.venue} {self.pair}")
        kind = parsed[2]
        obj = load(data)
        if obj.get("source") != self.venue or obj.get("pair") != self.pair:
            raise LineError(f"a body for {obj.get('source')!r} {obj.get('pair')!r} on {subject!r}")
        if kind == wire.SNAP:
            return self._snapshot(obj, now)
        if kind == wire.DELTA:
            return self._delta(obj, now)
        event = decode(obj)
        if event.type != kind:
            raise LineError(f"a {event.type} line on {subject!r}")
        ts = getattr(event, "ts", 0.0)
        if ts < self.last_ts.get(kind, 0.0):
            return None  # older than one already shown (the KV's last value painted it)
        self.last_ts[kind] = ts
        return event

    def _snapshot(self, obj: dict[str, Any], now: float) -> Event | None:
        if obj.get("type") != "book":
            raise LineError(f"a {obj.get('type')!r} line on a snapshot subject")
        seq, epoch = _int(obj, "seq"), obj.get("epoch")
        if not isinstance(epoch, str):
            raise LineError("a snapshot without an 'epoch'")
        bids, asks = levels(obj, "bids"), levels(obj, "asks")
        if epoch == self.epoch and seq <= self.seq:
            return None  # the periodic snapshot of a book already held: nothing new
        self.book.load(bids, asks)
        self.seq, self.epoch, self.syncing, self.progress_at = seq, epoch, False, now
        changes: list[BookChange] = [(BID, p, s) for p, s in bids] + [(ASK, p, s) for p, s in asks]
        return BookUpdate(self.venue, self.pair, self.book, True, changes, float(obj.get("ts") or 0.0))

    def _delta(self, obj: dict[str, Any], now: float) -> Event | None:
        if obj.get("type") != "book":
            raise LineError(f"a {obj.get('type')!r} line on a delta subject")
        seq, epoch = _int(obj, "seq"), obj.get("epoch")
        changes = _changes(obj)
        if self.seq < 0:
            return None  # no snapshot yet: the one asked for (or the next periodic one) comes first
        if epoch != self.epoch:
            raise Resync(f"the hub restarted (epoch {epoch})")
        if seq <= self.seq:
            return None  # a duplicate
        if seq != self.seq + 1:
            raise Resync(f"gap in the book: expected seq {self.seq + 1}, got {seq}")
        book = self.book
        for side, price, size in changes:
            book.set(side, price, size)
        self.seq, self.progress_at = seq, now
        return BookUpdate(self.venue, self.pair, book, False, changes, float(obj.get("ts") or 0.0))
