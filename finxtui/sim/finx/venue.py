"""FinX's shared state: the pairs it serves and their tick history, recording every live tick once.

The simulator makes the venue after its warm-up, so synthetic history ends at that moment at the market's
price then (its open price if it has not moved), and every tick from then on is recorded by a tick listener:
the history and the live stream join up, and ``tickSnap``/``tickHistory`` see what the streams pushed.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import unquote

from finxtui.model.pairs import DEFAULT_PAIRS
from finxtui.sim.core.context import VenueContext
from finxtui.sim.core.venue import Venue
from finxtui.sim.finx.history import TickHistory


class FinxVenue(Venue):
    tag: ClassVar[str] = "finx"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        market = ctx.market
        #: FinX-named pairs that the market trades
        self.pairs = [p for p in DEFAULT_PAIRS.pairs_on(self.tag) if p in market.pairs]
        self.history = TickHistory(ctx.seed, {p: market.pairs[p] for p in self.pairs}, anchor_ts=ctx.clock(),
                                   anchor_prices={p: market.fair[p] for p in self.pairs}, clock=ctx.clock)
        ctx.on_ticks(self.history.record)

    def resolve_pair(self, symbol: str) -> str | None:
        """A pair symbol as sent (raw or URL-encoded, any case) to the canonical pair, if FinX serves it."""
        text = unquote(symbol).strip()
        pair = DEFAULT_PAIRS.pair_for(self.tag, text) or DEFAULT_PAIRS.pair_for(self.tag, text.upper())
        return pair if pair is not None and pair in self.history else None
