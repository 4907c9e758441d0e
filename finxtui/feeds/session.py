"""The reconnecting websocket session every feed is built on.

A feed is an async iterator of normalized events (``async for event in feed``), in the style of
bitmex-trio-websocket: no callbacks. This base class owns the connection's life: connect with exponential
backoff, jitter and a cap (reset after a healthy period), a silence watchdog, status events with a reason,
and a cooperative yield so a busy socket never starves the event loop. Subclasses speak one protocol:
they subscribe in :meth:`on_connected`, turn frames into events in :meth:`on_frame`, and judge liveness
in :meth:`check_health`.

Its helpers have modules of their own: :mod:`~finxtui.feeds.backoff` (when to retry) and
:mod:`~finxtui.feeds.rejects` (frames it cannot use); ``Backoff`` and ``REJECT_LOG_BURST`` are re-exported here.

Why a hand-made watchdog: ``asyncio.timeout`` around each ``recv`` costs about 4 µs a frame, a quarter of
the per-frame budget. Instead one timer re-arms itself a few times a second and wakes the reader (by
cancelling its ``recv``, which websockets documents as safe) only when the socket has been quiet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import current_task
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from finxtui.feeds.backoff import Backoff
from finxtui.feeds.rejects import REJECT_LOG_BURST, Rejections
from finxtui.feeds.ws_ends import QUIET, describe_close, describe_connect_error, discard
from finxtui.model.events import (
    CONNECTING,
    ERROR,
    LIVE,
    RECONNECTING,
    RESYNCING,
    STALE,
    Event,
    Status,
)

log = logging.getLogger("finxtui.feeds")

YIELD_EVERY = 0.002  # seconds of uninterrupted work before the reader lets the event loop run
#: frames taken from websockets' queue between two clock reads (yield, health and arrival stamps are due then)
BATCH = 64
WAKE_INTERVAL = 0.5  # how often (by default) a quiet socket wakes the reader to check health
MAX_FRAME = 16 * 1024 * 1024  # a frame larger than this is a protocol error, not data
# Reasons for rejected frames: fixed texts, so each kind is logged once with a sample.
NOT_JSON = "not JSON"
NOT_OBJECT = "not a JSON object"


class FatalFeedError(Exception):
    """A failure retrying cannot fix soon (bad credentials): report ``error`` and wait for the user."""


class Resync(Exception):
    """Raised by a subclass to reconnect now (after a status saying why)."""


class Feed:
    """Base of every source's feed. Iterate it; call :meth:`reconnect` to start over; :meth:`aclose` ends it."""

    source = ""
    #: seconds without any frame before the socket counts as stale, and before it is abandoned
    stale_after = 20.0
    dead_after = 40.0
    #: after a fatal error (bad key), wait this long before trying again unless asked to
    error_retry = 300.0

    def __init__(self, *, clock: Callable[[], float] = time.time, backoff: Backoff | None = None,
                 open_timeout: float = 10.0, health_interval: float = WAKE_INTERVAL) -> None:
        """``clock`` stamps events; every ``health_interval`` (loop) seconds the session checks liveness, waking a
        reader blocked on a quiet socket (a test that compresses a venue's time shortens it alike)."""
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.health_interval = health_interval
        self.ws: ClientConnection | None = None
        self.state = ""
        self.detail = ""
        self.frames = 0
        self._out: deque[Event] = deque()
        self._closed = False
        self._reason = ""
        self._fatal: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected_at = 0.0
        self._last_rx = 0.0
        self._last_yield = 0.0
        self._last_health = 0.0
        self._wake: asyncio.TimerHandle | None = None
        self._reader: asyncio.Task | None = None
        self._in_recv = False
        self._woken = False
        self._attempts = 0
        self._retry_now: asyncio.Event | None = None
        self._sleep_until: float | None = None
        self._outbox: list[str] = []
        self._socket_stale = False
        self._queued: deque[Any] | None = None  # websockets' parsed frames (see ``_take_queue``)
        self._assembler: Any = None
        self._credit = 0
        self.rejects = Rejections(log)

    # -- what subclasses provide ----------------------------------------------------------------------

    def url(self) -> str:
        """The full URL to connect to (base + protocol path + query)."""
        raise NotImplementedError

    def display_url(self) -> str:
        """The URL as it may be shown or logged: never with a credential in it."""
        return self.url()

    async def on_connected(self, ws: ClientConnection) -> None:
        """Subscribe. Called once per connection, before any frame is read."""

    def on_frame(self, frame: str | bytes) -> None:
        """Parse one frame and ``emit`` what it means. Exceptions are caught, logged and counted."""
        raise NotImplementedError

    def on_disconnected(self) -> None:
        """Forget per-connection state (channel ids, partial flags); books are kept until the resync."""

    def on_closed(self, exc: ConnectionClosed) -> None:
        """The server closed the socket; a subclass may read the close code and call :meth:`fatal`."""

    @property
    def attempts(self) -> int:
        """Connection attempts so far (a bad key must not make this grow quickly)."""
        return self._attempts

    def check_health(self, now: float) -> None:
        """Called every ``health_interval`` seconds or so (loop clock): per-subscription silence, heartbeats."""

    def refresh_status(self) -> None:
        """Work out the state from the subscriptions (after a snapshot, or when a quiet socket talks again)."""
        if self.state == STALE:
            self.set_status(LIVE, "")

    # -- what subclasses call -------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self._out.append(event)

    def set_status(self, state: str, detail: str = "") -> None:
        """Emit a status event when the state or its reason changes."""
        if state == self.state and detail == self.detail:
            return
        self.state = state
        self.detail = detail
        if state in (ERROR, RESYNCING, STALE, RECONNECTING):
            log.warning("%s %s: %s", self.source, state, detail)
        else:
            log.info("%s %s %s", self.source, state, detail)
        self._out.append(Status(self.source, state, detail, self.clock()))

    def reject(self, reason: str, frame: str | bytes = b"") -> None:
        """A frame we cannot use: count it, log it with its reason and a sample (a flood is capped), carry on."""
        self.rejects.add(self.source, reason, frame)

    def json_object(self, frame: str | bytes) -> dict[str, Any] | None:
        """The frame as a JSON object; None once it is rejected (not JSON, or JSON but not an object)."""
        try:
            msg = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.reject(NOT_JSON, frame)
            return None
        if type(msg) is not dict:
            self.reject(NOT_OBJECT, frame)
            return None
        return msg

    @property
    def rejected_frames(self) -> int:
        """Frames this feed could not use, in all."""
        return self.rejects.total

    @property
    def rejections(self) -> dict[str, int]:
        """Rejected frames by kind (a reason up to its first colon)."""
        return self.rejects.by_kind

    def fatal(self, reason: str) -> None:
        """Stop retrying: credentials or configuration are wrong. The user can still ask to reconnect."""
        self._fatal = reason
        raise FatalFeedError(reason)

    async def send_json(self, obj: Any) -> None:
        if self.ws is not None:
            await self.ws.send(orjson.dumps(obj).decode())

    def send_later(self, obj: Any) -> None:
        """Queue a message from synchronous code (``on_frame``); it goes out before the next read."""
        self._outbox.append(obj if isinstance(obj, str) else orjson.dumps(obj).decode())

    def loop_time(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    # -- control --------------------------------------------------------------------------------------

    def reconnect(self, reason: str = "reconnect requested") -> None:
        """Drop the connection (if any) and connect again at once, fatal errors included."""
        self._fatal = None
        self.backoff.failures = 0
        self._reason = reason
        if self._retry_now is not None:
            self._retry_now.set()
        if self.ws is not None:
            self._abort_ws()

    async def aclose(self) -> None:
        self._closed = True
        if self._wake is not None:
            self._wake.cancel()
        if self.ws is not None:
            ws, self.ws = self.ws, None
            # Frames nobody will read keep reading paused, and the server's close frame waits behind them:
            # drop them while the close handshake runs, or every early stop costs the whole close timeout.
            drain = asyncio.ensure_future(discard(ws))
            try:
                await asyncio.wait_for(ws.close(), 2)
            except (TimeoutError, ConnectionClosed, OSError):
                pass
            finally:
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)

    def _abort_ws(self) -> None:
        ws = self.ws
        if ws is not None and ws.transport is not None:
            ws.transport.abort()

    # -- iteration ------------------------------------------------------------------------------------

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> Event:
        out = self._out
        while True:
            if out:
                return out.popleft()
            if self._closed:
                raise StopAsyncIteration
            ws = self.ws
            if ws is None:
                await self._connect()
                continue
            # Frames websockets has already parsed sit in its queue: take them straight from there, up to
            # BATCH between clock reads. ``recv()`` would cost three coroutines a frame for the same bytes.
            queued = self._queued
            if queued and self._credit and queued[0].fin:
                frame = bytes(queued.popleft().data)  # a bytearray there, as recv() would return it
                self._credit -= 1
                assembler = self._assembler
                if assembler.paused and len(queued) <= assembler.low:
                    assembler.maybe_resume()  # flow control as ``recv`` does it: below the low-water mark, read again
                self.process(frame)  # the same checks as a frame from ``recv``, the size limit included
                continue
            # The read is inlined here, not in a coroutine of its own: one more coroutine a frame costs a
            # measurable share of the feed at 100k frames/s. The chores before a read run only when due.
            loop = self._loop
            assert loop is not None
            now = loop.time()
            if (now - self._last_yield > YIELD_EVERY or now - self._last_health > self.health_interval
                    or self._outbox) and not await self._chores(ws, now):
                continue
            self._in_recv = True
            self._reader = current_task(loop)
            try:
                frame = await ws.recv(decode=False)
            except asyncio.CancelledError:
                if not self._woken:
                    raise
                self._woken = False
                task = current_task(loop)
                if task is not None and task.uncancel() > 0:
                    raise  # someone else cancelled us in the same moment: theirs wins
                continue
            except ConnectionClosed as exc:
                self._closed_by_server(exc)
                continue
            finally:
                self._in_recv = False
            self._last_rx = loop.time()
            self._credit = BATCH
            self.process(frame)

    def _take_queue(self, ws: ClientConnection) -> None:
        """Find websockets' queue of parsed frames (``None``: always read through ``recv``).

        ``recv()`` pops this queue through ``Assembler.get``; it is not public API, so it is looked up, not
        assumed (websockets is bounded below 18), and without it every frame goes through ``recv``.
        """
        assembler = getattr(ws, "recv_messages", None)
        queue = getattr(getattr(assembler, "frames", None), "queue", None)
        if not isinstance(queue, deque) or not callable(getattr(assembler, "maybe_resume", None)):
            self._queued = None
            return
        self._queued = queue
        self._assembler = assembler

    def process(self, frame: str | bytes) -> None:
        """Handle one frame; never raises. A frame the parser cannot use is counted and logged, not fatal."""
        self.frames += 1
        if len(frame) > MAX_FRAME:
            self.reject("frame larger than the limit", frame[:200])
            return
        try:
            self.on_frame(frame)
        except (Resync, FatalFeedError) as exc:
            self._give_up(exc)
        except Exception as exc:  # one bad frame never ends the feed
            self.reject(f"{type(exc).__name__}: {str(exc)[:80]}", frame)

    def _give_up(self, exc: Resync | FatalFeedError) -> None:
        """A subclass asked to start over (``Resync``) or to stop retrying (``fatal``): drop the connection."""
        if isinstance(exc, Resync):
            self._drop(str(exc) or "resync")
        else:
            self._drop(self._fatal or "fatal error")

    async def _chores(self, ws: ClientConnection, now: float) -> bool:
        """Before a read, when due: yield to the loop, check health, send queued messages. False: do not read."""
        loop = self._loop
        assert loop is not None
        if now - self._last_yield > YIELD_EVERY:
            # recv() returns without suspending while frames are buffered: let timers and input run.
            await asyncio.sleep(0)
            now = self._last_yield = loop.time()
        if now - self._last_health > self.health_interval:
            self._last_health = now
            self._health(now)
            if self.ws is None or self._out:
                return False
        if self._outbox:
            pending, self._outbox = self._outbox, []
            try:
                for message in pending:
                    await ws.send(message)
            except ConnectionClosed as exc:
                self._drop(describe_close(exc, MAX_FRAME))
                return False
        return True

    def _on_wake(self) -> None:
        """Timer: wake a reader blocked on a quiet socket so it can check health."""
        loop = self._loop
        if loop is None or self._closed:
            return
        now = loop.time()
        interval = self.health_interval
        if self._in_recv and self._reader is not None and now - self._last_rx >= interval:
            self._woken = True
            self._reader.cancel()
        self._wake = loop.call_at(now + interval, self._on_wake)

    def _health(self, now: float) -> None:
        idle = now - self._last_rx
        if idle >= self.dead_after:
            self._abort_ws()
            self._drop(f"no data for {idle:.0f}s")
            return
        if idle >= self.stale_after:
            self._socket_stale = True
            self.set_status(STALE, f"no data for {idle:.0f}s")
        elif self._socket_stale:
            self._socket_stale = False
            self.refresh_status()
        try:
            self.check_health(now)
        except (Resync, FatalFeedError) as exc:
            self._give_up(exc)

    def _drop(self, reason: str) -> None:
        """The connection is gone: forget it and schedule the next attempt."""
        if self.ws is not None:
            self._abort_ws()
        self.ws = None
        self._queued = None
        self._outbox = []
        self._socket_stale = False
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        loop = self._loop
        if loop is not None and self._connected_at:
            self.backoff.connected_for(loop.time() - self._connected_at)
        self._connected_at = 0.0
        self._reason = self._reason or reason
        try:
            self.on_disconnected()
        except Exception:
            log.exception("%s: on_disconnected failed", self.source)

    async def _connect(self) -> None:
        """One step towards a connection. Returns early when a status must reach the consumer first."""
        self._loop = loop = asyncio.get_running_loop()
        if self._retry_now is None:
            self._retry_now = asyncio.Event()
        if self._sleep_until is None:
            now = loop.time()
            if self._fatal is not None:
                self.set_status(ERROR, self._fatal)
                self._sleep_until = now + self.error_retry
            elif self._attempts > 0:
                delay = self.backoff.delay()
                self.set_status(RECONNECTING, f"{self._reason or 'connection lost'}; retrying in {delay:.1f}s")
                self._sleep_until = now + delay
            else:
                self._sleep_until = now
            if self._out:
                return  # hand the status out before waiting
        wait = self._sleep_until - loop.time()
        if wait > 0:
            await self._wait_retry(wait)
        self._sleep_until = None
        self._fatal = None  # after the error pause, or when asked to, try again: keys get fixed and rotate
        self._attempts += 1
        self._reason = ""
        self.set_status(CONNECTING, self.display_url())
        try:
            ws = await websockets.connect(self.url(), open_timeout=self.open_timeout, max_size=MAX_FRAME,
                                          compression="deflate", ping_interval=20, ping_timeout=20,
                                          close_timeout=2, logger=QUIET)
        except InvalidStatus as exc:
            code = exc.response.status_code
            self._reason = f"refused with HTTP {code}"
            if code in (401, 403):
                self._fatal = f"{self._reason}: the server rejected the API key ({self.credential_hint()})"
            return
        except (InvalidURI, ValueError):
            # The exception text holds the whole URL, which may carry a key: name the safe form only.
            self._fatal = self._reason = f"bad URL: {self.display_url()}"
            return
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self._reason = describe_connect_error(exc)
            return
        self.ws = ws
        self._take_queue(ws)
        self._connected_at = self._last_rx = self._last_yield = self._last_health = loop.time()
        self._wake = loop.call_at(loop.time() + self.health_interval, self._on_wake)
        try:
            await self.on_connected(ws)
        except FatalFeedError:
            self._drop(self._fatal or "fatal error")
        except ConnectionClosed as exc:
            self._closed_by_server(exc)

    def _closed_by_server(self, exc: ConnectionClosed) -> None:
        try:
            self.on_closed(exc)  # a subclass may read the close code and call fatal()
        except FatalFeedError:
            pass
        self._drop(self._fatal or describe_close(exc, MAX_FRAME))

    def credential_hint(self) -> str:
        """Which setting holds this source's key (for error text)."""
        return "no key needed"

    async def _wait_retry(self, delay: float) -> None:
        assert self._retry_now is not None
        self._retry_now.clear()
        try:
            await asyncio.wait_for(self._retry_now.wait(), delay)
        except TimeoutError:
            pass


__all__ = ["CONNECTING", "ERROR", "LIVE", "MAX_FRAME", "RECONNECTING", "REJECT_LOG_BURST", "RESYNCING", "STALE",
           "Backoff", "FatalFeedError", "Feed", "Resync"]
