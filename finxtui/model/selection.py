"""What the user is looking at: the selected pair, the ladder's venue and depth, the chart's
timeframe and source, whether drawing is paused.

The app writes it (keys, the pair picker); widgets read it, each redraw. Nothing here knows about textual.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Selection:
    pair: str
    book_source: str
    book_levels: int
    paused: bool = False
    timeframe: int = 60  # the chart's candle width in seconds (model.candles.TIMEFRAMES)
    chart_source: str = ""  # whose candles the chart draws; "" follows the watchlist's price source
