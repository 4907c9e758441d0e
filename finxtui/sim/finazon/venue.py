"""Finazon's shared state: the tickers it serves, each equity's forming one-minute bar, and the key check.

Bars are folded from the market's equity prints by a print listener from construction on, and closed at
each minute boundary of the wall clock; every connection reads the same bars. A bad API key is refused at
the handshake (HTTP 401), unless the ``soft_auth`` fault is on.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import ClassVar

from finxtui.model.pairs import DEFAULT_PAIRS
from finxtui.sim.bars import BarBuilder
from finxtui.sim.core.context import VenueContext
from finxtui.sim.core.venue import Venue
from finxtui.sim.market import EquityPrint
from finxtui.wire import finazon as fz

INVALID_KEY = '{"status":"error","message":"Invalid API key"}'


class FinazonVenue(Venue):
    tag: ClassVar[str] = "finazon"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        #: every pair's bar builder (only equities print, so only theirs fill)
        self.bars: dict[str, BarBuilder] = {p: BarBuilder() for p in ctx.market.pairs}
        #: ticker -> canonical pair, for every equity the market trades that Finazon serves
        self.tickers: dict[str, str] = {}
        for pair in DEFAULT_PAIRS.pairs_on(self.tag):
            symbol = DEFAULT_PAIRS.symbol(self.tag, pair)
            if symbol and pair in self.bars:
                self.tickers[symbol] = pair
        ctx.on_prints(self._on_print)

    def _on_print(self, trade: EquityPrint) -> None:
        builder = self.bars.get(trade.pair)
        if builder is not None:
            builder.add(trade.price, trade.size, trade.ts)

    def refuse(self, path: str, query: Mapping[str, str]) -> tuple[http.HTTPStatus, str] | None:
        if query.get(fz.KEY_PARAM) != self.ctx.credentials.finazon_key and not self.ctx.fault_on("soft_auth"):
            return http.HTTPStatus.UNAUTHORIZED, INVALID_KEY
        return None

    def on_timer(self, now: float) -> None:
        wall = self.ctx.clock()
        for builder in self.bars.values():
            builder.roll(wall)
        super().on_timer(now)
