"""Command line: the TUI (default), sim, tail, history, record, replay.

The flags and output shapes here are a contract outside tests rely on (DESIGN.md, command-line contract).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import Sequence

from finxtui import __version__

SOURCES = ("finx", "bitfinex", "bitmex", "finazon")


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


# -- sim --------------------------------------------------------------------------------------------------

def cmd_sim(args: argparse.Namespace) -> int:
    import logging

    from finxtui.sim.server import Simulator

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        sim = Simulator(seed=args.seed, rate=args.rate, host=args.host, port=args.port)
        try:
            await sim.start()
        except OSError as exc:
            print(f"finx-tui sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                  file=sys.stderr)
            raise SystemExit(2) from None
        if args.chaos:
            sim.faults.chaos(args.chaos)
        rate = "max" if sim.rate == math.inf else f"{sim.rate:g}"
        print(f"finx-tui simulator (seed {args.seed}, {rate} book updates/s) on {sim.url}")
        paths = {"bitfinex": "/ws/2", "bitmex": "/realtime", "finx": "/streaming/{key}/{pair}",
                 "finazon": "/v1?apikey={key}"}
        for source in ("bitfinex", "bitmex", "finx", "finazon"):
            print(f"  {source:<9} {sim.base_url(source):<36} client path {paths[source]}")
        print(f"  {'control':<9} {sim.url}/control")
        creds = sim.credentials
        print("accounts: " + ("demo credentials (see README)" if creds == type(creds)()
                              else "from BITMEX_API_KEY / FINX_API_KEY / FINAZON_API_KEY"))
        print("Ctrl-C stops.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await sim.stop()
            print("simulator stopped.", flush=True)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
