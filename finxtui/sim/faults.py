"""Fault injection: what a venue and a network do to a client, on demand or at random (chaos).

Immediate faults act on the connections open now (drop, stall, garbage, restart, a Bitfinex info code,
a BitMEX update for an unknown id). Armed faults wait for the next chance on the wire (a wrong checksum,
a skipped sequence number, deltas before the next BitMEX partial). Every injection is logged in
``Faults.history`` so a test can check the client reacted to each one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from finxtui.sim.server import Simulator

log = logging.getLogger("finxtui.sim.faults")

ARMED = ("bad_checksum", "skip_seq", "early_deltas")
IMMEDIATE = ("drop", "close", "stall", "garbage", "info", "unknown_id", "restart", "slow")
CHAOS_KINDS = ("drop", "stall", "garbage", "bad_checksum", "skip_seq", "unknown_id", "early_deltas",
               "restart", "close", "slow")

GARBAGE_TEXT = (
    "this is not json",
    '{"unterminated": ',
    "[1,2",
    "null",
    "42",
    '{"event":"wat","code":-1}',
    '[987654321,"zz",[1,2,3]]',
    '{"table":"nope","action":"explode","data":7}',
    '"a bare string"',
    "[]",
    "{}",
    '{"results":"streaming","resultData":"oops"}',
    '{"d":1,"s":null,"t":"later"}',
)
GARBAGE_BINARY = (b"\x00\xff\xfe binary noise", b"")


class Faults:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.armed: Counter[tuple[str, str]] = Counter()
        self.history: list[tuple[float, str, str, dict[str, Any]]] = []
        self.finazon_soft_auth = False  # accept a bad Finazon key, then send an error frame and close
        self._rng = random.Random(sim.seed ^ 0x5EED)
        self._chaos: dict[str, Any] | None = None
        self._next_chaos = 0.0
        self._tasks: set[asyncio.Task] = set()

    # -- armed faults ---------------------------------------------------------------------------------

    def arm(self, kind: str, source: str, count: int = 1) -> None:
        self.armed[(kind, source)] += count
        self._record(kind, source, {"count": count})

    def take(self, kind: str, source: str) -> bool:
        """A connection asks whether to misbehave now; each armed fault is taken once."""
        key = (kind, source)
        if self.armed[key] > 0:
            self.armed[key] -= 1
            return True
        return False

    # -- immediate faults -----------------------------------------------------------------------------

    def _conns(self, source: str | None):
        sources = [source] if source else list(self.sim.connections)
        return [c for s in sources for c in list(self.sim.connections[s]) if not c.closed]

    def drop(self, source: str | None = None) -> int:
        """Cut connections without a close frame (the client sees 1006)."""
        conns = self._conns(source)
        for conn in conns:
            conn.abort()
        self._record("drop", source or "*", {"connections": len(conns)})
        return len(conns)

    def close(self, source: str | None = None, code: int = 1012, reason: str = "service restart") -> int:
        conns = self._conns(source)
        for conn in conns:
            self._spawn(conn.close(code, reason))
        self._record("close", source or "*", {"code": code, "connections": len(conns)})
        return len(conns)

    def stall(self, source: str | None = None, seconds: float = 5.0, pair: str | None = None) -> int:
        """Stop producing frames for ``seconds`` (whole connections, or one pair's channels)."""
        conns = self._conns(source)
        hit = 0
        for conn in conns:
            if pair is None:
                conn.stall(seconds)
                hit += 1
            elif conn.inject("stall", seconds=seconds, pair=pair):
                hit += 1  # only the sockets that carry the pair; the others keep flowing
        self._record("stall", source or "*", {"seconds": seconds, "pair": pair, "connections": hit})
        return hit

    def garbage(self, source: str | None = None, count: int = 3) -> int:
        conns = self._conns(source)
        for conn in conns:
            for _ in range(count):
                if self._rng.random() < 0.15:
                    conn.send_binary(self._rng.choice(GARBAGE_BINARY))
                else:
                    conn.send(self._rng.choice(GARBAGE_TEXT))
        self._record("garbage", source or "*", {"count": count})
        return len(conns)

    def protocol(self, kind: str, source: str, **params: Any) -> int:
        """A fault only one protocol knows (Bitfinex ``info``, BitMEX ``unknown_id``)."""
        n = sum(1 for conn in self._conns(source) if conn.inject(kind, **params))
        self._record(kind, source, dict(params, connections=n))
        return n

    def slow(self, max_buffer: int, seconds: float | None = None) -> None:
        """Lower the unread-bytes limit past which a client is cut off as a slow consumer (for ``seconds``).

        With a limit this low, any client that falls a few frames behind in a burst is cut off, as a venue
        cuts off a consumer it considers slow; it then has to reconnect and resynchronise.
        """
        previous = self.sim.max_buffer
        self.sim.max_buffer = max_buffer
        self._record("slow", "*", {"max_buffer": max_buffer, "seconds": seconds})
        if seconds is not None:
            self._spawn(self._restore_buffer(previous, seconds))

    async def _restore_buffer(self, previous: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.sim.max_buffer = previous

    async def restart(self, downtime: float = 1.0) -> None:
        self._record("restart", "*", {"downtime": downtime})
        await self.sim.restart(downtime)

    # -- chaos ----------------------------------------------------------------------------------------

    def chaos(self, interval: float = 2.0, kinds: tuple[str, ...] = CHAOS_KINDS,
              sources: tuple[str, ...] = ("bitfinex", "bitmex", "finx", "finazon"),
              seed: int | None = None, stall_seconds: float = 3.0) -> None:
        """Inject a random fault every ``interval`` seconds on average (0 turns chaos off)."""
        if seed is not None:
            self._rng = random.Random(seed)
        if interval <= 0:
            self._chaos = None
            return
        self._chaos = {"interval": interval, "kinds": kinds, "sources": sources, "stall": stall_seconds}
        self._next_chaos = self.sim.loop_time() + self._rng.expovariate(1 / interval)

    def tick(self, now: float) -> None:
        chaos = self._chaos
        if chaos is None or now < self._next_chaos:
            return
        self._next_chaos = now + self._rng.expovariate(1 / chaos["interval"])
        kind = self._rng.choice(chaos["kinds"])
        source = self._rng.choice(chaos["sources"])
        try:
            self.apply(kind, source, seconds=chaos["stall"])
        except Exception:
            log.exception("chaos fault %s on %s failed", kind, source)

    def apply(self, kind: str, source: str | None, **params: Any) -> Any:
        """Inject one fault by name (what chaos and the control socket call)."""
        if kind == "drop":
            return self.drop(source)
        if kind == "close":
            return self.close(source, int(params.get("code", 1012)))
        if kind == "stall":
            return self.stall(source, float(params.get("seconds", 5.0)), params.get("pair"))
        if kind == "garbage":
            return self.garbage(source, int(params.get("count", 3)))
        if kind in ARMED:
            if kind in ("bad_checksum", "skip_seq"):
                source = "bitfinex"
            elif kind == "early_deltas":
                source = "bitmex"
            self.arm(kind, source or "", int(params.get("count", 1)))
            # A fresh subscription is what exposes early deltas: make the client resubscribe.
            if kind == "early_deltas":
                self.drop("bitmex")
            return None
        if kind == "unknown_id":
            return self.protocol("unknown_id", "bitmex")
        if kind == "info":
            return self.protocol("info", "bitfinex", code=int(params.get("code", 20051)))
        if kind == "restart":
            self._spawn(self.restart(float(params.get("downtime", 1.0))))
            return None
        if kind == "slow":
            seconds = params.get("seconds")
            self.slow(int(params.get("max_buffer", 2048)), float(seconds) if seconds is not None else None)
            return None
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(ARMED + IMMEDIATE)}")

    async def control(self, req: dict[str, Any]) -> Any:
        """The ``/control`` socket: ``{"op": "<fault>" | "step" | "rate" | "chaos" | "stats", ...}``."""
        op = req.get("op")
        if op == "stats":
            return self.sim.stats()
        if op == "step":
            self.sim.step(int(req.get("n", 1)))
            return self.sim.market.steps
        if op == "rate":
            self.sim.set_rate(float(req["value"]))
            return self.sim.rate
        if op == "chaos":
            self.chaos(float(req.get("interval", 2.0)), seed=req.get("seed"))
            return None
        if op == "history":
            return [[t, k, s, p] for t, k, s, p in self.history]
        if op == "restart":
            await self.restart(float(req.get("downtime", 1.0)))
            return None
        params = {k: v for k, v in req.items() if k not in ("op", "source")}
        return self.apply(str(op), req.get("source"), **params)

    # -- helpers --------------------------------------------------------------------------------------

    def _record(self, kind: str, source: str, params: dict[str, Any]) -> None:
        self.history.append((self.sim.loop_time(), kind, source, params))
        log.info("fault %s on %s %s", kind, source, params)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
