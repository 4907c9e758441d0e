"""``finx-tui tail``: every normalized event as one JSON line, for scripts and ``jq``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from finxtui.config import Config

FLUSH_EVERY = 0.05  # seconds: a pipe reader sees lines promptly without a write per event


async def _events(cfg: Config, args: argparse.Namespace, pairs: list[str]) -> AsyncIterator[Any]:
    if args.replay:
        from finxtui.record.replay import replay_events

        async for event in replay_events(args.replay, sources=[args.source], pairs=pairs, speed=args.speed):
            yield event
        return
    from finxtui.feeds.factory import make_feed

    if args.demo:
        from finxtui.demo import demo

        async with demo(cfg, seed=args.seed) as (demo_cfg, _sim):
            feed = make_feed(args.source, demo_cfg, pairs, depth=args.depth)
            try:
                async for event in feed:
                    yield event
            finally:
                await feed.aclose()
        return
    feed = make_feed(args.source, cfg, pairs, depth=args.depth)
    try:
        async for event in feed:
            yield event
    finally:
        await feed.aclose()


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
    try:
        async with asyncio.timeout(args.seconds):
            async for event in events:
                count += 1
                if not quiet:
                    out.write(orjson.dumps(event.to_dict(depth)))
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
        pass  # --seconds reached
    finally:
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
