"""What the hub knows now: every book it keeps (with its sequence number) and every venue's health.

The venue pumps write it, the NATS publisher and the HTTP API read it. No I/O here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from finxtui.model.book import OrderBook
from finxtui.model.events import CONNECTING, Status


@dataclass(slots=True)
class HubBook:
    """One book as the hub keeps it: ``seq`` counts the venue frames applied in this ``epoch``."""

    source: str
    pair: str
    book: OrderBook
    seq: int = 0
    ts: float = 0.0  # when the hub applied the last frame
    snap_seq: int = -1  # the seq of the last snapshot published (-1: none yet)
    snap_at: float = 0.0  # when it was published
    gen: int = 0  # the publisher generation it was published in (a new connection needs a new one)


@dataclass(slots=True)
class VenueHealth:
    source: str
    state: str = CONNECTING
    detail: str = ""
    since: float = 0.0  # when the state was entered
    last_event: float = 0.0  # when the venue last said anything
    pairs: tuple[str, ...] = field(default_factory=tuple)


class Registry:
    """Books by ``(source, pair)`` and health by source, for the venues and pairs the hub carries."""

    def __init__(self, plan: dict[str, list[str]], *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.plan = {venue: list(pairs) for venue, pairs in plan.items()}
        now = clock()
        self.health: dict[str, VenueHealth] = {
            venue: VenueHealth(venue, since=now, pairs=tuple(pairs)) for venue, pairs in plan.items()}
        self.books: dict[tuple[str, str], HubBook] = {}

    def sources(self) -> Iterable[str]:
        return self.health.keys()

    def pairs(self, source: str) -> list[str]:
        return self.plan.get(source, [])

    def carries(self, source: str, pair: str) -> bool:
        return pair in self.plan.get(source, ())

    def book(self, source: str, pair: str) -> HubBook | None:
        return self.books.get((source, pair))

    def heard(self, source: str) -> None:
        health = self.health.get(source)
        if health is not None:
            health.last_event = self.clock()

    def status(self, status: Status) -> bool:
        """Record a venue status; True when the state or detail changed (the account scope never arrives)."""
        health = self.health.get(status.source)
        if health is None or status.scope:
            return False
        changed = (health.state, health.detail) != (status.state, status.detail)
        if health.state != status.state:
            health.since = self.clock()
        health.state, health.detail = status.state, status.detail
        return changed

    def age(self, source: str) -> float | None:
        """Seconds since the venue last said anything (None: never)."""
        health = self.health.get(source)
        if health is None or not health.last_event:
            return None
        return max(0.0, self.clock() - health.last_event)
