"""The recorder on its own (no network): every kind round-trips, midnight rollover, restarts, write errors."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from finxtui.model.book import ASK, BID
from finxtui.model.events import (
    Bar,
    ExecutionEvent,
    Instrument,
    Margin,
    OrderEvent,
    Position,
    Status,
    Tick,
    Trade,
)
from finxtui.record.replay import replay_events
from finxtui.record.schema import COLUMNS, decode_key, encode_key, iso, number, parse_file_name
from finxtui.record.writer import Recorder, RecordError
from tests.record.helpers import (
    AFTERNOON,
    BEFORE_MIDNIGHT,
    Clock,
    LiveBook,
    collect,
    final_books,
    read_csv,
    recorded_files,
)

DAY1, DAY2 = "2026-11-22", "2026-11-23"  # either side of BEFORE_MIDNIGHT's midnight


def every_kind(ts: float) -> list:
    """One event of every non-book kind, with awkward values (None, ints, text needing quotes)."""
    return [
        Status("bitmex", "connecting", "ws://127.0.0.1:1/bitmex/realtime", ts),
        Status("bitmex", "error", 'rejected: "bad key",\nretry later', ts, scope="account"),
        Instrument("bitmex", "BTC:USD", "XBTUSD", True, 1.0, "USD", 0.5, 100),
        Instrument("bitmex", "ETH:USD", "ETHUSDT", False, 0.00001, "ETH", None, None),
        Trade("bitfinex", "BTC:USD", 97000.5, 0.125, "buy", ts - 0.01, "1000001"),
        Trade("bitmex", "BTC:USD", 97001, 300, "sell", ts - 0.02, "a,b"),
        Tick("finx", "ETH:USD", 3456.78, "GEMINI", ts - 0.003),
        Bar("finazon", "AAPL", 232.5, 233.0, 232.0, 232.75, 1200.0, 1_795_391_940.0, 60),
        Position("bitmex", "BTC:USD", "XBTUSD", -2500, 96666.5, 97000.0, None, -0.0003, 10, "XBT", -0.0257,
                 None, ts),
        Position("bitmex", None, "XBTH27", 0, None, None, None, None, None, "XBT", 0.0, 0.0001, 0.0),
        Margin("bitmex", "XBT", 0.5, 0.5015, 0.47, 0.0015, ts),
        OrderEvent("bitmex", "BTC:USD", "XBTUSD", "5e9a-1", "buy", 96990.5, 1000, 600, 400, 96990.5,
                   "partially_filled", "Limit", ts),
        OrderEvent("bitmex", None, "XBTH27", "5e9a-2", "sell", None, 200, 0, 0, None, "canceled", "Stop", ts, True),
        ExecutionEvent("bitmex", "BTC:USD", "XBTUSD", "5e9a-1", "e,1", "buy", 96990.5, 400, ts, 600, -4.1e-07,
                       "XBT", "maker"),
        ExecutionEvent("bitmex", None, "XBTH27", "5e9a-3", "e-2", "sell", 97100, 100, ts),
    ]


def test_key_encoding_is_safe_and_reversible() -> None:
    for key in ("BTC:USD", "AAPL", "DOGE:USD", "A-B:C_D", "x/y\\z", "50%", ".hidden", "ÄPFEL:€", "tBTC:F0"):
        name = encode_key(key)
        assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-%")
        assert not name.startswith(".")
        assert decode_key(name) == key
        assert parse_file_name(f"{name}_2026-11-22.csv") == (key, "2026-11-22")
    assert encode_key("BTC:USD") == "BTC-USD"
    for bad in ("BTC-USD.csv", "BTC-USD_2026-13-01.csv", "BTC-USD_2026-11-22.txt", "a b_2026-11-22.csv"):
        with pytest.raises(ValueError):
            parse_file_name(bad)


def test_values_read_back_as_written() -> None:
    assert number("12") == 12 and type(number("12")) is int
    assert number("12.0") == 12.0 and type(number("12.0")) is float
    assert number("-3") == -3 and number("1e-05") == 0.00001 and number("") is None
    assert iso(BEFORE_MIDNIGHT + 0.25) == "2026-11-22T23:59:58.250000Z"


async def test_every_kind_round_trips_through_a_replay(tmp_path: Path) -> None:
    clock = Clock(AFTERNOON)
    rec = Recorder(tmp_path, clock=clock)
    rec.open()
    live = LiveBook()
    sent = []
    for event in every_kind(clock.now):
        rec.record(event)
        sent.append(event)
        clock.advance(0.01)
    rec.record(live.snapshot([(97000.0, 1.5), (96999.5, 2)], [(97001.0, 0.25)], clock.now))
    clock.advance(0.01)
    rec.record(live.delta([(BID, 97000.0, 0), (ASK, 97001.5, 3)], clock.now))
    rec.close()

    for path in recorded_files(tmp_path):
        read_csv(path)  # whole, one header, full rows
    events = await collect(replay_events(tmp_path))
    plain = [e for e in events if not isinstance(e, tuple)]
    # A line break in a text value becomes a space (one row is one line); everything else comes back equal.
    sent[1] = Status("bitmex", "error", 'rejected: "bad key", retry later', sent[1].ts, scope="account")
    assert plain == sent
    assert [e.to_dict() for e in plain] == [e.to_dict() for e in sent]  # the same JSON: ints still ints
    assert [type(e.size) for e in plain if isinstance(e, Trade)] == [float, int]
    assert final_books(events)[("bitfinex", "BTC:USD")] == live.book.top(1000)
    status = (tmp_path / "status" / "bitmex" / "account_2026-11-22.csv").read_text()
    assert "\nretry" not in status and status.count("\n") == 2  # a line break in a detail stays on its row


async def test_midnight_rolls_every_file_and_each_day_stands_alone(tmp_path: Path) -> None:
    clock = Clock(BEFORE_MIDNIGHT + 0.05)
    rec = Recorder(tmp_path / "rec", clock=clock)
    rec.open()
    live = LiveBook()
    rec.record(live.snapshot([(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 3.0)], clock.now))
    price = 100.0
    for i in range(40):  # 0.1 s apart: 19 before midnight, 21 after
        clock.advance(0.1)
        price += 1 if i % 2 else -0.5
        rec.record(live.delta([(BID, price, 1.0 + i), (ASK, price + 5, 0.5)], clock.now))
        rec.record(Trade("bitfinex", "BTC:USD", price, 0.1, "buy", clock.now, str(i)))
    rec.close()

    root = tmp_path / "rec"
    for kind in ("trades", "book_deltas", "book_snapshots"):
        days = sorted(p.name for p in (root / kind / "bitfinex").iterdir())
        assert days == [f"BTC-USD_{DAY1}.csv", f"BTC-USD_{DAY2}.csv"], kind
    for path in recorded_files(root):
        _, rows = read_csv(path)
        day = parse_file_name(path.name)[1]
        assert rows and all(r[0].startswith(day) for r in rows), f"{path}: a row from another day"
    trades = [read_csv(root / "trades" / "bitfinex" / f"BTC-USD_{d}.csv")[1] for d in (DAY1, DAY2)]
    assert [len(t) for t in trades] == [19, 21]
    _, snaps2 = read_csv(root / "book_snapshots" / "bitfinex" / f"BTC-USD_{DAY2}.csv")
    _, deltas2 = read_csv(root / "book_deltas" / "bitfinex" / f"BTC-USD_{DAY2}.csv")
    seq = COLUMNS["book_snapshots"].index("seq")
    assert snaps2[0][COLUMNS["book_snapshots"].index("reason")] == "checkpoint"
    assert snaps2[0][seq] == deltas2[0][COLUMNS["book_deltas"].index("seq")], "checkpoint after the day's 1st update"

    everything = await collect(replay_events(root))
    assert final_books(everything)[("bitfinex", "BTC:USD")] == live.book.top(1000)
    assert [e.trade_id for e in everything if isinstance(e, Trade)] == [str(i) for i in range(40)]

    # A reader given only the second day rebuilds the same book from that day's checkpoint.
    only = tmp_path / "only-day2"
    for path in root.rglob(f"*_{DAY2}.csv"):
        target = only / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    day2 = await collect(replay_events(only))
    assert final_books(day2)[("bitfinex", "BTC:USD")] == live.book.top(1000)


async def test_a_restart_cuts_an_unfinished_row_and_appends_without_a_second_header(tmp_path: Path) -> None:
    clock = Clock(AFTERNOON)
    first = Recorder(tmp_path, clock=clock)
    first.open()
    for i in range(5):
        first.record(Trade("bitfinex", "BTC:USD", 100.0 + i, 1.0, "buy", clock.now, f"a{i}"))
        clock.advance(0.5)
    first.close()
    path = tmp_path / "trades" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    whole = path.read_bytes()
    # What a crash inside a write leaves:
    path.write_bytes(whole + b"2026-11-22T14:30:03.000000Z,1795357803.0,bitfinex,BTC:USD,2026-11-22T14:3")
    torn = tmp_path / "trades" / "bitfinex" / "ETH-USD_2026-11-22.csv"
    torn.write_bytes(b"time,recv_ts,sou")  # killed while writing the header itself

    second = Recorder(tmp_path, clock=clock)
    second.open()
    for i in range(3):
        second.record(Trade("bitfinex", "BTC:USD", 200.0 + i, 1.0, "sell", clock.now, f"b{i}"))
        second.record(Trade("bitfinex", "ETH:USD", 3000.0 + i, 1.0, "sell", clock.now, f"e{i}"))
        clock.advance(0.5)
    second.close()

    assert path.read_bytes().startswith(whole)
    _, rows = read_csv(path)
    assert [r[-1] for r in rows] == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2"]
    _, eth = read_csv(torn)
    assert [r[-1] for r in eth] == ["e0", "e1", "e2"]
    assert len(second.repairs) == 2 and all("interrupted run" in note for note in second.repairs)
    replayed = [e.trade_id for e in await collect(replay_events(tmp_path)) if isinstance(e, Trade)]
    assert sorted(replayed) == sorted(["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "e0", "e1", "e2"])


def test_a_foreign_file_is_refused_not_mixed(tmp_path: Path) -> None:
    path = tmp_path / "trades" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    path.parent.mkdir(parents=True)
    path.write_text("when,price\n1,2\n")
    rec = Recorder(tmp_path, clock=Clock(AFTERNOON))
    rec.open()
    with pytest.raises(RecordError, match="other columns"):
        rec.record(Trade("bitfinex", "BTC:USD", 1.0, 1.0, "buy", 1.0))
    rec.close()
    assert path.read_text() == "when,price\n1,2\n"


def test_a_full_disk_is_an_error_at_once_and_leaves_whole_lines(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky_write(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] <= 2:  # the header and the first batch go through
            return os.write(fd, data)
        if calls["n"] == 3:  # then the disk fills up in the middle of a batch
            return os.write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    clock = Clock(AFTERNOON)
    rec = Recorder(tmp_path, clock=clock, write=flaky_write)
    rec.open()
    rec.record(Trade("bitfinex", "BTC:USD", 1.0, 1.0, "buy", clock.now, "t0"))
    rec.write()
    for i in range(1, 50):
        rec.record(Trade("bitfinex", "BTC:USD", 1.0 + i, 1.0, "buy", clock.now, f"t{i}"))
    with pytest.raises(RecordError, match=r"No space left on device \(disk full\)") as caught:
        rec.write()
    assert "BTC-USD_2026-11-22.csv" in str(caught.value)
    path = tmp_path / "trades" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    _, rows = read_csv(path)  # cut back to the last whole line
    assert [r[-1] for r in rows] == ["t0"]


def test_an_unwritable_place_fails_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(RecordError, match=r"cannot create .*rec: Not a directory"):
        Recorder(blocker / "rec").open()
    with pytest.raises(RecordError, match="not a directory"):
        Recorder(blocker).open()


def test_two_recorders_never_share_a_directory(tmp_path: Path) -> None:
    one = Recorder(tmp_path)
    one.open()
    with pytest.raises(RecordError, match="another 'finx-tui record'"):
        Recorder(tmp_path).open()
    one.close()
    again = Recorder(tmp_path)
    again.open()  # the lock goes with the recorder
    again.close()


def test_secrets_never_reach_a_file(tmp_path: Path) -> None:
    key = "PLANTEDsecretKEY12345"
    rec = Recorder(tmp_path, clock=Clock(AFTERNOON), secrets=[key])
    rec.open()
    rec.record(Status("finx", "error", f"refused ws://h/finx/streaming/{key}/BTC:USD?apikey={key}", 1.0))
    rec.close()
    text = "".join(p.read_text() for p in recorded_files(tmp_path))
    assert key not in text and "***" in text


def test_big_buffers_are_written_before_the_timer(tmp_path: Path) -> None:
    clock = Clock(AFTERNOON)
    rec = Recorder(tmp_path, clock=clock, buffer_limit=4096)
    rec.open()
    live = LiveBook()
    rec.record(live.snapshot([(100.0, 1.0)], [(101.0, 1.0)], clock.now))
    for i in range(300):
        rec.record(live.delta([(BID, 90.0 + i / 100, 1.0)], clock.now))
    path = tmp_path / "book_deltas" / "bitfinex" / "BTC-USD_2026-11-22.csv"
    on_disk = path.read_bytes()
    assert on_disk.count(b"\n") > 50 and on_disk.endswith(b"\n")  # written without write(), in whole lines
    rec.close()
    assert len(read_csv(path)[1]) == 300
