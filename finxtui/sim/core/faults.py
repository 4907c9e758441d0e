"""Fault injection: what a venue and a network do to a client, on demand or at random (chaos).

Immediate faults act on the connections open now (drop, close, stall, garbage, restart, slow, a Bitfinex info
code, a BitMEX update for an unknown id). Armed faults wait for the next chance on the wire (a wrong checksum,
a skipped sequence number, deltas before the next BitMEX partial): a venue asks ``take`` through its context.
Switched faults stay on until switched off (Finazon's soft auth). Every injection is logged in
``Faults.history`` so a test can check the client reacted to each one.

A stall never makes a stream lie: a per-pair stall delays that pair's frames (each venue says how), and a
whole-socket stall drops frames the way a silent venue does, with sequence numbers still consumed where the
protocol has them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Collection, Coroutine, Mapping
from typing import Any, Protocol

from finxtui.sim.core.connection import SimConnection
from finxtui.sim.core.tasks import Spawner
from finxtui.sim.market import MarketEvent
from finxtui.wire.venues import SOURCES

log = logging.getLogger("finxtui.sim.faults")


class FaultHost(Protocol):
    """What the fault injector drives: the simulator's connections, clock, pump and front door."""

    @property
    def connections(self) -> Mapping[str, Collection[SimConnection]]: ...

    @property
    def rate(self) -> float: ...

    @property
    def steps(self) -> int: ...

    max_buffer: int

    def loop_time(self) -> float: ...

    def step(self, n: int = 1) -> list[MarketEvent]: ...

    def set_rate(self, rate: float) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    async def restart(self, downtime: float = 1.0) -> None: ...


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
    """The simulator's fault injector (``sim.faults``): immediate, armed and switched faults, chaos, history."""

    def __init__(self, host: FaultHost, *, seed: int, spawner: Spawner) -> None:
        self.host = host
        self.armed: Counter[tuple[str, str]] = Counter()
        self.switched: set[tuple[str, str]] = set()
        self.history: list[tuple[float, str, str, dict[str, Any]]] = []
        self._rng = random.Random(seed ^ 0x5EED)
        self._chaos: dict[str, Any] | None = None
        self._next_chaos = 0.0
        self._spawner = spawner

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

    # -- switched faults ------------------------------------------------------------------------------

    def switch(self, kind: str, source: str, on: bool = True) -> None:
        """Turn a lasting fault on or off (``soft_auth`` on ``finazon``: accept any key at the handshake)."""
        if on:
            self.switched.add((kind, source))
        else:
            self.switched.discard((kind, source))
        self._record(kind, source, {"on": on})

    def is_on(self, kind: str, source: str) -> bool:
        return (kind, source) in self.switched

    @property
    def finazon_soft_auth(self) -> bool:
        """Finazon accepts a bad key at the handshake, then sends an error frame and closes (1008)."""
        return self.is_on("soft_auth", "finazon")

    @finazon_soft_auth.setter
    def finazon_soft_auth(self, on: bool) -> None:
        self.switch("soft_auth", "finazon", on)

    # -- immediate faults -----------------------------------------------------------------------------

    def _conns(self, source: str | None) -> list[SimConnection]:
        connections = self.host.connections
        sources = [source] if source else list(connections)
        return [c for s in sources for c in list(connections[s]) if not c.closed]

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
        previous = self.host.max_buffer
        self.host.max_buffer = max_buffer
        self._record("slow", "*", {"max_buffer": max_buffer, "seconds": seconds})
        if seconds is not None:
            self._spawn(self._restore_buffer(previous, seconds))

    async def _restore_buffer(self, previous: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.host.max_buffer = previous

    async def restart(self, downtime: float = 1.0) -> None:
        self._record("restart", "*", {"downtime": downtime})
        await self.host.restart(downtime)

    # -- chaos ----------------------------------------------------------------------------------------

    def chaos(self, interval: float = 2.0, kinds: tuple[str, ...] = CHAOS_KINDS,
              sources: tuple[str, ...] = SOURCES,
              seed: int | None = None, stall_seconds: float = 3.0) -> None:
        """Inject a random fault every ``interval`` seconds on average (0 turns chaos off)."""
        if seed is not None:
            self._rng = random.Random(seed)
        if interval <= 0:
            self._chaos = None
            return
        self._chaos = {"interval": interval, "kinds": kinds, "sources": sources, "stall": stall_seconds}
        self._next_chaos = self.host.loop_time() + self._rng.expovariate(1 / interval)

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
            extra = {"seconds": float(params["seconds"])} if "seconds" in params else {}
            return self.protocol("info", "bitfinex", code=int(params.get("code", 20051)), **extra)
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
            return self.host.stats()
        if op == "step":
            self.host.step(int(req.get("n", 1)))
            return self.host.steps
        if op == "rate":
            self.host.set_rate(float(req["value"]))
            return self.host.rate
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
        self.history.append((self.host.loop_time(), kind, source, params))
        log.info("fault %s on %s %s", kind, source, params)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._spawner.spawn(coro)
