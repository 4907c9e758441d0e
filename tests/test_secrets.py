"""Planted keys never show up anywhere the product writes: stdout, stderr, log files, screenshots, statuses,
exception text or process arguments. And the BitMEX key only ever reads: no order is ever sent."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from finxtui.config import Config, Credentials
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.server import Simulator
from finxtui.sources import LiveSource
from finxtui.sources.demo import demo_config
from finxtui.ui.app import FinxApp
from tests.ui.helpers import all_live, wait_for

PLANTED = SimCredentials(bitmex_key="PLANTEDbitmexKEY00000001", bitmex_secret="PLANTED-bitmex-SECRET-0123456789abcdef",
                         finx_key="PLANTED-finx-KEY-7777", finazon_key="PLANTED-finazon-KEY-8888")
SECRETS = (PLANTED.bitmex_key, PLANTED.bitmex_secret, PLANTED.finx_key, PLANTED.finazon_key)


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} contains a planted secret"


def all_files_text(root: Path) -> str:
    out = []
    for path in root.rglob("*"):
        if path.is_file():
            out.append(path.read_text(errors="replace"))
    return "\n".join(out)


@pytest.fixture
async def planted_sim():
    async with Simulator(seed=5, credentials=PLANTED) as sim:
        yield sim


@pytest.mark.parametrize("source", ["bitmex", "finx", "finazon", "bitfinex"])
async def test_tail_with_real_sessions_leaks_nothing(planted_sim: Simulator, isolated_home: Path,
                                                     source: str) -> None:
    env = dict(os.environ, **PLANTED.as_client_env())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "finxtui", "tail", source, "--endpoint", planted_sim.base_url(source),
        "--seconds", "3", "--log-level", "DEBUG", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env)
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 30)  # the session is under way: read its arguments now
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    out = first + out
    assert proc.returncode == 0, err.decode()
    assert "tail" in cmdline and planted_sim.base_url(source) in cmdline, "read while the process ran"
    assert_clean(cmdline, "the process arguments")
    assert_clean(out.decode(), "stdout")
    assert_clean(err.decode(), "stderr")
    logs = all_files_text(isolated_home / "state")
    assert "finxtui" in logs, "the run wrote a log file"
    assert_clean(logs, "the log files")
    if source == "bitmex":
        assert '"type":"position"' in out.decode(), "the planted key really authenticated"


async def test_the_monitor_leaks_nothing_and_never_trades(planted_sim: Simulator, isolated_home: Path,
                                                          tmp_path: Path) -> None:
    from finxtui.logs import setup_logging

    cfg = demo_config(Config(), planted_sim)
    assert cfg.credentials == Credentials(finx_key=PLANTED.finx_key, bitmex_key=PLANTED.bitmex_key,
                                          bitmex_secret=PLANTED.bitmex_secret, finazon_key=PLANTED.finazon_key)
    setup_logging("DEBUG", secrets=cfg.credentials.secrets(), stderr_level=None)
    app = FinxApp(cfg, LiveSource(cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: all_live(app), timeout=15)
        await wait_for(pilot, lambda: app.state.positions, timeout=10)
        await pilot.press("r")  # reconnect everything once: authentication runs again
        await wait_for(pilot, lambda: all_live(app), timeout=15)
        svg = app.export_screenshot()
        statuses = [f"{h.state} {h.detail} {h.account_detail}" for h in app.state.health.values()]
    assert_clean(svg, "a screenshot")
    assert_clean(repr(cfg) + str(cfg.credentials), "the config's repr")
    assert_clean("\n".join(statuses), "status details")
    assert_clean(all_files_text(isolated_home / "state"), "the log files")
    ops = {op for venue, op in planted_sim.client_ops if venue == "bitmex"}
    assert ops <= {"subscribe", "unsubscribe", "authKeyExpires"}, f"the BitMEX client sent {ops}"
    assert "authKeyExpires" in ops


async def test_rejected_keys_are_reported_without_the_key(planted_sim: Simulator) -> None:
    from finxtui.feeds.finx import FinxAuthError, FinxClient

    wrong = "WRONG-finx-KEY-not-planted-1234"
    with pytest.raises(FinxAuthError) as info:
        async with FinxClient(planted_sim.base_url("finx"), wrong) as client:
            await client.authenticate()
    assert wrong not in str(info.value) and "FINX_API_KEY" in str(info.value)
