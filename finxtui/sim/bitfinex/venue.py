"""Bitfinex's shared state: each pair's latest trades (the ``trades`` snapshot), kept from construction on."""

from __future__ import annotations

from typing import ClassVar

from finxtui.sim.core.context import VenueContext
from finxtui.sim.core.recent import RecentTrades
from finxtui.sim.core.venue import Venue


class BitfinexVenue(Venue):
    tag: ClassVar[str] = "bitfinex"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        self.recent = RecentTrades(pair for venue, pair in ctx.market.books if venue == self.tag)
        ctx.on_trades(self.recent.record)
