"""Command line: the TUI (default), sim, tail, history, record, replay.

The flags and output shapes here are a contract outside tests rely on (DESIGN.md, command-line contract).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finxtui import __version__
from finxtui.wire.venues import SOURCES


def _rate(text: str) -> float:
    if text.lower() in ("max", "inf"):
        return math.inf
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the rate is a number of book updates a second, 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finx-tui",
        description="Keyboard-driven terminal market monitor: live ticks, order-book depth, tick history "
                    "and BitMEX positions. With no command it opens the monitor.",
    )
    parser.add_argument("--version", action="version", version=f"finx-tui {__version__}")
    parser.add_argument("--pair", default=None, help="pair to show first (default: the config's default_pair)")
    parser.add_argument("--color", choices=("auto", "truecolor", "256", "16"), default=None,
                        help="colour system; over SSH 'auto' usually means 256 (default: auto)")
    parser.add_argument("--theme", default=None, metavar="NAME",
                        help="colour preset: dark (default), light, or any Textual theme (nord, gruvbox, ...)")
    parser.add_argument("--updown", choices=("green-red", "blue-orange"), default=None,
                        help="colours of rises and falls; blue-orange is colour-blind safe (default green-red)")
    parser.add_argument("--slow-link", action="store_true", help="halve every redraw rate (slow SSH links)")
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument("--rate", type=_rate, default=None, help="with --demo: simulated book updates a second")
    _data_options(parser, single=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sim = sub.add_parser("sim", help="run the embedded exchange (all four protocols on one port)",
                         description="Serve the simulated FinX, Bitfinex, BitMEX and Finazon protocols on one "
                                     "port until interrupted.")
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    sim.add_argument("--seed", type=int, default=7, help="market seed: the same seed gives the same market")
    sim.add_argument("--rate", type=_rate, default=None,
                     help="total book updates a second (default about 50 a pair; 'max' for benchmarks)")
    sim.add_argument("--chaos", type=float, default=0.0, metavar="SECONDS",
                     help="inject a random fault every SECONDS on average (default off)")
    sim.add_argument("--log-level", default="WARNING", help="simulator log level (default WARNING)")
    sim.set_defaults(func=cmd_sim)

    tail = sub.add_parser("tail", help="print every normalized event of one source as JSON lines",
                          description="Print one JSON object per line for every normalized event of SOURCE "
                                      "(book, trade, tick, bar, position, margin, status).")
    tail.add_argument("source", choices=SOURCES, help="which venue")
    tail.add_argument("--pair", action="append", default=[], metavar="PAIR",
                      help="pair to follow (repeatable; default: the watchlist pairs the venue lists)")
    tail.add_argument("--depth", type=_positive_int, default=10, help="book levels per side to print (default 10)")
    tail.add_argument("--count", type=_positive_int, default=None, help="exit after N events")
    tail.add_argument("--seconds", type=_positive_float, default=None, help="exit after S seconds")
    tail.add_argument("--stats", action="store_true", help="end with a {\"type\":\"stats\",...} line")
    tail.add_argument("--quiet", action="store_true", help="print no events (with --stats: measure a feed)")
    tail.add_argument("--replay", metavar="DIR", default=None, help="print a recording instead of a live feed")
    tail.add_argument("--speed", type=_positive_float, default=0.0,
                      help="with --replay: pace events at X times real time (default: as fast as possible)")
    tail.add_argument("--interpolate", type=int, nargs="?", const=90, default=None, metavar="N",
                      help="finazon: also emit N interpolated price points per bar as ticks (default 90)")
    _data_options(tail, single=True)
    tail.set_defaults(func=cmd_tail)

    hist = sub.add_parser("history", help="print FinX tick history of a pair, sorted by time",
                          description="Print FinX tick history for one UTC day, oldest first. FinX answers at "
                                      "most 1000 rows a request; --all pages through the whole day.")
    hist.add_argument("pair", help="pair, e.g. BTC:USD")
    hist.add_argument("--date", default=None, help="UTC day YYYY-MM-DD (default: today)")
    hist.add_argument("--time", default=None, help="only ticks after HH:MM[:SS[.mmm]] (default: the whole day)")
    hist.add_argument("--all", action="store_true", help="page past the 1000-row limit through the whole day")
    hist.add_argument("--format", choices=("json", "csv"), default="json",
                      help="json: one object per line (default); csv: a header row, then one row per tick")
    _data_options(hist, single=True)
    hist.set_defaults(func=cmd_history)

    rec = sub.add_parser("record", help="append every normalized event to CSV files, headless",
                         description="Record every normalized event of the chosen sources to one CSV per kind and "
                                     "pair under DIR (trades, ticks, bars, positions, book snapshots and deltas). "
                                     "Runs without a terminal; stops on Ctrl-C, SIGTERM or --seconds.")
    rec.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory for the CSV files")
    rec.add_argument("--pair", action="append", default=[], metavar="PAIR",
                     help="pair to record (repeatable; default: the watchlist)")
    rec.add_argument("--source", action="append", default=[], choices=SOURCES,
                     help="source to record (repeatable; default: every enabled source)")
    rec.add_argument("--seconds", type=_positive_float, default=None, help="stop after S seconds")
    rec.add_argument("--depth", type=_positive_int, default=25, help="book levels kept per side (default 25)")
    _data_options(rec, single=False)
    rec.set_defaults(func=cmd_record)

    rep = sub.add_parser("replay", help="open the monitor on a recording",
                         description="Open the monitor on a directory written by 'finx-tui record' (a REPLAY mark "
                                     "instead of DEMO), with pause and speed keys.")
    rep.add_argument("dir", type=Path, metavar="DIR", help="a recording directory")
    rep.add_argument("--speed", type=_positive_float, default=1.0, help="X times real time (default 1)")
    rep.add_argument("--from", dest="start", default=None, metavar="TIME",
                     help="start at this UTC time (HH:MM[:SS] on the recording's first day, or ISO-8601)")
    rep.add_argument("--config", type=Path, default=None, help="config file (default: the user config dir)")
    rep.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    rep.set_defaults(func=cmd_replay)

    hub = sub.add_parser("hub", help="connect to each venue once and publish every event on NATS, with HTTP",
                         description="Read each venue once (public data only), keep the books, publish every "
                                     "normalized event on NATS JetStream and serve the books over HTTP, until "
                                     "interrupted. Monitors, tail and record read it with --hub URL.")
    hub.add_argument("--nats", default=None, metavar="URL[,URL...]",
                     help="NATS server(s) to publish to, e.g. nats://127.0.0.1:4222 (several: one cluster); "
                          "without it the hub serves HTTP only")
    hub.add_argument("--http", default="127.0.0.1:8780", metavar="HOST:PORT",
                     help="where to serve the read-only HTTP API (default 127.0.0.1:8780; port 0 picks one)")
    hub.add_argument("--pair", action="append", default=[], metavar="PAIR",
                     help="pair to carry (repeatable; default: the watchlist)")
    hub.add_argument("--replicas", type=_positive_int, default=1,
                     help="stream and bucket replicas (a JetStream cluster of at least that many nodes)")
    hub.add_argument("--storage", choices=("memory", "file"), default="memory",
                     help="JetStream storage of the stream (default memory)")
    hub.add_argument("--max-age", type=_positive_float, default=120.0, metavar="SECONDS",
                     help="how long the stream keeps a message (default 120)")
    _data_options(hub, single=False)
    hub.set_defaults(func=cmd_hub)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _data_options(parser: argparse.ArgumentParser, *, single: bool) -> None:
    """Where the data comes from: config endpoints, overrides, or the embedded simulator."""
    hint = "SOURCE=URL or, for this one-source command, a bare URL" if single else "SOURCE=URL"
    parser.add_argument("--endpoint", action="append", default=[], metavar="URL",
                        help=f"replace a source's base URL ({hint}); repeatable")
    parser.add_argument("--demo", action="store_true", help="use the embedded simulator with demo accounts")
    parser.add_argument("--seed", type=int, default=7, help="with --demo: the simulator's seed (default 7)")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: the user config dir)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    if parser.prog.split()[-1] != "hub":
        parser.add_argument("--hub", default=None, metavar="URL[,URL...]",
                            help="read market data from a finx-tui hub on NATS (several URLs: one cluster)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None) or cmd_tui
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


# -- shared set-up ----------------------------------------------------------------------------------------

def _fail(message: str, code: int = 2) -> int:
    print(f"finx-tui: {message}", file=sys.stderr)
    return code


def _load(args: argparse.Namespace, single_source: str | None = None) -> Any:
    """Config with the flags applied; raises ConfigError with a message fit for the user."""
    from finxtui.config import ConfigError, load_config, parse_endpoint

    cfg = load_config(args.config)
    for text in getattr(args, "endpoint", []) or []:
        if single_source is not None and "=" not in text.split("://", 1)[0]:
            if not text.startswith(("ws://", "wss://")):
                raise ConfigError(f"--endpoint {text!r}: expected a ws:// or wss:// URL")
            cfg = cfg.with_endpoint(single_source, text)
        else:
            source, url = parse_endpoint(text)
            cfg = cfg.with_endpoint(source, url)
    hub = getattr(args, "hub", None)
    if hub:
        from finxtui.wire.hub import servers

        if getattr(args, "demo", False) or getattr(args, "replay", None):
            raise ConfigError("--hub reads from a hub: it does not go with --demo or --replay")
        try:
            servers(hub)
        except ValueError as exc:
            raise ConfigError(f"--hub {hub!r}: {exc}") from None
    for warning in cfg.warnings:
        print(f"finx-tui: warning: {warning}", file=sys.stderr)
    return cfg


def _pairs_for(cfg: Any, source: str, requested: list[str]) -> list[str]:
    from finxtui.model.pairs import canonical

    if requested:
        pairs = [canonical(p) for p in requested]
        unknown = [p for p in pairs if p not in cfg.pairs]
        if unknown:
            raise ValueError(f"unknown pair(s) {', '.join(unknown)} (known: {', '.join(cfg.pairs.pairs())})")
        missing = [p for p in pairs if source not in cfg.pairs.sources_for(p)]
        if missing:
            raise ValueError(f"{source} does not list {', '.join(missing)}; it lists "
                             f"{', '.join(cfg.pairs.pairs_on(source))}")
        return pairs
    listed = [p for p in cfg.watchlist if source in cfg.pairs.sources_for(p)]
    return listed or cfg.pairs.pairs_on(source)


# -- the monitor ------------------------------------------------------------------------------------------

def cmd_tui(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from finxtui.config import ConfigError, ensure_config_file
    from finxtui.logs import setup_logging
    from finxtui.model.pairs import canonical

    try:
        if args.config is None:
            ensure_config_file()  # first run: a commented file to edit
        cfg = _load(args)
        if args.config is not None and cfg.path is None:
            # A --config file that does not exist yet: the app's edits (watchlist, alerts) create it there.
            cfg = replace(cfg, path=args.config)
        if args.pair:
            pair = canonical(args.pair)
            if pair not in cfg.pairs:
                raise ConfigError(f"--pair {args.pair}: unknown pair (known: {', '.join(cfg.pairs.pairs())})")
            cfg = replace(cfg, default_pair=pair)
        if args.color:
            cfg = replace(cfg, color=args.color)
        if args.slow_link:
            cfg = replace(cfg, slow_link=True)
        if args.theme:
            cfg = replace(cfg, theme=args.theme)
        if args.updown:
            cfg = replace(cfg, updown=args.updown)
    except (ConfigError, OSError) as exc:
        return _fail(str(exc))
    log_path = setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets(), stderr_level=None)
    from finxtui.commands.tui import run_tui

    return run_tui(cfg, args, log_path)


# -- tail -------------------------------------------------------------------------------------------------

def cmd_tail(args: argparse.Namespace) -> int:
    from finxtui.config import ConfigError
    from finxtui.logs import setup_logging

    try:
        cfg = _load(args, single_source=args.source)
        pairs = _pairs_for(cfg, args.source, args.pair)
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    if args.interpolate is not None:
        from dataclasses import replace

        cfg = replace(cfg, finazon_interpolate=max(0, args.interpolate))
    setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets(),
                  stderr_level="ERROR" if args.quiet else "WARNING")
    from finxtui.commands.tail import run_tail
    from finxtui.record import RecordingError

    try:
        return asyncio.run(run_tail(cfg, args, pairs))
    except RecordingError as exc:  # --replay: a missing, empty or foreign recording
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader went away (``| head``): that is a normal end for a stream printer.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's final flush
        return 0


# -- history ----------------------------------------------------------------------------------------------

def cmd_history(args: argparse.Namespace) -> int:
    from finxtui.config import ConfigError
    from finxtui.logs import setup_logging

    try:
        cfg = _load(args, single_source="finx")
        pair = _pairs_for(cfg, "finx", [args.pair])[0]
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets())
    from finxtui.commands.history import run_history

    try:
        return asyncio.run(run_history(cfg, args, pair))
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's final flush
        return 0


# -- record and replay ------------------------------------------------------------------------------------

def cmd_record(args: argparse.Namespace) -> int:
    from finxtui.config import ConfigError
    from finxtui.logs import setup_logging

    try:
        cfg = _load(args)
    except ConfigError as exc:
        return _fail(str(exc))
    setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets())
    from finxtui.commands.record import run_record

    return asyncio.run(run_record(cfg, args))


def cmd_replay(args: argparse.Namespace) -> int:
    from finxtui.config import ConfigError
    from finxtui.logs import setup_logging

    try:
        cfg = _load(args)
    except ConfigError as exc:
        return _fail(str(exc))
    setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets(), stderr_level=None)
    from finxtui.commands.replay import run_replay

    return run_replay(cfg, args)


# -- hub --------------------------------------------------------------------------------------------------

def cmd_hub(args: argparse.Namespace) -> int:
    from finxtui.config import ConfigError
    from finxtui.logs import setup_logging

    try:
        cfg = _load(args)
    except ConfigError as exc:
        return _fail(str(exc))
    setup_logging(args.log_level or cfg.log_level, secrets=cfg.credentials.secrets())
    from finxtui.commands.hub import run_hub

    return asyncio.run(run_hub(cfg, args))


# -- sim --------------------------------------------------------------------------------------------------

def cmd_sim(args: argparse.Namespace) -> int:
    from finxtui.commands.sim import run_sim

    return run_sim(args)


if __name__ == "__main__":
    raise SystemExit(main())
