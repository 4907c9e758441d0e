"""What one BitMEX client holds of a book table or a quote, and the rows that change it.

A :class:`BookStream` is one L2 table (``orderBookL2`` or ``orderBookL2_25``) of one symbol as this client
holds it: level ids (kept for a level's life, forgotten on delete) and the levels touched since the last
publication, so each publication sends the net change of every touched level. A :class:`QuoteState` replays a
batch's changes on a private copy of the book, so ``quote`` gets one row per change of the top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedDict

from finxtui.sim.core.window import Window, WindowChange
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import ASK, BID, SimBook
from finxtui.wire import bitmex as bmx
from finxtui.wire.jsnum import wire_number

SIDE = {BID: bmx.BUY, ASK: bmx.SELL}
Top = tuple[int | None, int, int | None, int]  # best bid index, its steps, best ask index, its steps


@dataclass(slots=True)
class BookStream:
    """One L2 table of one symbol as this client holds it."""

    table: str
    contract: BitmexContract
    book: SimBook
    window: Window | None
    held: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # (side, idx) -> (id, steps)
    pending: dict[tuple[str, int], None] = field(default_factory=dict)  # touched levels not yet published

    def target(self, side: str, idx: int) -> int:
        """The level's size in steps as the table should hold it now (0 = absent)."""
        source = self.window.sides[side] if self.window is not None else self.book.side(side)
        return source.get(idx, 0)

    def levels_desc(self) -> list[tuple[str, int, int]]:
        """(side, idx, steps), price descending: Sells high to low, then Buys high to low."""
        out: list[tuple[str, int, int]] = []
        for side in (ASK, BID):
            source = self.window.sides[side] if self.window is not None else self.book.side(side)
            out.extend((side, idx, source[idx]) for idx in reversed(source.keys()))
        return out


@dataclass(slots=True)
class QuoteState:
    """A private copy of the book for replaying a dispatch's changes top by top."""

    bids: SortedDict
    asks: SortedDict
    sent: Top | None = None  # the last top published

    def top(self) -> Top:
        bb = self.bids.keys()[-1] if self.bids else None
        ba = self.asks.keys()[0] if self.asks else None
        return (bb, self.bids[bb] if bb is not None else 0, ba, self.asks[ba] if ba is not None else 0)

    def replay(self, changes: list[WindowChange]) -> list[Top]:
        """Apply ``changes`` in order; the top after every change that moved it."""
        tops: list[Top] = []
        current = self.top()
        for side, idx, steps in changes:
            levels = self.bids if side == BID else self.asks
            if steps > 0:
                levels[idx] = steps
            else:
                levels.pop(idx, None)
            # Only a change at or better than the current top can move it.
            if side == BID:
                if current[0] is not None and idx < current[0]:
                    continue
            elif current[2] is not None and idx > current[2]:
                continue
            new = self.top()
            if new != current:
                tops.append(new)
                current = new
        return tops


def book_row(stream: BookStream, side: str, idx: int, level_id: int, steps: int | None, ts: str) -> dict[str, Any]:
    """A book row: keys, then ``size`` (not on a delete), ``price`` and ``timestamp`` (the 2023 API)."""
    row: dict[str, Any] = {"symbol": stream.contract.symbol, "id": level_id, "side": SIDE[side]}
    if steps is not None:
        row["size"] = int(stream.book.size(steps))
    row["price"] = wire_number(stream.book.price(idx))
    row["timestamp"] = ts
    return row
