"""The core never imports textual: model, feeds, sim and record work without the UI (DESIGN.md, The house)."""

from __future__ import annotations

import subprocess
import sys

CORE = ("finxtui.model", "finxtui.feeds", "finxtui.sim", "finxtui.record", "finxtui.config", "finxtui.tail",
        "finxtui.history", "finxtui.demo", "finxtui.logs")

SCRIPT = f"""
import importlib, pkgutil, sys
for name in {CORE!r}:
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(",".join(loaded) or "none")
"""


def test_core_modules_never_import_textual() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none", f"textual imported by the core: {out.stdout}"


def test_ui_is_the_only_textual_importer() -> None:
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "finxtui"
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] == "ui" or rel.name == "cli.py":
            continue
        for line in path.read_text().splitlines():
            if line.lstrip().startswith(("import textual", "from textual")):
                offenders.append(str(rel))
    assert offenders == []
