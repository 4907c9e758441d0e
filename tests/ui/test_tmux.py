"""``finx-tui --demo`` in a real terminal (tmux), driven by keys and read back from the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen(session: str, socket: str | None = None) -> str:
    return tmux(*(("-L", socket) if socket else ()), "capture-pane", "-t", session, "-p")


def wait_screen(session: str, predicate, timeout: float = 15.0, socket: str | None = None) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session, socket)
        if predicate(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"screen never matched; last screen:\n{text}")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_demo_in_tmux_switches_pairs_and_quits(tmp_path: Path, size: tuple[int, int]) -> None:
    session = f"finx-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "exit-status"
    bin_dir = Path(sys.executable).parent
    command = (f"PATH={bin_dir}:$PATH TERM=xterm-256color {sys.executable} -m finxtui --demo; "
               f"echo $? > {status}")
    env = dict(os.environ)
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command],
                   check=True, env=env, timeout=10)
    try:
        first = wait_screen(session, lambda s: "BTC:USD" in s and "spread" in s and "DEMO" in s)
        assert "Traceback" not in first
        wait_screen(session, lambda s: "4/4 live" in s)
        tmux("send-keys", "-t", session, "2")
        eth = wait_screen(session, lambda s: "ETH:USD ·" in s or "· ETH:USD" in s)
        assert "BTC:USD ·" not in eth
        tmux("send-keys", "-t", session, "b")
        wait_screen(session, lambda s: "BitMEX · ETH:USD" in s)
        tmux("send-keys", "-t", session, "]")
        wait_screen(session, lambda s: "BitMEX · SOL:USD" in s)
        tmux("send-keys", "-t", session, "?")
        wait_screen(session, lambda s: "Keys" in s and "next pair in the watchlist" in s and "pair.next" in s)
        tmux("send-keys", "-t", session, "Escape")
        wait_screen(session, lambda s: "next pair in the watchlist" not in s)
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status.read_text().strip() == "0"
    finally:
        tmux("kill-session", "-t", session)


def test_first_run_without_keys_at_100x30_against_the_simulator(tmp_path: Path) -> None:
    """The most common first look: no key set, the real command against `finx-tui sim`, in a real terminal."""
    sim = subprocess.Popen([sys.executable, "-m", "finxtui", "sim", "--port", "0"], stdout=subprocess.PIPE,
                           text=True)
    # A tmux server of its own: a session on a shared server can take another client's size (80x24).
    socket = f"finx-{uuid.uuid4().hex[:8]}"
    session = "first-run"

    def own(*args: str) -> str:
        return tmux("-L", socket, *args)

    try:
        assert sim.stdout is not None
        base = sim.stdout.readline().rsplit(" ", 1)[-1].strip()  # "... on ws://127.0.0.1:PORT"
        assert base.startswith("ws://127.0.0.1:"), base
        endpoints = " ".join(f"--endpoint {s}={base}/{s}" for s in ("finx", "bitfinex", "bitmex", "finazon"))
        # COLUMNS and LINES (set in pytest workers) would override the terminal's own size.
        unset = "-u FINX_API_KEY -u FINAZON_API_KEY -u BITMEX_API_KEY -u BITMEX_API_SECRET -u COLUMNS -u LINES"
        command = f"env {unset} TERM=xterm-256color {sys.executable} -m finxtui {endpoints}"
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command],
                       check=True, env=dict(os.environ), timeout=10)
        shown = wait_screen(session, lambda s: "2/2 live · 2 off" in s and "finx off (FINX_API_KEY)" in s
                            and "finazon off (FINAZON_API_KEY)" in s and "off · set BITMEX_API_KEY" in s
                            and "off · set FINX_API_KEY" in s, socket=socket)
        assert "error" not in shown.lower() and "Feed error" not in shown, shown
        lines = shown.splitlines()
        assert all(len(line) <= 100 for line in lines) and len(lines) <= 30
        own("send-keys", "-t", session, "q")
    finally:
        own("kill-server")
        sim.terminate()
        sim.wait(timeout=10)
