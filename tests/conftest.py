"""Shared fixtures: an isolated home for config and logs, and simulators on loopback."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

import pytest

from finxtui.sim.server import Simulator

CAPTURES = os.path.join(os.path.dirname(__file__), "fixtures", "captures")
_CREDENTIAL_VARS = ("BITMEX_API_KEY", "BITMEX_API_SECRET", "FINX_API_KEY", "FINAZON_API_KEY")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the developer's own config, logs or keys."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    for var in _CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True)
def restored_logging():
    """A test that sets up the app's logging (handlers, no propagation) leaves it as it found it, so a later test
    in the same worker still sees the records through ``caplog``."""
    log = logging.getLogger("finxtui")
    saved = (list(log.handlers), log.propagate, log.level)
    yield
    for handler in list(log.handlers):
        if handler not in saved[0]:
            log.removeHandler(handler)
            handler.close()
    log.handlers[:] = saved[0]
    log.propagate, log.level = saved[1], saved[2]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A seeded simulator at its default rate on a free loopback port."""
    async with Simulator(seed=11) as s:
        yield s


@pytest.fixture
async def paused_sim() -> AsyncIterator[Simulator]:
    """A seeded simulator that moves only when the test calls ``step``."""
    async with Simulator(seed=11, rate=0) as s:
        yield s
