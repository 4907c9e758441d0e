"""The base of one client socket in the simulator: sending, stalling, slow-consumer drops, close.

A venue's connection subclasses :class:`SimConnection` and implements the venue's side of the conversation
in the hooks (``on_open``, ``on_message``, ``on_book`` …, ``on_timer``, ``inject``); everything it may use of
the simulator comes through its :class:`~finxtui.sim.core.context.VenueContext`.

A whole-socket stall (``stall``) drops what the socket would have sent in that time, as a venue that stops
producing does; a protocol with sequence numbers still consumes them, so the client sees the gap. Per-pair
stalls are each venue's own (``inject("stall", pair=…)``) and delay rather than drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import broadcast as _broadcast
from websockets.exceptions import ConnectionClosed
from websockets.protocol import OPEN

from finxtui.sim.core.context import VenueContext
from finxtui.sim.core.window import WindowChange
from finxtui.sim.market import EquityPrint, SimTick, SimTrade


class SimConnection:
    """One client on one protocol.

    Sends are synchronous writes (no await per frame): the market pump writes to every subscriber in one
    pass. A client whose unread backlog passes the outbox's ``max_buffer`` is cut off, as venues do.
    """

    venue: ClassVar[str] = ""

    def __init__(self, ctx: VenueContext, ws: ServerConnection, path: str, query: Mapping[str, str]) -> None:
        self.ctx = ctx
        self.log = ctx.log
        self.ws = ws
        self.path = path
        self.query = dict(query)
        self.stalled_until = 0.0
        self.frames_sent = 0
        self.frames_suppressed = 0
        self.closed = False
        self.opened_at = ctx.loop_time()
        self.last_client_frame = self.opened_at

    # -- output ---------------------------------------------------------------------------------------

    def stalled(self) -> bool:
        """True while a whole-socket stall lasts."""
        return self.stalled_until > 0 and self.ctx.loop_time() < self.stalled_until

    def send(self, data: bytes | str) -> bool:
        """Write one text frame now. Returns False when the frame was not sent (stalled or closed)."""
        if self.closed:
            return False
        if self.stalled_until:
            if self.ctx.loop_time() < self.stalled_until:
                self.frames_suppressed += 1
                return False
            self.stalled_until = 0.0
        corked = self.ctx.outbox.corked
        ws = self.ws
        if corked is not None and ws.protocol.state is OPEN and ws.send_in_progress is None:
            # Inside a dispatch: frame it now, write it with the dispatch's other frames in ``flush`` (one
            # socket write instead of one a frame; the client then reads them in one go, as from a venue).
            ws.protocol.send_text(data if isinstance(data, bytes) else data.encode())
            corked.add(self)
            self.frames_sent += 1
            return True
        _broadcast((ws,), data, text=True)
        self.frames_sent += 1
        return self._check_backlog()

    def flush(self) -> None:
        """Write the frames ``send`` queued during a dispatch, in order, in one write."""
        ws = self.ws
        chunks = ws.protocol.data_to_send()
        if not chunks:
            return
        transport = ws.transport
        if transport is None:
            return
        try:
            if all(chunks):
                transport.write(b"".join(chunks))
            else:  # an end-of-stream marker (b""), only ever after a close: write them as websockets would
                for data in chunks:
                    if data:
                        transport.write(data)
                    elif transport.can_write_eof():
                        transport.write_eof()
                    else:
                        transport.close()
        except Exception as exc:  # as broadcast() does: a failed write is logged, never raised into the pump
            self.log.warning("skipped a write: %s", exc)
            return
        self._check_backlog()

    def _check_backlog(self) -> bool:
        transport = self.ws.transport
        outbox = self.ctx.outbox
        if (transport is not None and not outbox.backpressure
                and transport.get_write_buffer_size() > outbox.max_buffer):
            self.log.warning("dropping a slow consumer (%d bytes unread)", transport.get_write_buffer_size())
            self.abort()
            return False
        return True

    def send_binary(self, data: bytes) -> bool:
        """A binary frame (only faults send these: no venue here speaks binary)."""
        if self.closed:
            return False
        _broadcast((self.ws,), data, text=False)
        return True

    def send_json(self, obj: Any) -> bool:
        return self.send(orjson.dumps(obj))

    def abort(self) -> None:
        """Cut the TCP connection without a close frame (the client sees 1006)."""
        self.closed = True
        transport = self.ws.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True
        try:
            await self.ws.close(code, reason)
        except ConnectionClosed:
            pass

    def stall(self, seconds: float) -> None:
        """Produce nothing for ``seconds`` (frames in that time are never sent, as when a venue stalls)."""
        self.stalled_until = self.ctx.loop_time() + seconds

    # -- input ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        await self.on_open()
        try:
            async for message in self.ws:
                self.last_client_frame = self.ctx.loop_time()
                await self.on_message(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.on_close()

    # -- hooks ----------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        """Called once after the handshake, before any client frame is read."""

    async def on_message(self, message: str | bytes) -> None:
        """One client frame."""

    def on_close(self) -> None:
        """Drop every subscription (called once when the socket ends)."""
        self.ctx.unsubscribe_all(self)

    def on_book(self, key: tuple[str, str], depth: int | None, changes: list[WindowChange]) -> None:
        """Changes to a book window this connection subscribed to (depth None = the full book)."""

    def on_trade(self, trade: SimTrade) -> None:
        """A trade on a (venue, pair) this connection subscribed to."""

    def on_tick(self, tick: SimTick) -> None:
        """A FinX tick for a pair this connection subscribed to."""

    def on_print(self, trade: EquityPrint) -> None:
        """An equity trade for a ticker this connection subscribed to."""

    def on_timer(self, now: float) -> None:
        """Called about ten times a second with the venues' clock (heartbeats, bars, stalls, idle limits)."""

    def inject(self, fault: str, **params: Any) -> bool:
        """Apply a protocol-specific fault; return False if this protocol has no such fault."""
        return False
