"""FinX, the tick plant: the client's side, one module per job.

- :mod:`.stream`: :class:`FinxFeed`, ticks of several pairs (one :class:`FinxStream` socket a pair, merged);
- :mod:`.client`: :class:`FinxClient`, the functions (authenticate, tick snap, tick history) on one socket;
- :mod:`.history`: :func:`page_through`, a whole day of history past the 1000-row limit of one reply;
- :mod:`.rows`: reading tick rows (streams, snaps, history) and :class:`HistoryRow`;
- :mod:`.errors`: :class:`FinxError` and the texts that name the key variable, never the key.

The date and time grammar and the paths are wire facts, in :mod:`finxtui.wire.finx`; the names other
packages use are re-exported here.
"""

from finxtui.feeds.finx.client import FinxClient, fetch_history
from finxtui.feeds.finx.errors import KEY_REJECTED, NO_KEY, FinxAuthError, FinxError
from finxtui.feeds.finx.history import collect, page_through
from finxtui.feeds.finx.rows import (
    HistoryPage,
    HistoryRow,
    day_start_ms,
    format_clock,
    parse_clock,
    parse_day,
    parse_row,
    row_ms,
    utc_today,
)
from finxtui.feeds.finx.stream import FinxFeed, FinxStream
from finxtui.wire.finx import DAY_MS, PAGE_ROWS

__all__ = ["DAY_MS", "KEY_REJECTED", "NO_KEY", "PAGE_ROWS", "FinxAuthError", "FinxClient", "FinxError", "FinxFeed",
           "FinxStream", "HistoryPage", "HistoryRow", "collect", "day_start_ms", "fetch_history", "format_clock",
           "page_through", "parse_clock", "parse_day", "parse_row", "row_ms", "utc_today"]
