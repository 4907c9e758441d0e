"""The base of a venue: what every connection to one protocol shares, made once by the simulator.

A venue package defines a subclass holding its state (BitMEX's account, FinX's tick history, …), made at
the simulator's construction with the venue's context, and a connection class that takes the venue object.
The simulator keeps the open connections in ``connections`` and runs ``on_timer`` about ten times a second.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import ClassVar

from websockets.exceptions import ConnectionClosed

from finxtui.sim.core.connection import SimConnection
from finxtui.sim.core.context import VenueContext


class Venue:
    tag: ClassVar[str] = ""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.connections: set[SimConnection] = set()

    def refuse(self, path: str, query: Mapping[str, str]) -> tuple[http.HTTPStatus, str] | None:
        """A reason to refuse the websocket handshake (status, body), or None to accept it."""
        return None

    def on_timer(self, now: float) -> None:
        """The venue's periodic work, then each open connection's (``now`` is the venues' clock)."""
        for conn in tuple(self.connections):
            if conn.closed:
                continue
            try:
                conn.on_timer(now)
            except ConnectionClosed:
                pass
            except Exception:
                self.ctx.log.exception("timer failed")
