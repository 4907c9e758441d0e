"""The replay's clock: the recording's time now, at a speed the viewer changes live, paused or not.

:class:`ReplayControl` is all the TUI holds of a running replay (``p``, ``+`` and ``-`` set ``paused`` and
``speed``); :func:`finxtui.record.replay.replay_events` waits on it before each event. A long silence in the
recording (the recorder was stopped) is shortened to :data:`GAP_SHOWN` so nobody waits it out.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

MAX_GAP = 5.0  # a silence longer than this (recording seconds: the recorder was stopped) ...
GAP_SHOWN = 1.0  # ... is replayed as this long


class ReplayControl:
    """Pause and speed of a running replay, changed live (the TUI's ``p``, ``+`` and ``-`` set these).

    :meth:`clock` is the recording's time now: the app shows it and measures freshness by it.
    ``speed`` 0 means as fast as possible.
    """

    def __init__(self, speed: float = 1.0, *, origin: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._mono = monotonic
        self.origin = origin  # what clock() says before the replay starts (None: the wall clock)
        self._speed = float(speed)
        self._paused = False
        self._anchor_rec: float | None = None  # recording time at _anchor_wall
        self._anchor_wall = 0.0
        self._changed: asyncio.Event | None = None
        self._holding = False

    # The app assigns these attributes; the setters re-anchor the clock and wake a waiting replay.
    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"replay speed must be a finite number >= 0, not {value}")
        self._reanchor()
        self._speed = float(value)
        self._wake()

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        if bool(value) == self._paused:
            return
        self._reanchor()
        self._paused = bool(value)
        self._wake()

    def clock(self) -> float:
        """The recording's time now (before the replay starts: ``origin``, or the wall clock)."""
        if self._anchor_rec is None:
            return time.time() if self.origin is None else self.origin
        if self._paused or self._speed <= 0:
            return self._anchor_rec
        return self._anchor_rec + (self._mono() - self._anchor_wall) * self._speed

    def begin(self, rec: float) -> None:
        """The replay starts at recording time ``rec``, now."""
        self._anchor_rec = rec
        self._anchor_wall = self._mono()

    def _reanchor(self) -> None:
        if self._anchor_rec is not None:
            self._anchor_rec = self.clock()
            self._anchor_wall = self._mono()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    @property
    def holding(self) -> bool:
        """True while a paused replay holds its next event back (nothing more comes out until it resumes)."""
        return self._holding

    async def wait_until(self, rec: float) -> None:
        """Return when the recording's clock reaches ``rec`` (at once at speed 0); waits while paused."""
        if self._anchor_rec is None:
            self.begin(rec)
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        while True:
            if self._paused:
                changed.clear()
                self._holding = True
                try:
                    await changed.wait()
                finally:
                    self._holding = False
                continue
            if self._speed <= 0:
                self._anchor_rec = max(self._anchor_rec or rec, rec)
                return
            now = self.clock()
            ahead = rec - now
            if ahead <= 0:
                return
            if ahead > MAX_GAP:
                # The recorder was not running (or nothing happened): do not make the viewer wait it out.
                self._anchor_rec = rec - GAP_SHOWN
                self._anchor_wall = self._mono()
                continue
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), ahead / self._speed)
            except TimeoutError:
                pass
