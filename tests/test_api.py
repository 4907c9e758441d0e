"""The public Python API: the README's example runs as written, and each kind of source opens."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from finxtui.api import open_source
from finxtui.config import Config

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    text = README.read_text()
    marker = text.index("<!-- api-example")
    match = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert match, "the README's API example block"
    return match.group(1)


def test_the_readme_example_runs_as_written() -> None:
    out = subprocess.run([sys.executable, "-c", readme_example()], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"BTC:USD bid \(([\d.]+), ([\d.]+)\) ask \(([\d.]+), ([\d.]+)\)", line)
    assert match, line
    assert float(match.group(1)) < float(match.group(3)), "bid below ask"


async def test_a_recording_opens_by_path_and_by_name(tmp_path: Path) -> None:
    from tests.record.helpers import make_recording

    rec = tmp_path / "rec"
    make_recording(rec, steps=20)
    for where in (rec, f"replay:{rec}"):
        async with open_source(where, config=Config()) as source:
            events = [event async for event in source]
        assert events and source.kind == "replay"


async def test_an_unknown_source_is_named() -> None:
    with pytest.raises(ValueError, match="unknown source 'kraken'"):
        async with open_source("kraken", config=Config()):
            pass
    with pytest.raises(ValueError, match="nats://"):
        async with open_source("http://127.0.0.1:1", config=Config()):
            pass
