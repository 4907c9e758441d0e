"""A team on one server over SSH: each person's key runs the monitor on the hub and nothing else.

Real parts only: ``finx-tui sim`` (the venues), ``nats-server -js``, ``finx-tui hub`` and an OpenSSH ``sshd``, each
on a free loopback port; two people log in with ``ssh -tt`` inside tmux, as the README's recipe sets up. Both screens
must show a live, moving book while the simulator counts the hub's connections only: one per venue, however many
people watch.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.e2e.sshd import SshServer, missing
from tests.hub.conftest import NATS_SERVER, NO_NATS, NatsServer, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
    pytest.mark.skipif(NATS_SERVER is None, reason=NO_NATS),
]

VENUES = ("finx", "bitfinex", "bitmex", "finazon")
# A ladder row: price, size, cumulative size (the depth panel at 120x40).
LADDER_ROW = re.compile(r"│ (\d{1,3}(?:,\d{3})*\.\d)\s+\d+\.\d+\s+\d+\.\d+")


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def _ladder(screen: str) -> list[str]:
    return LADDER_ROW.findall(screen)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    """``finx-tui sim`` in its own process (so it counts only the hub's connections); yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "finxtui", "sim", "--port", "0", "--seed", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().rsplit(" on ", 1)[1].strip()
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _connections(base: str) -> dict[str, int]:
    with connect(f"{base}/control", open_timeout=10) as ws:
        ws.send(json.dumps({"op": "stats"}))
        reply = json.loads(ws.recv(timeout=10))
    assert reply["ok"], reply
    return dict(reply["result"]["connections"])


def _http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return dict(json.load(resp))


def test_two_people_over_ssh_share_one_hub(tmp_path: Path, simulator: str) -> None:
    why = missing()
    if why:
        pytest.skip(why)
    home = Path(os.environ["HOME"])  # the isolated home of tests/conftest.py
    nats = NatsServer(tmp_path / "js").start()
    http_port = free_port()
    endpoints = [arg for v in VENUES for arg in ("--endpoint", f"{v}={simulator}/{v}")]
    hub = subprocess.Popen([sys.executable, "-m", "finxtui", "hub", "--nats", nats.url,
                            "--http", f"127.0.0.1:{http_port}", *endpoints],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sessions: list[str] = []
    try:
        def hub_live() -> bool:
            try:
                status = _http_json(f"http://127.0.0.1:{http_port}/status")
            except OSError:
                return False
            states = {s["source"]: s["state"] for s in status["sources"]}
            return states.get("bitfinex") == "live" and states.get("bitmex") == "live"

        _wait(hub_live, 30, "the hub to be live on bitfinex and bitmex")
        alone = _connections(simulator)
        assert alone["bitfinex"] == 1 and alone["bitmex"] == 1, alone

        # What the README's authorized_keys line runs: the monitor on the hub, with this test's own home.
        monitor = ["env", f"HOME={home}", f"XDG_CONFIG_HOME={home / 'config'}", f"XDG_STATE_HOME={home / 'state'}",
                   f"XDG_CACHE_HOME={home / 'cache'}", f"XDG_DATA_HOME={home / 'data'}",
                   sys.executable, "-m", "finxtui", "--hub", nats.url]
        with SshServer(tmp_path / "ssh", monitor) as sshd:
            for person in ("alice", "bob"):
                session = f"finx-ssh-{person}-{uuid.uuid4().hex[:6]}"
                done = tmp_path / f"{person}.exit"
                command = f"TERM=xterm-256color {shlex.join(sshd.client_argv())}; echo $? > {done}"
                subprocess.run(["tmux", "-L", session, "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                                command], check=True, timeout=10)
                sessions.append(session)

            def screen(session: str) -> str:
                return _tmux("-L", session, "capture-pane", "-t", session, "-p")

            for session in sessions:
                first = str(_wait(lambda s=session: (lambda t: t if len(_ladder(t)) >= 10 and "HUB" in t else "")(
                    screen(s)), 45, f"a live book on {session}'s screen"))
                assert "Traceback" not in first
                assert "● hub" in first, first
                before = _ladder(first)
                _wait(lambda s=session, b=before: _ladder(screen(s)) and _ladder(screen(s)) != b, 30,
                      f"the book on {session}'s screen to move")

            # Two people watch; the venues still see the hub alone.
            assert _connections(simulator) == alone

            for session in sessions:
                _tmux("-L", session, "send-keys", "-t", session, "q")
            for person in ("alice", "bob"):
                done = tmp_path / f"{person}.exit"
                _wait(done.exists, 20, f"{person}'s ssh session to end")
                assert done.read_text().strip() == "0", f"{person}'s session ended with {done.read_text()}"
    finally:
        for session in sessions:
            _tmux("-L", session, "kill-server")
        hub.terminate()
        try:
            out, _ = hub.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            hub.kill()
            out, _ = hub.communicate(timeout=10)
        nats.stop()
    assert "Traceback" not in out, out
