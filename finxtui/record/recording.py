"""A recording on disk: its files, the sources and pairs they hold, its time span, and ``--from`` in its terms.

:class:`Recording` only lists and inspects files (names, first and last rows); reading rows is
:mod:`finxtui.record.rows`, playing them is :mod:`finxtui.record.replay`. It fails early and in words the user
can act on: a missing or empty directory, or a ``--from`` outside the recording, raise :class:`ReplayError`.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import BinaryIO

from finxtui.record.schema import KINDS, PAIR_KINDS, RecordingError, parse_file_name

# The replay's modules share one logger, so a warning reads the same whichever module raises it.
log = logging.getLogger("finxtui.record.replay")


class ReplayError(RecordingError):
    """The recording cannot be replayed as asked (worded for the user)."""


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One CSV file of a recording, with what its place in the layout says about it."""

    path: Path
    kind: str
    source: str
    key: str  # the pair for PAIR_KINDS; pair or symbol, currency, scope for the others
    day: str


class Recording:
    """The CSV files of one recording directory (see :mod:`finxtui.record.schema` for the layout)."""

    def __init__(self, root: Path | str) -> None:
        self.root = root = Path(root)
        if not root.exists():
            raise ReplayError(f"{root}: no such directory")
        if not root.is_dir():
            raise ReplayError(f"{root} is not a directory")
        files: list[RecordedFile] = []
        for kind in KINDS:
            kind_dir = root / kind
            if not kind_dir.is_dir():
                continue
            for source_dir in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
                for path in sorted(source_dir.glob("*.csv")):
                    try:
                        key, day = parse_file_name(path.name)
                    except ValueError as exc:
                        log.warning("%s: not a recording file, ignored (%s)", path, exc)
                        continue
                    files.append(RecordedFile(path, kind, source_dir.name, key, day))
        if not files:
            raise ReplayError(f"{root} holds no finx-tui recording (expected files such as "
                              f"trades/bitfinex/BTC-USD_2026-11-21.csv, written by 'finx-tui record')")
        self.files = files
        self._span: tuple[float, float] | None = None

    @property
    def sources(self) -> list[str]:
        return sorted({f.source for f in self.files})

    def pairs(self, sources: Iterable[str] | None = None) -> list[str]:
        """Pairs with market data in the recording (of ``sources``, when given), sorted."""
        wanted = set(sources) if sources else None
        return sorted({f.key for f in self.files if f.kind in PAIR_KINDS and (wanted is None or f.source in wanted)})

    def select(self, sources: Iterable[str] | None = None, pairs: Iterable[str] | None = None) -> list[RecordedFile]:
        """The files that can hold events of ``sources`` and ``pairs`` (None: all); ReplayError when none do.

        Files without a pair in their name (status, margin, positions) go with their source whatever ``pairs``.
        """
        want_sources = set(sources) if sources else None
        want_pairs = set(pairs) if pairs else None
        chosen = [f for f in self.files
                  if (want_sources is None or f.source in want_sources)
                  and (want_pairs is None or f.kind not in PAIR_KINDS or f.key in want_pairs)]
        if not chosen:
            have = "; ".join(f"{s}: {', '.join(self.pairs([s])) or 'no market data'}" for s in self.sources)
            asked = " ".join(sorted(want_sources or ())) or "any source"
            raise ReplayError(f"{self.root} has nothing for {asked}; it holds {have}")
        return chosen

    def span(self) -> tuple[float, float]:
        """(first, last) receive time in the recording (reads only each file's first and last rows)."""
        if self._span is None:
            first, last = math.inf, -math.inf
            for f in self.files:
                edge = _edge_times(f.path)
                if edge is not None:
                    first, last = min(first, edge[0]), max(last, edge[1])
            if first == math.inf:
                raise ReplayError(f"{self.root} holds no events yet (only headers)")
            self._span = (first, last)
        return self._span

    def parse_start(self, value: str) -> float:
        """``--from``: HH:MM[:SS] on the recording's first UTC day, or ISO-8601 (naive means UTC)."""
        first, last = self.span()
        text = value.strip()
        try:
            if ":" in text and "-" not in text and "T" not in text.upper():
                moment = datetime.combine(datetime.fromtimestamp(first, UTC).date(), dtime.fromisoformat(text),
                                          tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError:
            raise ReplayError(f"--from {value!r}: expected HH:MM[:SS] (UTC, on the recording's first day) or an "
                              f"ISO-8601 time such as 2026-11-21T14:30:00Z") from None
        ts = moment.timestamp()
        if not first - 1.0 <= ts <= last:
            raise ReplayError(f"--from {value!r} is outside the recording ({_show(first)} to {_show(last)})")
        return ts


def _show(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _edge_times(path: Path) -> tuple[float, float] | None:
    """recv_ts of the first and the last whole data rows of a file, None when it has none."""
    with open(path, "rb") as fh:
        head = fh.readline()
        if not head.endswith(b"\n"):
            return None
        header = head.decode("utf-8", "replace").strip().split(",")
        if "recv_ts" not in header:
            return None
        col = header.index("recv_ts")
        first_line = fh.readline()
        if not first_line.endswith(b"\n"):
            return None
        last_line = _last_line(fh, fh.seek(0, os.SEEK_END), len(head))
    try:
        firsts = next(csv.reader([first_line.decode()]))
        lasts = next(csv.reader([(last_line or first_line).decode()]))
        return float(firsts[col]), float(lasts[col])
    except (ValueError, IndexError, StopIteration, UnicodeDecodeError):
        return None


def _last_line(fh: BinaryIO, size: int, floor: int) -> bytes | None:
    """The last line ending in ``\\n`` between ``floor`` and ``size`` (an unfinished tail is skipped)."""
    chunk = 1 << 14
    while True:
        start = max(floor, size - chunk)
        fh.seek(start)
        data = fh.read(size - start)
        end = data.rfind(b"\n")
        if end >= 0:
            begin = data.rfind(b"\n", 0, end)
            if begin >= 0:
                return data[begin + 1:end + 1]
            if start == floor:
                return data[:end + 1]
        elif start == floor:
            return None
        chunk *= 4
