"""``finx-tui sim``: the embedded exchange on its own port, for your own clients, until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import sys

from finxtui.logs import RedactingFilter
from finxtui.sim.credentials import SimCredentials
from finxtui.sim.server import Simulator
from finxtui.wire.venues import VENUES

PRINT_ORDER = ("bitfinex", "bitmex", "finx", "finazon")


def run_sim(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The simulator may hold the user's own keys (from the environment) and logs request paths at debug level.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(SimCredentials.from_env().as_client_env().values()))
    asyncio.run(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    sim = Simulator(seed=args.seed, rate=args.rate, host=args.host, port=args.port)
    try:
        await sim.start()
    except OSError as exc:
        print(f"finx-tui sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.chaos:
        sim.faults.chaos(args.chaos)
    # Handlers first: "Ctrl-C stops." below is a promise a script may act on at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    rate = "max" if sim.rate == math.inf else f"{sim.rate:g}"
    print(f"finx-tui simulator (seed {args.seed}, {rate} book updates/s) on {sim.url}")
    for source in PRINT_ORDER:
        print(f"  {source:<9} {sim.base_url(source):<36} client path {VENUES[source].path}")
    print(f"  {'control':<9} {sim.url}/control")
    creds = sim.credentials
    print("accounts: " + ("demo credentials (see README)" if creds == type(creds)()
                          else "from BITMEX_API_KEY / FINX_API_KEY / FINAZON_API_KEY"))
    print("Ctrl-C stops.", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()
        print("simulator stopped.", flush=True)
