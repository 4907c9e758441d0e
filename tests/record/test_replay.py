"""Reading recordings back: --from, pacing and pause, and clear errors for bad input."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from finxtui.model.events import BookUpdate, Status, Trade
from finxtui.record.replay import Recording, ReplayControl, ReplayError, ReplayStats, replay_events
from tests.record.helpers import AFTERNOON, Clock, collect, final_books, make_recording, read_csv


async def test_from_rebuilds_the_state_at_that_moment(tmp_path: Path) -> None:
    history = make_recording(tmp_path)
    for offset in (0.35, 4.0, 10.05, 12.5, 19.95):  # before and after checkpoints and the resync
        start = AFTERNOON + offset
        expected = [top for recv, top in history if recv <= start][-1]
        events = []
        async for event in replay_events(tmp_path, start=start):
            if isinstance(event, BookUpdate):
                events.append(("book", event.snapshot, event.book.top(1000)))
            else:
                events.append(event)
            if len(events) > 400:
                break
        first_book = next(e for e in events if isinstance(e, tuple))
        assert first_book == ("book", True, expected), offset
        # Before the first book: the latest state only (one status, one trade, one tick at most).
        prologue = events[:events.index(first_book)]
        assert [type(e) for e in prologue if isinstance(e, Status)] == [Status]
        assert len([e for e in prologue if isinstance(e, Trade)]) <= 1
        later = [e for e in events[events.index(first_book) + 1:] if isinstance(e, Trade)]
        assert all(t.ts > start for t in later)
        tops = [e[2] for e in events if isinstance(e, tuple)]
        assert tops[-1] == history[-1][1]


async def test_from_text_and_its_errors(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=50)
    recording = Recording(tmp_path)
    assert recording.parse_start("14:30:02") == AFTERNOON + 2
    assert recording.parse_start("2026-11-22T14:30:01Z") == AFTERNOON + 1
    assert recording.parse_start("2026-11-22 14:30:03") == AFTERNOON + 3
    with pytest.raises(ReplayError, match="outside the recording"):
        recording.parse_start("15:00")
    with pytest.raises(ReplayError, match="expected HH:MM"):
        recording.parse_start("half past two")
    events = [e async for e in replay_events(tmp_path, start="14:30:04")]
    trades = [e for e in events if isinstance(e, Trade)]
    assert trades and sum(t.ts < AFTERNOON + 4 for t in trades) == 1  # the last one before: in the prologue


async def test_missing_empty_and_foreign_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no such directory"):
        Recording(tmp_path / "nope")
    with pytest.raises(ReplayError, match="holds no finx-tui recording"):
        Recording(tmp_path)
    make_recording(tmp_path / "rec", steps=10)
    with pytest.raises(ReplayError, match=r"nothing for bitmex; it holds bitfinex: BTC:USD; finx: BTC:USD"):
        [e async for e in replay_events(tmp_path / "rec", sources=["bitmex"])]
    foreign = tmp_path / "rec" / "trades" / "bitfinex" / "ETH-USD_2026-11-22.csv"
    foreign.write_text("time,recv_ts,source,pair,price\n")
    with pytest.raises(ReplayError, match=r"ETH-USD_2026-11-22.csv: not a finx-tui trades file \(missing columns: "
                                          r"venue_time, ts, size, side, trade_id\)"):
        [e async for e in replay_events(tmp_path / "rec")]


async def test_malformed_rows_are_skipped_and_reported_by_line(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    make_recording(tmp_path, steps=60)
    path = tmp_path / "trades" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    lines = path.read_text().splitlines(keepends=True)
    good = len(lines) - 1
    lines[2] = lines[2].replace(",buy,", ",sideways,")
    lines[4] = "this,is,not,a,row\n"
    path.write_text("".join(lines) + "2026-11-22T14:30:59.000000Z,1795357859.0,bitfin")  # unfinished last line
    stats = ReplayStats()
    logger = logging.getLogger("finxtui.record")
    logger.addHandler(caplog.handler)  # whatever an earlier test did to propagation
    try:
        with caplog.at_level(logging.WARNING, logger="finxtui.record"):
            events = await collect(replay_events(tmp_path, stats=stats))
    finally:
        logger.removeHandler(caplog.handler)
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) == good - 2 and stats.skipped == 2
    assert f"{path}:3: skipped a malformed row" in caplog.text
    assert f"{path}:5: skipped a malformed row" in caplog.text
    assert "unfinished last line" in caplog.text


async def test_a_checkpoint_repairs_a_book_after_lost_rows(tmp_path: Path) -> None:
    history = make_recording(tmp_path, steps=80, checkpoint_every=2.0)
    path = tmp_path / "book_deltas" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    header, rows = read_csv(path)
    kept = [r for i, r in enumerate(rows) if i not in (5, 6, 7)]  # rows lost (edited out by hand)
    path.write_text(",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in kept))
    stats = ReplayStats()
    events = await collect(replay_events(tmp_path, stats=stats))
    assert stats.repaired_books == 1
    assert final_books(events)[("bitfinex", "BTC:USD")] == history[-1][1]


def test_the_control_clock_follows_speed_and_pause() -> None:
    mono = Clock(1000.0)
    ctl = ReplayControl(2.0, origin=AFTERNOON, monotonic=mono)
    assert ctl.clock() == AFTERNOON
    ctl.begin(AFTERNOON)
    mono.advance(1.0)
    assert ctl.clock() == AFTERNOON + 2.0
    ctl.speed = 8.0  # from now on 8x
    mono.advance(0.5)
    assert ctl.clock() == AFTERNOON + 6.0
    ctl.paused = True
    mono.advance(10.0)
    assert ctl.clock() == AFTERNOON + 6.0
    ctl.paused = False
    mono.advance(0.25)
    assert ctl.clock() == AFTERNOON + 8.0
    with pytest.raises(ValueError):
        ctl.speed = -1


async def test_pause_stops_the_events_and_play_resumes_them(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=200)
    ctl = ReplayControl(40.0)  # 20 s of recording in about half a second
    seen: list = []

    async def consume() -> None:
        async for event in replay_events(tmp_path, control=ctl):
            seen.append(event)

    task = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(10):
            while len(seen) < 20:
                await asyncio.sleep(0.01)
        ctl.paused = True
        async with asyncio.timeout(10):
            while not ctl.holding:  # an event already on its way may still come out first
                await asyncio.sleep(0.01)
        frozen = len(seen)
        at = ctl.clock()
        await asyncio.sleep(0.4)  # a window, not a settle: 16 s of recording at 40x, and nothing may come out
        assert len(seen) == frozen and ctl.clock() == at
        ctl.paused = False
        async with asyncio.timeout(10):
            await task
        assert len(seen) > frozen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_speed_zero_is_as_fast_as_possible_and_yields_to_the_loop(tmp_path: Path) -> None:
    make_recording(tmp_path, steps=2000)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        async with asyncio.timeout(20):  # 200 s of recording
            events = [e async for e in replay_events(tmp_path, speed=0)]
    finally:
        task.cancel()
    assert len(events) > 2000 and ticks > 1
