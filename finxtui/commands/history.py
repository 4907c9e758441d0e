"""``finx-tui history PAIR``: FinX tick history of one UTC day, oldest first, as JSON lines or CSV.

Without ``--all`` one ``tickHistory`` request (FinX answers at most 1000 rows); with ``--all`` every page of the
day (``finxtui.feeds.finx.page_through``). JSON lines have the shape of ``tail``'s tick line plus FinX's own
``date`` and ``time``; CSV has the header ``ts,date,time,pair,exchange,price``. A problem is one line on stderr
naming what to fix, exit 1 (2 for a malformed ``--date``/``--time``), never a traceback; the key is never printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from datetime import date
from typing import BinaryIO

import orjson

from finxtui.config import Config
from finxtui.feeds.finx import NO_KEY, FinxError, HistoryRow, fetch_history, utc_today
from finxtui.sources import embedded_simulator
from finxtui.wire.finx import parse_clock, parse_day

CSV_HEADER = ("ts", "date", "time", "pair", "exchange", "price")
CHUNK = 2000  # rows formatted per write


def _fail(message: str, code: int) -> int:
    print(f"finx-tui: {message}", file=sys.stderr)
    return code


async def run_history(cfg: Config, args: argparse.Namespace, pair: str) -> int:
    try:
        day = parse_day(args.date) if args.date is not None else utc_today()
    except ValueError as exc:
        return _fail(f"--date {exc}", 2)
    try:
        after = parse_clock(args.time) if args.time is not None else None
    except ValueError as exc:
        return _fail(f"--time {exc}", 2)
    if args.demo:
        async with embedded_simulator(cfg, seed=args.seed) as (demo_cfg, _sim):
            return await _history(demo_cfg, args, pair, day, after)
    return await _history(cfg, args, pair, day, after)


async def _history(cfg: Config, args: argparse.Namespace, pair: str, day: date, after: int | None) -> int:
    key = cfg.credentials.finx_key
    if not key:
        return _fail(NO_KEY, 1)
    try:
        rows = await fetch_history(cfg.endpoints["finx"], key, pair, day, after, all_pages=args.all,
                                   table=cfg.pairs)
    except FinxError as exc:
        return _fail(str(exc), 1)
    out = sys.stdout.buffer
    if args.format == "csv":
        write_csv(out, rows)
    else:
        write_json(out, rows)
    out.flush()
    if not rows:
        when = f" after {args.time}" if args.time is not None else ""
        print(f"finx-tui: FinX has no ticks of {pair} on {day.isoformat()}{when}", file=sys.stderr)
    return 0


def write_json(out: BinaryIO, rows: Sequence[HistoryRow]) -> None:
    """One JSON object per row and line."""
    for start in range(0, len(rows), CHUNK):
        out.write(b"".join(orjson.dumps(row.to_dict()) + b"\n" for row in rows[start:start + CHUNK]))


def write_csv(out: BinaryIO, rows: Sequence[HistoryRow]) -> None:
    """The header, then one row per tick (numbers as Python writes them: shortest exact form)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for start in range(0, max(len(rows), 1), CHUNK):
        writer.writerows((repr(r.ts), r.date_text, r.time_text, r.pair, r.exchange, repr(r.price))
                         for r in rows[start:start + CHUNK])
        out.write(text.getvalue().encode())
        text.seek(0)
        text.truncate()
