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


# A monitor on the venues or the demo, tail, record and the Python API: none of them needs NATS unless pointed
# at a hub, and nats-py (with aiohttp under it) was a third of the monitor's start-up.
WITHOUT_HUB = ("finxtui.cli", "finxtui.commands.tui", "finxtui.commands.tail", "finxtui.commands.record",
               "finxtui.api", "finxtui.sources", "finxtui.ui.app")

HUB_LOADED = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(",".join(sorted(m for m in ("nats", "aiohttp") if m in sys.modules)) or "none")
"""


def loaded_for(*modules: str) -> str:
    out = subprocess.run([sys.executable, "-c", HUB_LOADED, *modules], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_monitor_without_a_hub_never_loads_nats() -> None:
    assert loaded_for(*WITHOUT_HUB) == "none"
    assert loaded_for("finxtui.hub.publisher") == "aiohttp,nats"  # the check sees them when they are loaded
