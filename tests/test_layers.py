"""Nothing below the UI loads textual, even at run time (DESIGN.md, The house).

``lint-imports`` (run by ``.ci/run``, contracts in pyproject.toml) checks every arrow statically; this checks
what importing the core really loads, so a plugin or a re-export cannot pull the UI in behind its back.
"""

from __future__ import annotations

import subprocess
import sys

# Everything but the UI itself. The commands import the UI only inside the function that runs it.
CORE = ("finxtui.model", "finxtui.wire", "finxtui.config", "finxtui.logs", "finxtui.feeds", "finxtui.sim",
        "finxtui.record", "finxtui.sources", "finxtui.hub", "finxtui.commands", "finxtui.cli")

SCRIPT = f"""
import importlib, pkgutil, sys
for name in {CORE!r}:
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(",".join(loaded) or "none")
"""


def test_the_core_never_loads_textual() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none", f"textual or rich loaded by the core: {out.stdout}"
