"""``finx-tui`` (the monitor on the venues, or on the embedded simulator with ``--demo``).

Textual is imported only once the colour system is settled: it reads ``TEXTUAL_COLOR_SYSTEM`` on import.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from finxtui.config import Config
from finxtui.sources import DemoSource, HubSource, LiveSource, Source
from finxtui.sources.account import HubWithAccount

COLOR_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard"}


def run_app(cfg: Config, source: Source, *, mouse: bool = True, log_path: Path | None = None) -> int:
    """Run the monitor on ``source`` until the user quits; the exit code."""
    if cfg.color in COLOR_SYSTEMS:
        os.environ["TEXTUAL_COLOR_SYSTEM"] = COLOR_SYSTEMS[cfg.color]
    from finxtui.config import ConfigError
    from finxtui.ui.app import FinxApp

    try:
        app = FinxApp(cfg, source)
    except ConfigError as exc:  # a [keys] line the app cannot bind: say which, before the screen is taken
        print(f"finx-tui: {exc}", file=sys.stderr)
        return 2
    result = app.run(mouse=mouse)
    if app.return_code and log_path:
        print(f"finx-tui: see the log: {log_path}", file=sys.stderr)
    return int(result or app.return_code or 0)


def hub_source(cfg: Config, servers: str) -> Source:
    """The monitor's source on a hub: market data from it; with BitMEX keys, the account from BitMEX itself."""
    hub = HubSource(servers, cfg)
    return HubWithAccount(hub, cfg) if cfg.credentials.bitmex and "bitmex" in hub.venues else hub


def run_tui(cfg: Config, args: argparse.Namespace, log_path: Path | None = None) -> int:
    """The monitor on the venues of ``cfg``, on a hub with ``--hub``, or with ``--demo`` on the simulator."""
    source: Source
    if getattr(args, "hub", None):
        source = hub_source(cfg, args.hub)
    else:
        source = DemoSource(cfg, seed=args.seed, rate=args.rate) if args.demo else LiveSource(cfg)
    return run_app(cfg, source, mouse=not args.no_mouse, log_path=log_path)
