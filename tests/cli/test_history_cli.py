"""``finx-tui history`` as a user runs it: a subprocess against the embedded simulator (or one on loopback)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from finxtui.sim.credentials import DEMO_FINX_KEY
from finxtui.sim.server import Simulator

TIMEOUT = 30
PAST_DAY = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()  # before the simulator's anchor: fixed data
TICK_KEYS = ["type", "source", "pair", "price", "exchange", "ts", "date", "time"]
TIME_RE = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3}Z")
BAD_KEY = "wrong-finx-key-0042"


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "FINX_API_KEY"}
    out.update(extra)
    return out


def history(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "finxtui", "history", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env(**extra_env))


async def history_async(*args: str, **extra_env: str) -> tuple[int, str, str]:
    """The same, without blocking the event loop (for a simulator running in this test)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "finxtui", "history", *args,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(**extra_env))
    async with asyncio.timeout(TIMEOUT):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def json_rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def expected_day(pair: str, day: str) -> list[tuple[float, str, float]]:
    """The day the demo simulator (seed 7) serves, from a simulator of the same seed: past days depend only on
    (seed, pair, day)."""
    async def rows() -> list[dict[str, str]]:
        async with Simulator(seed=7, rate=0) as sim:
            return sim.finx.history.rows(pair, date.fromisoformat(day))

    return [(datetime.fromisoformat(f"{r['date']}T{r['time'][:-1]}+00:00").timestamp(), r["exchange"],
             float(r["price"])) for r in asyncio.run(rows())]


def one_line_error(result: subprocess.CompletedProcess[str] | tuple[int, str, str]) -> str:
    err = result.stderr if isinstance(result, subprocess.CompletedProcess) else result[2]
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_one_request_prints_at_most_1000_ticks_sorted_as_json_lines() -> None:
    result = history("BTC:USD", "--demo", "--date", PAST_DAY)
    assert result.returncode == 0, result.stderr
    rows = json_rows(result.stdout)
    assert len(rows) == 1000
    for row in rows:
        assert list(row) == TICK_KEYS
        assert row["type"] == "tick" and row["source"] == "finx" and row["pair"] == "BTC:USD"
        assert type(row["price"]) is float and type(row["ts"]) is float and row["price"] > 0
        assert row["date"] == PAST_DAY and TIME_RE.fullmatch(row["time"])
        at = datetime.fromisoformat(f"{row['date']}T{row['time'][:-1]}+00:00")
        assert abs(at.timestamp() - row["ts"]) < 1e-6
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    expected = expected_day("BTC:USD", PAST_DAY)
    assert [(r["ts"], r["exchange"], r["price"]) for r in rows] == expected[:1000]
    assert DEMO_FINX_KEY not in result.stdout + result.stderr


def test_all_pages_through_the_whole_day_and_csv_says_the_same() -> None:
    as_json = history("ETH:USD", "--demo", "--date", PAST_DAY, "--all")
    as_csv = history("ETH:USD", "--demo", "--date", PAST_DAY, "--all", "--format", "csv")
    assert as_json.returncode == 0 and as_csv.returncode == 0, as_json.stderr + as_csv.stderr
    rows = json_rows(as_json.stdout)
    assert len(rows) > 1000
    got = [(r["ts"], r["exchange"], r["price"]) for r in rows]
    assert got == expected_day("ETH:USD", PAST_DAY)  # every tick of the day once, oldest first
    table = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert table[0] == ["ts", "date", "time", "pair", "exchange", "price"]
    assert [(float(ts), ex, float(p)) for ts, _, _, _, ex, p in table[1:]] == got
    assert [(d, t, pair) for _, d, t, pair, _, _ in table[1:]] == [(r["date"], r["time"], "ETH:USD") for r in rows]
    assert DEMO_FINX_KEY not in as_json.stdout + as_json.stderr + as_csv.stdout + as_csv.stderr


def test_time_keeps_only_later_ticks() -> None:
    result = history("SOL:USD", "--demo", "--date", PAST_DAY, "--time", "23:30", "--format", "csv")
    assert result.returncode == 0, result.stderr
    table = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert 0 < len(table) < 1000
    assert all(t > "23:30:00.000Z" for _, _, t, _, _, _ in table)
    assert table == sorted(table, key=lambda r: float(r[0]))


@pytest.mark.parametrize(("flag", "value"), [("--date", "2024-02-30"), ("--date", "21/11/2026"),
                                             ("--time", "25:00"), ("--time", "noon")])
def test_malformed_date_or_time_is_a_usage_error(flag: str, value: str) -> None:
    result = history("BTC:USD", "--demo", flag, value)
    assert result.returncode == 2 and result.stdout == ""
    line = one_line_error(result)
    assert flag in line and value in line and ("YYYY-MM-DD" in line or "HH:MM" in line)


def test_no_key_says_which_variable_to_set() -> None:
    result = history("BTC:USD", "--date", PAST_DAY, "--endpoint", "ws://127.0.0.1:9/finx")
    assert result.returncode == 1 and result.stdout == ""
    assert "FINX_API_KEY" in one_line_error(result)


def test_unreachable_endpoint_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    result = history("BTC:USD", "--date", PAST_DAY, "--endpoint", f"ws://127.0.0.1:{port}/finx",
                     FINX_API_KEY=BAD_KEY)
    assert result.returncode == 1 and result.stdout == ""
    line = one_line_error(result)
    assert "cannot reach FinX" in line and "connection refused" in line and BAD_KEY not in line


async def test_a_refused_key_names_the_variable_and_is_never_printed(sim: Simulator) -> None:
    code, out, err = await history_async("BTC:USD", "--date", PAST_DAY, "--endpoint", sim.base_url("finx"),
                                         FINX_API_KEY=BAD_KEY)
    assert code == 1 and out == ""
    line = one_line_error((code, out, err))
    assert "rejected the API key" in line and "FINX_API_KEY" in line and BAD_KEY not in line
    # The key from the environment works against the same venue, and is not printed either.
    code, out, err = await history_async("BTC:USD", "--date", PAST_DAY, "--endpoint", sim.base_url("finx"),
                                         FINX_API_KEY=DEMO_FINX_KEY)
    assert code == 0 and len(out.splitlines()) == 1000
    assert DEMO_FINX_KEY not in out + err
