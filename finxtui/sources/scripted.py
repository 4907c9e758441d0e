"""A source a test (or a screenshot script) drives step by step: it delivers exactly what it is given.

``push`` hands it events; the consumer gets them in order; ``await drained()`` returns once the consumer has
taken every one of them and asked for more, so everything pushed has been applied. Nothing in it depends on
a network, a wall clock or a timer: a screen built from a script is the same on every run.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import date

from finxtui.model.events import Event, Tick
from finxtui.sources.base import HistoryUnavailable, Playback
from finxtui.wire.venues import SOURCES


class ScriptedSource:
    """Events from a script. ``history`` maps a pair to its history pages (missing: unavailable, with
    ``history_error`` as the reason); ``mark`` is the header's badge."""

    kind = "script"
    recorded = False
    playback: Playback | None = None

    def __init__(self, events: Iterable[Event] = (), *, venues: Iterable[str] = SOURCES,
                 clock: Callable[[], float] = time.time, history: Mapping[str, Sequence[Sequence[Tick]]] | None = None,
                 history_error: str = "no history in this script", has_account: bool = True,
                 mark: str = "") -> None:
        self.venues: tuple[str, ...] = tuple(venues)
        self.clock = clock
        self.has_account = has_account
        self.mark = mark
        self.followed: tuple[str, ...] = ()
        self.reconnects = 0
        self._history = dict(history or {})
        self._history_error = history_error
        self._queue: deque[Event] = deque(events)
        self._more: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._ended = False

    def push(self, *events: Event) -> None:
        """Deliver these next, in order."""
        self._queue.extend(events)
        if self._idle is not None:
            self._idle.clear()
        if self._more is not None:
            self._more.set()

    def end(self) -> None:
        """The iteration ends once what was pushed has been delivered."""
        self._ended = True
        if self._more is not None:
            self._more.set()

    async def drained(self, timeout: float = 10.0) -> None:
        """Return once the consumer has taken everything pushed and is waiting for more."""
        if self._idle is None:
            self._idle = asyncio.Event()
        async with asyncio.timeout(timeout):
            while self._queue or not self._idle.is_set():
                await self._idle.wait()

    # -- what a source offers -------------------------------------------------------------------------

    def badge(self) -> str:
        return self.mark

    async def start(self) -> None:
        if self._more is None:
            self._more = asyncio.Event()
        if self._idle is None:
            self._idle = asyncio.Event()

    def follow(self, pairs: Iterable[str]) -> None:
        self.followed = tuple(pairs)

    def reconnect(self, reason: str = "") -> None:
        self.reconnects += 1

    async def stop(self) -> None:
        self.end()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        await self.start()
        assert self._more is not None and self._idle is not None
        while not self._queue:
            if self._ended:
                raise StopAsyncIteration
            self._idle.set()
            self._more.clear()
            await self._more.wait()
        return self._queue.popleft()

    async def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        pages = self._history.get(pair)
        if pages is None:
            raise HistoryUnavailable(self._history_error)
        for page in pages:
            yield page
