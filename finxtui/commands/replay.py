"""``finx-tui replay DIR``: the monitor on a recording, with a REPLAY mark, pause and speed keys."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from finxtui.commands.tui import run_app
from finxtui.config import Config
from finxtui.record.replay import Recording, ReplayError
from finxtui.sources import ReplaySource


def replay_config(cfg: Config, recording: Recording) -> Config:
    """The user's config with the recording's pairs as the watchlist (theirs first, in their order)."""
    recorded = [p for p in recording.pairs() if p in cfg.pairs]
    if not recorded:
        return cfg
    ordered = [p for p in cfg.watchlist if p in recorded] + [p for p in recorded if p not in cfg.watchlist]
    default = cfg.default_pair if cfg.default_pair in ordered else ordered[0]
    return replace(cfg, watchlist=tuple(ordered), default_pair=default)


def run_replay(cfg: Config, args: argparse.Namespace) -> int:
    try:
        source = ReplaySource(Path(args.dir), speed=args.speed, start=args.start)
    except ReplayError as exc:
        print(f"finx-tui replay: {exc}", file=sys.stderr)
        return 2
    return run_app(replay_config(cfg, source.recording), source)
