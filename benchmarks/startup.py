"""startup: from launching ``finx-tui --demo`` to the first painted order book, on a real terminal.

Each run starts ``python -m finxtui --demo`` as a new process on a pseudo-terminal of 120x40
(``TERM=xterm-256color``, a throw-away config and log directory) and reads what it draws. The clock starts
just before the process is spawned; "first output" is the first byte the app writes, "first screen" the first
frame that shows the header, and "first book" the first frame whose ladder shows a spread line, which the
ladder draws only once it holds a book. Then ``q`` quits it. Medians over the runs.

    python benchmarks/startup.py [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import TREE, machine, median, publish, verdict

COLS, ROWS = 120, 40


def one_run(timeout: float) -> dict[str, float]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    home = tempfile.mkdtemp(prefix="finx-startup-")
    env = {**os.environ, "PYTHONPATH": str(TREE), "TERM": "xterm-256color", "COLORTERM": "truecolor", "HOME": home,
           "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
           "XDG_CACHE_HOME": f"{home}/cache", "XDG_DATA_HOME": f"{home}/data"}
    for var in ("BITMEX_API_KEY", "BITMEX_API_SECRET", "FINX_API_KEY", "FINAZON_API_KEY", "TEXTUAL"):
        env.pop(var, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "finxtui", "--demo"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=TREE, env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    marks: dict[str, float] = {}
    seen = b""
    try:
        deadline = t0 + timeout
        while "book" not in marks and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                break
            now = time.perf_counter() - t0
            marks.setdefault("output", now)
            seen = seen[-4096:] + data
            if "screen" not in marks and b"finx-tui" in seen:
                marks["screen"] = now
            if b"spread " in seen:
                marks["book"] = now
        if "book" in marks:
            # Time to a clean exit, for the record (the user presses q).
            os.write(master, b"q")
            t_q = time.perf_counter()
            end = t_q + 10
            while proc.poll() is None and time.perf_counter() < end:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        os.read(master, 1 << 16)
                    except OSError:
                        break
            if proc.poll() is not None:
                marks["quit"] = time.perf_counter() - t_q
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        os.close(master)
    return marks


def bench(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for _ in range(args.runs):
        runs.append(one_run(args.timeout))
        time.sleep(0.3)
    ok = [r for r in runs if "book" in r]
    return {"benchmark": "startup", "runs": runs, "completed": len(ok),
            "output_s": median(r["output"] for r in ok), "screen_s": median(r.get("screen", float("nan")) for r in ok),
            "book_s": median(r["book"] for r in ok), "book_max_s": max((r["book"] for r in ok), default=float("nan")),
            "quit_s": median(r["quit"] for r in ok if "quit" in r)}


def report(data: dict[str, Any]) -> str:
    return ("| runs | first output | first screen | **first book painted** (worst) | quit after q | target < 1.5 s |\n"
            "|---|---|---|---|---|---|\n"
            f"| {data['completed']}/{len(data['runs'])} | {data['output_s']:.2f} s | {data['screen_s']:.2f} s | "
            f"**{data['book_s']:.2f} s** ({data['book_max_s']:.2f} s) | {data['quit_s']:.2f} s | "
            f"{verdict(data['book_s'] < 1.5 and data['completed'] == len(data['runs']))} |")


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("first book painted < 1.5 s (demo mode, from launch)", f"{data['book_s']:.2f} s",
             verdict(data["book_s"] < 1.5 and data["completed"] == len(data["runs"])))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="launch to first painted book in demo mode")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = machine()
    data = bench(args)
    publish("startup", info, data, report, args.json)
    return data


if __name__ == "__main__":
    main()
