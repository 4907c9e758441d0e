"""``finx-tui hub``: run the hub until interrupted, printing where it publishes and serves."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from finxtui.commands.record import plan_sources
from finxtui.config import Config
from finxtui.hub import Hub, HubHttp, NatsPublisher, StreamLimits
from finxtui.sources import embedded_simulator
from finxtui.wire import hub as wire


def parse_http(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means 127.0.0.1); ValueError worded for the user."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8780")
    return host.strip("[]") or "127.0.0.1", int(port)


async def run_hub(cfg: Config, args: argparse.Namespace) -> int:
    try:
        plan = plan_sources(cfg, [], list(args.pair or []))
        servers = wire.servers(args.nats) if args.nats else None
        host, port = parse_http(args.http)
    except ValueError as exc:
        print(f"finx-tui hub: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    def say(text: str) -> None:
        print(f"finx-tui hub: {text}", flush=True)

    async with contextlib.AsyncExitStack() as stack:
        if args.demo:
            cfg, sim = await stack.enter_async_context(
                embedded_simulator(cfg, seed=args.seed, rate=getattr(args, "rate", None)))
            say(f"demo: simulator at {sim.url}")
        limits = StreamLimits(storage=args.storage, replicas=args.replicas, max_age=args.max_age)
        publisher = None
        if servers:
            publisher = NatsPublisher(servers, limits,
                                      on_state=lambda state, detail: say(f"nats {state}: {detail}"))
        hub = Hub(cfg, plan, publisher=publisher)
        http = HubHttp(hub, host, port)
        try:
            await http.start()
        except OSError as exc:
            print(f"finx-tui hub: cannot serve HTTP on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        await hub.start()
        for venue, pairs in plan.items():
            say(f"{venue}: {', '.join(pairs)}")
        if servers:
            say(f"NATS {','.join(servers)} (stream {wire.STREAM} on md.>, bucket {wire.BUCKET}, "
                f"{limits.storage} storage, {limits.replicas} replica(s))")
        else:
            say("no --nats: serving HTTP only")
        say(f"HTTP {http.url}")
        try:
            await stop.wait()
        finally:
            await hub.stop()
            await http.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    say("stopped")
    return 0
