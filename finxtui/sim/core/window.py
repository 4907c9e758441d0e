"""The top-N window of a book as a subscriber sees it (Bitfinex ``len``, BitMEX ``orderBookL2_25``).

A venue with a depth window publishes a level leaving the window as a delete and a level entering it as
an insert. :class:`Window` mirrors exactly what its subscribers hold and turns each change of the full
book into the window changes to publish, so the subscriber's book always equals the top N of the venue's.
"""

from __future__ import annotations

from collections.abc import Iterable

from sortedcontainers import SortedDict

from finxtui.sim.market import ASK, BID, LevelChange, SimBook

# (side, tick index, size steps; 0 deletes)
WindowChange = tuple[str, int, int]


class Window:
    """The best ``depth`` levels per side of ``book``; feed it the book's changes after each step."""

    def __init__(self, book: SimBook, depth: int) -> None:
        self.book = book
        self.depth = depth
        self.sides: dict[str, SortedDict] = {BID: SortedDict(), ASK: SortedDict()}
        for side in (BID, ASK):
            levels = book.side(side)
            keys = levels.keys()
            chosen = keys[-depth:] if side == BID else keys[:depth]
            self.sides[side].update((k, levels[k]) for k in chosen)

    def levels(self, side: str) -> list[tuple[int, int]]:
        """Best first (tick index, size steps)."""
        mirror = self.sides[side]
        keys = reversed(mirror.keys()) if side == BID else iter(mirror.keys())
        return [(k, mirror[k]) for k in keys]

    def apply(self, changes: Iterable[LevelChange]) -> list[WindowChange]:
        """Window changes for a step's book changes. The book must already hold the whole step."""
        out: list[WindowChange] = []
        for ch in changes:
            self._one(ch.side, ch.idx, ch.steps, out)
        return out

    def _worse(self, side: str, a: int, b: int) -> bool:
        return a < b if side == BID else a > b

    def _one(self, side: str, idx: int, steps: int, out: list[WindowChange]) -> None:
        mirror = self.sides[side]
        if idx in mirror:
            if steps > 0:
                if mirror[idx] != steps:
                    mirror[idx] = steps
                    out.append((side, idx, steps))
            else:
                del mirror[idx]
                out.append((side, idx, 0))
                self._refill(side, out)
            return
        if steps <= 0:
            return
        if len(mirror) < self.depth:
            worst = self._worst(side)
            if worst is not None and self._worse(side, idx, worst):
                # Outside what we hold; the refill takes levels in order, so only take it if next.
                self._refill(side, out)
                return
            mirror[idx] = steps
            out.append((side, idx, steps))
            return
        worst = self._worst(side)
        if worst is not None and self._worse(side, idx, worst):
            return
        mirror[idx] = steps
        out.append((side, idx, steps))
        worst = self._worst(side)
        assert worst is not None  # the window was full, and just grew by one
        del mirror[worst]
        out.append((side, worst, 0))

    def _worst(self, side: str) -> int | None:
        mirror = self.sides[side]
        if not mirror:
            return None
        return mirror.keys()[0] if side == BID else mirror.keys()[-1]

    def _refill(self, side: str, out: list[WindowChange]) -> None:
        """Fill the window from the book's next levels, worst end, until it is full or the book ends."""
        mirror = self.sides[side]
        levels = self.book.side(side)
        while len(mirror) < self.depth:
            worst = self._worst(side)
            if side == BID:
                pos = len(levels) if worst is None else levels.bisect_left(worst)
                if pos == 0:
                    return
                idx = levels.keys()[pos - 1]
            else:
                pos = 0 if worst is None else levels.bisect_right(worst)
                if pos >= len(levels):
                    return
                idx = levels.keys()[pos]
            mirror[idx] = levels[idx]
            out.append((side, idx, levels[idx]))
