"""Build the feed for a source from the configuration (one place for the CLI, the recorder and the UI)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from finxtui.config import Config
from finxtui.feeds.merge import MergedFeed
from finxtui.feeds.session import Feed

AnyFeed = Feed | MergedFeed  # FinX streams one pair a socket: its feed merges several

BITFINEX_LENGTHS = (1, 25, 100, 250)


def bitfinex_len(depth: int, configured: int = 25) -> int:
    """The smallest Bitfinex book length that shows ``depth`` levels (never below the configured one)."""
    need = max(depth, configured)
    for length in BITFINEX_LENGTHS:
        if length >= need:
            return length
    return BITFINEX_LENGTHS[-1]


def make_feed(source: str, cfg: Config, pairs: Iterable[str], *, depth: int = 25,
              clock: Callable[[], float] = time.time) -> AnyFeed:
    """A feed for ``source`` covering ``pairs`` (those the venue does not list are reported, not fatal)."""
    pairs = list(pairs)
    url = cfg.endpoints[source]
    if source == "bitfinex":
        from finxtui.feeds.bitfinex import BitfinexFeed

        return BitfinexFeed(url, pairs, depth=bitfinex_len(depth, cfg.bitfinex_len), table=cfg.pairs, clock=clock)
    if source == "bitmex":
        from finxtui.feeds.bitmex import BitmexFeed

        return BitmexFeed(url, pairs, full_book=depth > 25, credentials=cfg.credentials, table=cfg.pairs,
                          clock=clock)
    if source == "finx":
        from finxtui.feeds.finx import FinxFeed

        return FinxFeed(url, pairs, api_key=cfg.credentials.finx_key, table=cfg.pairs, clock=clock)
    if source == "finazon":
        from finxtui.feeds.finazon import FinazonFeed

        return FinazonFeed(url, pairs, api_key=cfg.credentials.finazon_key, table=cfg.pairs,
                           interpolate=cfg.finazon_interpolate, clock=clock)
    raise ValueError(f"unknown source {source!r}")
