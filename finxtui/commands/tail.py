"""``finx-tui tail``: every normalized event of one venue as one JSON line, for scripts and ``jq``.

The events come from a source of that one venue (live, the embedded demo, or a recording), so each book
line is the book as of its own frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator

import orjson

from finxtui.config import Config
from finxtui.model.events import Event
from finxtui.sources import HubSource, LiveSource, ReplaySource, Source, embedded_simulator
from finxtui.wire.lines import encode as encode_line

FLUSH_EVERY = 0.05  # seconds: a pipe reader sees lines promptly without a write per event


@contextlib.asynccontextmanager
async def _source(cfg: Config, args: argparse.Namespace, pairs: list[str]) -> AsyncIterator[Source]:
    """The one-venue source ``tail`` reads: a recording, a hub, the embedded demo, or the venue itself."""
    if getattr(args, "hub", None):
        yield HubSource(args.hub, cfg, venues=[args.source], pairs=pairs, hub_status=False)
        return
    if args.replay:
        yield ReplaySource(args.replay, speed=args.speed, venues=[args.source], pairs=pairs)
        return
    if args.demo:
        async with embedded_simulator(cfg, seed=args.seed) as (demo_cfg, _sim):
            yield LiveSource(demo_cfg, venues=[args.source], pairs=pairs, depth=args.depth)
        return
    yield LiveSource(cfg, venues=[args.source], pairs=pairs, depth=args.depth)


async def _events(cfg: Config, args: argparse.Namespace, pairs: list[str]) -> AsyncGenerator[Event, None]:
    async with _source(cfg, args, pairs) as source:
        try:
            async for event in source:
                yield event
        finally:
            await source.stop()


async def run_tail(cfg: Config, args: argparse.Namespace, pairs: list[str]) -> int:
    out = sys.stdout.buffer
    depth = args.depth
    quiet = args.quiet
    limit = args.count
    loop = asyncio.get_running_loop()
    start = loop.time()
    last_flush = start
    count = 0
    events = _events(cfg, args, pairs)
    pending = False

    async def flusher() -> None:
        # A quiet feed must not hold the last lines of a burst back: flush whatever waits, a few times a second.
        nonlocal pending
        while True:
            await asyncio.sleep(FLUSH_EVERY * 2)
            if pending:
                out.flush()
                pending = False

    flush_task = asyncio.create_task(flusher())
    deadline = asyncio.timeout(args.seconds)
    signals = (signal.SIGINT, signal.SIGTERM)

    def stop_now() -> None:
        # Ctrl-C or a kill ends tail like --seconds does: the lines so far and --stats still come out. Our own
        # handler, not KeyboardInterrupt, so a tail started with SIGINT ignored (a `nohup … &` shell) still stops.
        if not deadline.expired():
            deadline.reschedule(loop.time())

    try:
        async with deadline:
            for sig in signals:  # inside the block: a deadline can only be moved once entered
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop_now)
            async for event in events:
                count += 1
                if not quiet:
                    out.write(encode_line(event, depth))
                    out.write(b"\n")
                    pending = True
                    now = loop.time()
                    if now - last_flush > FLUSH_EVERY:
                        out.flush()
                        pending = False
                        last_flush = now
                if limit is not None and count >= limit:
                    break
    except TimeoutError:
        pass  # --seconds reached, or a signal
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        flush_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flush_task
        with contextlib.suppress(Exception):
            await events.aclose()
    elapsed = loop.time() - start
    if args.stats:
        out.write(orjson.dumps({"type": "stats", "events": count, "seconds": round(elapsed, 3),
                                "rate": round(count / elapsed, 1) if elapsed > 0 else 0.0,
                                "ts": time.time()}))
        out.write(b"\n")
    out.flush()
    return 0
