"""One subscribed Bitfinex channel as a socket holds it: its book window, heartbeat tick and stall hold-back.

Heartbeats (``reference/exchange-protocols.md`` A7, corrected): each channel has a fixed tick every heartbeat
period from its subscription; at a tick the channel sends ``[CHAN_ID,"hb"]`` only if it sent nothing since the
previous tick, so a busy channel sends none and a healthy one may go up to two periods between frames.

A stalled channel holds every frame it would have sent, in order, and sends them when the stall ends; it
sends no heartbeat meanwhile (it is silent, as a stalled venue channel is).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from finxtui.sim.core.window import Window
from finxtui.sim.market import SimBook

Payload = tuple[Any, ...]  # what follows CHAN_ID in a frame (sequence and timestamp are added when sent)


@dataclass(eq=False)
class Channel:
    chan_id: int
    channel: str  # book | trades
    symbol: str
    pair: str
    request: dict[str, Any]
    next_tick: float  # the venues' clock time of this channel's next heartbeat tick
    depth: int | None = None
    window: Window | None = None
    book: SimBook | None = None
    traffic: bool = False  # a frame went out since the previous heartbeat tick
    last_cs: float = -math.inf
    cs_due: bool = False
    stalled_until: float | None = None
    held: deque[Payload] = field(default_factory=deque)  # frames held back by a stall, oldest first
    pending_tu: deque[tuple[float, list[Any]]] = field(default_factory=deque)  # (due, row) of each ``tu``

    def stalled(self, now: float) -> bool:
        return self.stalled_until is not None and now < self.stalled_until

    def heartbeat_due(self, now: float, period: float) -> bool:
        """At each of the channel's ticks: True when it was quiet since the previous tick (send ``hb``)."""
        if now < self.next_tick:
            return False
        self.next_tick += period
        if self.next_tick <= now:  # the loop fell behind: keep the cadence from now, never a burst
            self.next_tick = now + period
        quiet = not self.traffic
        self.traffic = False
        return quiet
