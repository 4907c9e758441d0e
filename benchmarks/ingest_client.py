"""One ingest client in a process of its own, for ``benchmarks/ingest.py``: it reads ``--skip`` frames, then
times the next ``--frames`` and prints one JSON line (frames, updates, wall seconds, CPU seconds).

Clients:

- ``bare``: a ``websockets`` client that sends the given subscriptions and only counts frames (the reference);
- ``finx``: the project's feed (receive, decode, normalise, apply every update, verify every checksum);
- ``cryptofeed``: cryptofeed's Bitfinex or BitMEX L2 book with a book callback (and a trade callback), its
  own connection handling, pointed at the same server. It validates Bitfinex checksums where the release
  can (3.x: ``checksum_validation``); 2.4.1 does not ask for them.

``bare`` and ``cryptofeed`` import nothing of the project, so they run on any interpreter that has
``websockets`` (and cryptofeed): each client is compared with a bare client on its own interpreter.

    python benchmarks/ingest_client.py bare --url ws://127.0.0.1:PORT/bitfinex-1/bitfinex/ws/2 \\
        --subscribe '["{...}"]' --skip 3000 --frames 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

CONNECT = {"compression": "deflate", "max_size": 16 * 1024 * 1024, "ping_interval": 20, "ping_timeout": 20,
           "close_timeout": 2}  # what the project's session passes
#: canonical pair -> (Bitfinex symbol, BitMEX symbol, cryptofeed's name on Bitfinex, on BitMEX)
PAIRS = {
    "BTC:USD": ("tBTCUSD", "XBTUSD", "BTC-USD", "BTC-USD-PERP"),
    "ETH:USD": ("tETHUSD", "ETHUSDT", "ETH-USD", "ETH-USDT-PERP"),
    "SOL:USD": ("tSOLUSD", "SOLUSDT", "SOL-USD", "SOL-USDT-PERP"),
    "XRP:USD": ("tXRPUSD", "XRPUSDT", "XRP-USD", "XRP-USDT-PERP"),
}


class Window:
    """Counts frames; starts the clocks after ``skip``, sets ``done`` after ``skip + count``."""

    #: print the result and leave the process at once when the window ends (``--exit-at-end``): an instruction
    #: count (``ingest_count.py``) must not include reading and closing on the rest of the recording
    exit_at_end = False

    def __init__(self, skip: int, count: int) -> None:
        self.skip = skip
        self.end = skip + count
        self.frames = 0
        self.updates = 0
        self.u0 = 0
        self.t0 = self.c0 = 0.0
        self.t1 = self.c1 = 0.0
        self.done = asyncio.Event()

    def frame(self) -> None:
        self.frames = n = self.frames + 1
        if n == self.skip:
            self.t0, self.c0, self.u0 = time.perf_counter(), time.process_time(), self.updates
        elif n == self.end:
            self.t1, self.c1 = time.perf_counter(), time.process_time()
            self.done.set()
            if self.exit_at_end:
                print(json.dumps(self.result()), flush=True)
                os._exit(0)

    def result(self, **notes: Any) -> dict[str, Any]:
        return {"frames": self.end - self.skip, "updates": self.updates - self.u0, "wall": self.t1 - self.t0,
                "cpu": self.c1 - self.c0, "notes": notes}


async def bare(args: argparse.Namespace) -> dict[str, Any]:
    import websockets

    ws = await websockets.connect(args.url, **CONNECT)
    try:
        for m in args.subscribe:
            await ws.send(m)
        recv = ws.recv
        for _ in range(args.skip):
            await recv(decode=False)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.frames):
            await recv(decode=False)
        return {"frames": args.frames, "updates": 0, "wall": time.perf_counter() - t0,
                "cpu": time.process_time() - c0, "notes": {}}
    finally:
        if ws.transport is not None:
            ws.transport.abort()


ROOT = str(Path(__file__).resolve().parent.parent)


async def finx(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, ROOT)
    from finxtui.feeds.bitfinex import BitfinexFeed
    from finxtui.feeds.bitmex import BitmexFeed

    pairs = list(PAIRS)
    feed: Any
    if args.venue == "bitmex":
        feed = BitmexFeed(args.base, pairs, full_book=args.full_book)
    else:
        feed = BitfinexFeed(args.base, pairs, depth=25, bulk=args.bulk)
    skip, end = args.skip, args.skip + args.frames
    updates = u0 = 0
    t0 = c0 = 0.0
    started = False
    try:
        async for ev in feed:
            if ev.type == "book":
                updates += len(ev.changes)
            f = feed.frames
            if not started:
                if f >= skip:
                    started = True
                    u0, skip = updates, f
                    t0, c0 = time.perf_counter(), time.process_time()
                continue
            if f >= end:
                break
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"frames": feed.frames - skip, "updates": updates - u0, "wall": wall, "cpu": cpu,
                "notes": {"rejected": feed.rejected_frames, "resyncs": getattr(feed, "resyncs", 0),
                          "checksums_ok": getattr(feed, "checksums_ok", None)}}
    finally:
        feed._abort_ws()


async def cryptofeed_client(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    import cryptofeed
    import cryptofeed.connection
    import websockets
    from cryptofeed.connection import WebsocketEndpoint
    from cryptofeed.defines import L2_BOOK, TRADES
    from cryptofeed.symbols import Symbols

    logging.getLogger("feedhandler").setLevel(logging.CRITICAL)  # it warns about frames it does not read
    win = Window(args.skip, args.frames)
    version = metadata.version("cryptofeed")
    v3 = int(version.split(".")[0]) >= 3
    if args.venue == "bitmex":
        from cryptofeed.exchanges import Bitmex as base  # cryptofeed 3.x has no BitMEX: ImportError
    else:
        from cryptofeed.exchanges import Bitfinex as base
    if args.venue == "bitmex":
        names = {v[3]: v[1] for v in PAIRS.values()}
        info: dict[str, Any] = {"tick_size": {}, "instrument_type": {}, "is_quanto": {}}
        for name in names:
            info["tick_size"][name] = 0.5
            info["instrument_type"][name] = "perpetual"
            info["is_quanto"][name] = False
    else:
        names = {v[2]: v[0] for v in PAIRS.values()}
        info = {"instrument_type": dict.fromkeys(names, "spot")}
    Symbols.set(base.id, names, info)  # no REST call for the symbol list: the server is ours

    # cryptofeed accepts only wss:// addresses; the server here is plain ws:// on loopback.
    def connect(address: str, **kwargs: Any) -> Any:
        return websockets.connect(address.replace("wss://", "ws://", 1), **kwargs)

    cryptofeed.connection.connect = connect

    class Client(base):  # type: ignore[misc, valid-type]
        websocket_endpoints = [WebsocketEndpoint(args.url.replace("ws://", "wss://", 1))]

        async def message_handler(self, msg: str, conn: Any, timestamp: float) -> None:
            win.frame()
            await base.message_handler(self, msg, conn, timestamp)

    async def book(book: Any, receipt_timestamp: float) -> None:
        win.updates += 1  # one callback a book frame (cryptofeed reads no bulk frames; BitMEX: one a message)

    async def trade(t: Any, receipt_timestamp: float) -> None:
        pass

    kwargs: dict[str, Any] = {"symbols": list(names), "channels": [L2_BOOK, TRADES],
                              "callbacks": {L2_BOOK: book, TRADES: trade}}
    if args.venue == "bitfinex":
        kwargs["number_of_price_points"] = 25
        kwargs["checksum_validation"] = True  # used where the release validates (3.x); 2.4.1 keeps it unused
    feed = Client(**kwargs)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = None
    if hasattr(feed, "start"):
        feed.start(loop)  # cryptofeed 2.x: connection handlers as tasks on this loop
    else:
        task = loop.create_task(feed.run(stop))  # 3.x: one coroutine that runs until told to stop
    try:
        await asyncio.wait_for(win.done.wait(), args.timeout)
    finally:
        stop.set()
        if task is None:
            feed.stop()
        else:
            task.cancel()
        for handler in getattr(feed, "connection_handlers", []):
            conn = getattr(handler.conn, "conn", None)
            if conn is not None and conn.transport is not None:
                conn.transport.abort()
    return win.result(cryptofeed=version, checksums=v3 and args.venue == "bitfinex")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("bare", "finx", "cryptofeed"))
    parser.add_argument("--venue", choices=("bitfinex", "bitmex"), required=True)
    parser.add_argument("--url", required=True, help="the full websocket URL (bare, cryptofeed)")
    parser.add_argument("--base", default="", help="the feed's base URL (finx: the path is appended)")
    parser.add_argument("--subscribe", type=json.loads, default=[], help="a JSON list of messages (bare)")
    parser.add_argument("--bulk", action="store_true", help="finx on Bitfinex: ask for bulk updates")
    parser.add_argument("--full-book", action="store_true", help="finx on BitMEX: orderBookL2, not _25")
    parser.add_argument("--skip", type=int, default=3000)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--exit-at-end", action="store_true",
                        help="leave as soon as the window ends (no close handshake): for instruction counts")
    args = parser.parse_args(argv)
    Window.exit_at_end = args.exit_at_end
    run = {"bare": bare, "finx": finx, "cryptofeed": cryptofeed_client}[args.kind]
    out = asyncio.run(run(args))
    out["python"] = sys.version.split()[0]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
