"""Frames a feed cannot use: counted by kind, logged with the reason and a sample, a flood rate limited.

One bad frame never ends a feed, and garbage at full rate (a broken proxy, a confused venue) must not fill
the disk: past ``REJECT_LOG_BURST`` lines of one kind a minute the rest are only counted, and summed up in
one line when the minute ends.
"""

from __future__ import annotations

import logging
import time

REJECT_LOG_BURST = 20  # log lines per kind of rejected frame a minute before the rest are only counted
WINDOW = 60.0


class Rejections:
    """Rejected frames of one feed: ``total``, ``by_kind`` (the reason up to its first colon), and the log."""

    __slots__ = ("_log", "_windows", "by_kind", "total")

    def __init__(self, log: logging.Logger) -> None:
        self.total = 0
        self.by_kind: dict[str, int] = {}
        self._log = log
        self._windows: dict[str, list[float]] = {}  # kind -> [window start, lines logged, lines held back]

    def add(self, source: str, reason: str, frame: object) -> None:
        """Count one rejected frame and log it (unless its kind has flooded the log this minute)."""
        self.total += 1
        kind = reason.split(":", 1)[0]  # "KeyError: 123" and "KeyError: 456" are one kind of rejection
        seen = self.by_kind.get(kind, 0) + 1
        self.by_kind[kind] = seen
        now = time.monotonic()
        window = self._windows.get(kind)
        if window is None or now - window[0] >= WINDOW:
            if window is not None and window[2]:
                self._log.warning("%s: %d more frames rejected (%s) in the last minute", source, window[2], kind)
            window = self._windows[kind] = [now, 0, 0]
        if window[1] < REJECT_LOG_BURST:
            window[1] += 1
            sample = frame[:160] if isinstance(frame, (str, bytes)) else repr(frame)[:160]
            self._log.warning("%s: rejected frame (%s, %d so far): %r", source, reason, seen, sample)
        else:
            window[2] += 1
