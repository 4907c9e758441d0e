"""``benchmarks/hub_fanout.py`` still runs end to end in its smallest configuration (no time or rate asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub.conftest import NATS_SERVER, NO_NATS

SCRIPT = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "hub_fanout.py"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_hub_fanout_benchmark_runs(tmp_path: Path) -> None:
    if NATS_SERVER is None:
        pytest.skip(NO_NATS)
    out = tmp_path / "hub_fanout.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--clients", "1", "--seconds", "1", "--warm", "1.5",
                           "--rate", "500", "--json", str(out)], capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["benchmark"] == "hub_fanout" and len(data["rows"]) == 1
    row = data["rows"][0]
    assert row["hub"]["connections"]["bitfinex"] == 1, "one upstream connection, whatever the readers"
    assert row["hub"]["events_per_reader"] > 0 and row["hub"]["rejected"] == 0
    assert "## hub_fanout" in proc.stdout
