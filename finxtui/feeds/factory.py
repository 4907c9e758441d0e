"""Build the feed for a source from the configuration (one place for the CLI, the recorder and the UI)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from finxtui.config import Config
from finxtui.feeds.bitfinex import BitfinexFeed
from finxtui.feeds.bitmex import BitmexFeed
from finxtui.feeds.finazon import FinazonFeed
from finxtui.feeds.finx import FinxFeed
from finxtui.feeds.merge import MergedFeed
from finxtui.feeds.session import Feed
from finxtui.wire import venues
from finxtui.wire.bitfinex import book_length
from finxtui.wire.bitmex import L2_25_LEVELS

AnyFeed = Feed | MergedFeed  # FinX streams one pair a socket: its feed merges several


def make_feed(source: str, cfg: Config, pairs: Iterable[str], *, depth: int = 25,
              clock: Callable[[], float] = time.time) -> AnyFeed:
    """A feed for ``source`` covering ``pairs`` (those the venue does not list are reported, not fatal)."""
    pairs = list(pairs)
    url = cfg.endpoints[source]
    if source == venues.BITFINEX.tag:
        return BitfinexFeed(url, pairs, depth=book_length(depth, cfg.bitfinex_len), table=cfg.pairs, clock=clock)
    if source == venues.BITMEX.tag:
        return BitmexFeed(url, pairs, full_book=depth > L2_25_LEVELS, credentials=cfg.credentials,
                          table=cfg.pairs, clock=clock)
    if source == venues.FINX.tag:
        return FinxFeed(url, pairs, api_key=cfg.credentials.finx_key, table=cfg.pairs, clock=clock)
    if source == venues.FINAZON.tag:
        return FinazonFeed(url, pairs, api_key=cfg.credentials.finazon_key, table=cfg.pairs,
                           interpolate=cfg.finazon_interpolate, clock=clock)
    raise ValueError(f"unknown source {source!r}")
