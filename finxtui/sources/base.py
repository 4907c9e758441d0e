"""The one protocol every source of market events speaks, and the small pieces sources share.

A monitor, ``tail`` and ``record`` all do the same thing with a source: start it, ``async for event in
source``, perhaps ask it to carry other pairs or to reconnect, and stop it. What differs is where the events
come from: the venues (:class:`~finxtui.sources.live.LiveSource`), the embedded simulator
(:class:`~finxtui.sources.demo.DemoSource`), a recording (:class:`~finxtui.sources.replay.ReplaySource`), a
test's script (:class:`~finxtui.sources.scripted.ScriptedSource`) and, later, a hub. The app takes one
source and nothing else of its kind.

Events are the normalized ones of :mod:`finxtui.model.events`. A ``BookUpdate``'s ``changes`` are exact;
its ``book`` is the source's live book, which a source that merges several venues may already have moved
on when the event is read (a monitor only keeps the reference; a consumer that needs the book as of that
frame reads a source of one venue, as ``tail`` and ``record`` do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from typing import Any, Protocol, runtime_checkable

from finxtui.model.events import Event, Tick

#: seconds of uninterrupted delivery before a source's iterator lets the event loop run (timers, keys)
YIELD_EVERY = 0.002


class HistoryUnavailable(Exception):
    """Tick history cannot be had from this source; the message says why, worded for the user."""


class Playback(Protocol):
    """Pause and speed of a source that plays something back (a replay); ``speed`` is times real time."""

    speed: float
    paused: bool


@runtime_checkable
class Source(Protocol):
    """Where a monitor's events come from.

    ``kind`` names the implementation (``live``, ``demo``, ``replay``, ``script``); ``venues`` the sources it
    carries (their health rows); ``clock`` the time the monitor shows and measures freshness by (a replay's
    is the recording's); ``recorded`` says the events are a recording (the history comes with them);
    ``has_account`` whether a private account stream can arrive; ``playback`` is the pause/speed control of
    a replay (None elsewhere).
    """

    @property
    def kind(self) -> str: ...

    @property
    def venues(self) -> tuple[str, ...]: ...

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def recorded(self) -> bool: ...

    @property
    def has_account(self) -> bool: ...

    @property
    def playback(self) -> Playback | None: ...

    async def start(self) -> None:
        """Connect, open the recording, start the simulator: whatever comes before the first event."""

    def __aiter__(self) -> AsyncIterator[Event]:
        """Every event, from every venue the source carries, until :meth:`stop` (or the recording ends)."""
        ...

    def follow(self, pairs: Iterable[str]) -> None:
        """Carry these pairs (the watchlist and the selected pair); a source that cannot choose ignores it."""

    def reconnect(self, reason: str = ...) -> None:
        """Drop every connection and connect again now (a rejected key is tried again too)."""

    async def stop(self) -> None:
        """Close everything; the iteration ends."""

    def badge(self) -> str:
        """The header's mark for this source: ``DEMO``, ``REPLAY 2x``, ``REPLAY · ended``; empty when live."""
        ...

    def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        """FinX tick history of ``pair`` on the UTC ``day``, page by page; :class:`HistoryUnavailable` says why not."""
        ...


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], timeout: float = 10.0) -> None:
    """Cancel ``tasks`` and wait for them to end, ``timeout`` seconds at the most.

    Bounded: on Python 3.11 a cancellation that meets an expiring ``asyncio.timeout`` can be lost, and a
    stop must not hang on it.
    """
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


class Pacer:
    """Lets the event loop run every :data:`YIELD_EVERY` seconds of uninterrupted delivery.

    A consumer's ``async for`` does not suspend while events are waiting, so a busy source would hold the
    loop (and every timer and key press with it) for as long as the backlog lasts. The clock is read every
    ``CHECK_EVERY`` events, not every event: clock reads add up at 100k events a second.
    """

    CHECK_EVERY = 32
    __slots__ = ("_count", "_last")

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._count = 0

    async def pace(self) -> None:
        self._count += 1
        if self._count < self.CHECK_EVERY:
            return
        self._count = 0
        now = time.monotonic()
        if now - self._last > YIELD_EVERY:
            await asyncio.sleep(0)
            self._last = time.monotonic()
