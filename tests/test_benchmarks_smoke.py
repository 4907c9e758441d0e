"""Each benchmark script still runs end to end, in its smallest configuration.

This only guards the scripts against rot (an app or feed change that breaks their instrumentation). It
asserts no time and no rate: speed is measured by ``python benchmarks/run_all.py``, never by the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

SMALLEST = {
    "startup": ["--runs", "1"],
    "ingest": ["--rounds", "1", "--seconds", "0.3", "--frames", "2000", "--skip", "200",
               "--configs", "bitmex-1", "bitfinex-1"],
    "ui_load": ["--rounds", "1", "--rates", "2000", "--seconds", "1", "--warm", "0.5", "--render-rounds", "1",
                "--render-cycles", "2"],
    "idle": ["--seconds", "1", "--settle", "0.5"],
    "paint_floor": ["--seconds", "0.5", "--lines", "1", "5"],
    "memory": ["--minutes", "0.02", "--every", "0.5"],
}


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", list(SMALLEST))
def test_benchmark_runs(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), "--json", str(out), *SMALLEST[name]],
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["benchmark"] == name
    assert f"## {name}" in proc.stdout  # the Markdown table was printed
