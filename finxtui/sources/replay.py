"""A recording made by ``finx-tui record``, played back as a source (``finx-tui replay``, ``tail --replay``).

The events come out as the live feeds made them (books rebuilt from snapshots and deltas), paced by a
:class:`~finxtui.record.replay.ReplayControl` the monitor's ``p``, ``+`` and ``-`` keys drive. Its clock is
the recording's, so the header shows when it happened and ages read as they did then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date
from pathlib import Path

from finxtui.model.events import Event, Tick
from finxtui.record.replay import Recording, ReplayControl, replay_events
from finxtui.wire.venues import SOURCES


class ReplaySource:
    """``recording`` (a directory or an opened :class:`Recording`) from ``start`` (UNIX seconds or ``--from``
    text; None: the beginning) at ``speed`` times real time (0: as fast as possible).

    ``venues`` and ``pairs`` narrow what is played (None: everything recorded).
    """

    kind = "replay"
    recorded = True
    has_account = True

    def __init__(self, recording: Recording | Path | str, *, speed: float = 1.0, start: float | str | None = None,
                 venues: Iterable[str] | None = None, pairs: Iterable[str] | None = None) -> None:
        self.recording = recording if isinstance(recording, Recording) else Recording(recording)
        recorded = set(self.recording.sources)
        wanted = list(venues) if venues is not None else list(SOURCES)
        self.venues: tuple[str, ...] = tuple(v for v in wanted if v in recorded)
        self._pairs = list(pairs) if pairs is not None else None
        self._start = self.recording.parse_start(start) if isinstance(start, str) else start
        origin = self._start if self._start is not None else self.recording.span()[0]
        self.control = ReplayControl(speed, origin=origin)
        self.playback: ReplayControl | None = self.control
        self.clock = self.control.clock
        self.ended = False
        self._events: AsyncIterator[Event] | None = None

    def badge(self) -> str:
        if self.ended:
            return "REPLAY · ended"
        return f"REPLAY {self.control.speed:g}x"

    async def start(self) -> None:
        if self._events is None:
            self._events = replay_events(self.recording, sources=self.venues, pairs=self._pairs,
                                         start=self._start, control=self.control)

    def follow(self, pairs: Iterable[str]) -> None:
        """A recording holds what it holds: every recorded pair plays whatever is selected."""

    def reconnect(self, reason: str = "") -> None:
        """Nothing to reconnect to."""

    async def stop(self) -> None:
        self.ended = True
        events = self._events
        # A generator suspended in its reader's await cannot be closed from here; the reader's cancellation
        # closes it, and ``ended`` makes its next step the last.
        if events is not None and not getattr(events, "ag_running", False):
            self._events = None
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self.ended:
            raise StopAsyncIteration
        if self._events is None:
            await self.start()
        assert self._events is not None
        try:
            return await self._events.__anext__()
        except StopAsyncIteration:
            self.ended = True
            raise

    async def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        """Nothing to load: the recorded FinX ticks fill the history as they play."""
        return
        yield  # an async generator that yields nothing
