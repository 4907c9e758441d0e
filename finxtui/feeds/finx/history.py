"""Paging through a day of FinX tick history, past the 1000-row limit of one ``tickHistory`` reply.

FinX answers ``tickHistory`` with at most ``PAGE_ROWS`` unsorted rows of one UTC day after ``time``. To get a
whole day the client asks again from the latest time it has seen, until a reply has fewer than ``PAGE_ROWS``
rows or brings nothing new, de-duplicating on (time, exchange, price) and sorting by time. It re-asks from
**1 ms before** the latest time, not from the latest time itself: several ticks can share the last millisecond
of a page, and the server's "after" is strict, so asking strictly after that millisecond would skip the ticks
of it that did not fit in the page. The overlap comes back as duplicates and is dropped (this also works if
"after" turns out to be inclusive on the real service). Independent of the socket: ``fetch`` makes one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from finxtui.feeds.finx.errors import FinxError
from finxtui.feeds.finx.rows import HistoryPage, HistoryRow, row_order
from finxtui.wire.finx import DAY_MS, PAGE_ROWS

MAX_PAGES = 10_000  # a day of 10 million ticks: past this the server is not paging, it is looping

Fetch = Callable[[int | None], Awaitable[HistoryPage]]


async def page_through(fetch: Fetch, after_ms: int | None = None, *, all_pages: bool = True,
                       page_rows: int = PAGE_ROWS, max_pages: int = MAX_PAGES) -> AsyncIterator[list[HistoryRow]]:
    """Page through a day's tick history; yields each reply's new rows, sorted by time.

    ``fetch(after)`` makes one ``tickHistory`` request for the rows strictly after ``after`` milliseconds into
    the day (None: the whole day). The first request uses ``after_ms``; each next one starts 1 ms before the
    latest time seen so far (ticks sharing a page's last millisecond are not lost; the overlap is dropped as
    duplicates of (time, exchange, price)). Stops after a reply with fewer than ``page_rows`` rows or nothing
    new, or after the first reply unless ``all_pages``. Every yielded row is new; pages are yielded in time
    order, but rows of equal millisecond can arrive in two pages, so sort the whole if order matters
    (:func:`collect`).
    """
    seen: set[tuple[int, str, float]] = set()
    after = after_ms
    for _ in range(max_pages):
        page = await fetch(after)
        new: list[HistoryRow] = []
        for row in page.rows:
            key = row.key
            if key not in seen:
                seen.add(key)
                new.append(row)
        new.sort(key=row_order)
        yield new
        if not all_pages or page.size < page_rows or not new or not page.rows:
            return
        latest = max(row.ms for row in page.rows) % DAY_MS
        after = latest - 1 if latest > 0 else None
    raise FinxError(f"FinX kept sending new history rows after {max_pages} pages; stopped")


async def collect(pages: AsyncIterator[list[HistoryRow]]) -> list[HistoryRow]:
    """Every row of ``pages``, sorted by time (then exchange and price, so equal times come out the same)."""
    rows: list[HistoryRow] = []
    async for page in pages:
        rows.extend(page)
    rows.sort(key=row_order)
    return rows
