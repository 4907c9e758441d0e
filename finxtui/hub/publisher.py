"""The hub's side of NATS: one connection, the stream and the KV bucket made to measure, and plain publishes.

Messages go out as core publishes into the stream (no per-message acknowledgement: at thousands of book
frames a second an ack per message would be the bottleneck); a message lost to a broken connection shows
as a gap in the per-book ``seq``, and every reader re-snapshots. So on every (re)connection the publisher
makes sure the stream and bucket exist (a memory-backed server that restarted has lost them) and bumps
:attr:`NatsPublisher.generation`, which tells the hub to publish a fresh snapshot of every book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import api
from nats.js.errors import BadRequestError

from finxtui.feeds.backoff import Backoff
from finxtui.model.events import CONNECTING, LIVE, RECONNECTING
from finxtui.sources.natslink import connected_url
from finxtui.wire import hub as wire

log = logging.getLogger("finxtui.hub")

ACK_TIMEOUT = 2.0  # seconds to wait for the stream to store a snapshot


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How the stream is stored and bounded. ``replicas`` > 1 needs a JetStream cluster of that many nodes."""

    storage: str = "memory"  # or "file"
    replicas: int = 1
    max_age: float = 120.0  # seconds a message is kept
    max_bytes: int = 256 * 1024 * 1024
    max_msgs_per_subject: int = 100_000

    def stream_config(self) -> api.StreamConfig:
        return api.StreamConfig(
            name=wire.STREAM, subjects=[f"{wire.PREFIX}.>"], storage=self._storage(), num_replicas=self.replicas,
            max_age=self.max_age, max_bytes=self.max_bytes, max_msgs_per_subject=self.max_msgs_per_subject,
            discard=api.DiscardPolicy.OLD, allow_direct=True, allow_rollup_hdrs=True)

    def _storage(self) -> api.StorageType:
        return api.StorageType.FILE if self.storage == "file" else api.StorageType.MEMORY


class NatsPublisher:
    """Publishes to ``servers`` (several: one cluster); ``on_state(state, detail)`` hears its health."""

    def __init__(self, servers: list[str], limits: StreamLimits, *,
                 on_state: Callable[[str, str], None] | None = None) -> None:
        self.servers = servers
        self.limits = limits
        self.on_state = on_state or (lambda state, detail: None)
        self.state = CONNECTING
        self.detail = ""
        self.generation = 0  # +1 each time the stream is (re)confirmed on a fresh connection
        self.dropped = 0  # messages that could not be handed to the connection
        self._nc: Client | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ensuring: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._last_error = ""
        self._stopping = False

    @property
    def connected_url(self) -> str:
        return connected_url(self._nc)

    def _set(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            self.state, self.detail = state, detail
            log.info("nats %s: %s", state, detail)
            self.on_state(state, detail)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hub-nats")

    async def wait_ready(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        return self._ready.is_set()

    async def _run(self) -> None:
        backoff = Backoff(base=0.5, cap=10.0)
        while not self._stopping:
            self._closed.clear()
            try:
                nc = await nats.connect(
                    servers=self.servers, name="finx-tui hub", allow_reconnect=True, max_reconnect_attempts=3,
                    reconnect_time_wait=0.5, connect_timeout=2, error_cb=self._error, closed_cb=self._on_closed,
                    disconnected_cb=self._on_disconnected, reconnected_cb=self._on_reconnected)
            except Exception as exc:
                wait = backoff.delay()
                self._set(RECONNECTING, f"cannot reach {', '.join(self.servers)}: {self._last_error or exc}; "
                                        f"retrying in {wait:.1f}s")
                await asyncio.sleep(wait)
                continue
            self._nc = nc
            try:
                await self._ensure()
                backoff.failures = 0
            except Exception as exc:
                self._set(RECONNECTING, f"JetStream not usable on {self.connected_url or self.servers[0]}: {exc} "
                                        "(is nats-server running with -js?)")
                with contextlib.suppress(Exception):
                    await nc.close()
                await asyncio.sleep(backoff.delay())
                continue
            await self._closed.wait()  # nats-py reconnects within a cluster itself; closed means it gave up
            self._ready.clear()
            if not self._stopping:
                self._set(RECONNECTING, f"lost {', '.join(self.servers)}: {self._last_error or 'closed'}")
                await asyncio.sleep(backoff.delay())

    async def _ensure(self) -> None:
        """The stream and the bucket exist with our limits; then every book gets a fresh snapshot."""
        nc = self._nc
        assert nc is not None
        js = nc.jetstream(timeout=5)
        config = self.limits.stream_config()
        try:
            await js.add_stream(config)
        except BadRequestError:  # there with other limits (an older hub's flags): take ours
            await js.update_stream(config)
        try:
            await js.create_key_value(bucket=wire.BUCKET, history=1, storage=self.limits._storage(),
                                      replicas=self.limits.replicas, max_value_size=1024 * 1024)
        except BadRequestError:
            await js.key_value(wire.BUCKET)
        self.generation += 1
        self._ready.set()
        self._set(LIVE, f"publishing to {self.connected_url}")

    async def _error(self, exc: Exception) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _on_closed(self) -> None:
        self._closed.set()

    async def _on_disconnected(self) -> None:
        self._ready.clear()
        if not self._stopping:
            self._set(RECONNECTING, f"disconnected from NATS ({self._last_error or 'connection lost'}); reconnecting")

    async def _on_reconnected(self) -> None:
        # A server that just restarted may not have JetStream ready yet: keep trying, in the background.
        if self._ensuring is None or self._ensuring.done():
            self._ensuring = asyncio.get_running_loop().create_task(self._ensure_until_ready(), name="hub-ensure")

    async def _ensure_until_ready(self) -> None:
        backoff = Backoff(base=0.2, cap=5.0)
        nc = self._nc
        while not self._stopping and nc is not None and nc.is_connected:
            try:
                await self._ensure()
                return
            except Exception as exc:
                wait = backoff.delay()
                self._set(RECONNECTING, f"JetStream not ready on {self.connected_url}: {exc}; retrying in {wait:.1f}s")
                await asyncio.sleep(wait)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def publish(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> bool:
        """Hand one message to the connection; False (and counted) when it cannot take it now."""
        nc = self._nc
        if nc is None or not self._ready.is_set():
            self.dropped += 1
            return False
        try:
            await nc.publish(subject, body, headers=headers)
        except Exception:
            self.dropped += 1
            return False
        return True

    async def publish_stored(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> bool:
        """Publish and wait for the stream's acknowledgement: True only once the message is stored.

        For snapshots: a reader that re-joins takes the last stored one, so the hub must know it is there
        (a cluster electing a new stream leader can lose a plain publish silently)."""
        nc = self._nc
        if nc is None or not self._ready.is_set():
            self.dropped += 1
            return False
        try:
            await nc.jetstream().publish(subject, body, timeout=ACK_TIMEOUT, stream=wire.STREAM, headers=headers)
        except Exception:
            self.dropped += 1
            return False
        return True

    async def put(self, key: str, body: bytes) -> bool:
        """Set a KV key (a plain publish on its subject: last values need no acknowledgement)."""
        return await self.publish(wire.kv_subject(key), body)

    async def close(self) -> None:
        self._stopping = True
        nc = self._nc
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.flush(timeout=1)
            with contextlib.suppress(Exception):
                await nc.close()
        if self._ensuring is not None:
            self._ensuring.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
