"""A finx-tui hub on NATS JetStream as a source: the venues' events without a connection to any venue.

How a book is joined (the layout is :mod:`finxtui.wire.hub`): direct-get the book's last snapshot (stream
sequence S), then an ordered consumer on ``md.<venue>.<pair>.>`` from S+1, which brings the deltas,
trades and later snapshots of that pair in stream order. Each delta must carry ``seq`` = held + 1 in the
same publisher ``epoch``; a gap, a new epoch, a consumer that trimming left behind, a book that stops moving
while the hub's heartbeat says it moves, or a reader that fell more than :data:`STALE_QUEUE` seconds behind
all end the same way: the venue shows ``resyncing`` and the book starts again from the latest snapshot.
Nothing stale is shown as live.

Last values (status, last price, instruments) come from the KV bucket, so a new monitor paints at once. The
hub's heartbeat there says who publishes and how far each book is; its absence makes every venue ``stale``.
Messages are applied in the reader's ``__anext__``, so each ``BookUpdate``'s book is as of its frame (what
``tail`` prints); what waits for the reader is bounded (:data:`QUEUE_SIZE` messages, then the consumers
wait, and the server's flow control holds the rest: :mod:`finxtui.sources.hubqueue`). The connection
itself is kept by :mod:`finxtui.sources.natslink`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from finxtui.config import Config
from finxtui.feeds.backoff import Backoff
from finxtui.model.events import CONNECTING, LIVE, RESYNCING, STALE, Event, Status, Tick
from finxtui.sources.base import HistoryUnavailable, Pacer, Playback, cancel_all
from finxtui.sources.hubbook import HubChannel, Resync
from finxtui.sources.hubqueue import Handover, HubMessage
from finxtui.sources.live import LiveSource
from finxtui.sources.natslink import NatsLink, unsubscribe
from finxtui.wire import hub as wire
from finxtui.wire.lines import LineError, decode, load
from finxtui.wire.venues import FINX, SOURCES, VENUES

if TYPE_CHECKING:  # nats-py itself is imported where a hub is joined (see natslink.py)
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger("finxtui.sources.hub")

HUB = "hub"  # the source name of the hub's own health row
QUEUE_SIZE = 5_000  # hub messages waiting for the reader before the consumers wait
STALE_QUEUE = 1.0  # seconds a message may wait for the reader before its book is re-joined instead
STUCK_AFTER = 3.0  # seconds a book may stand still while the hub's heartbeat says it moved
JOIN_TIMEOUT = 10.0  # seconds one (re-)join of a book may take before it is tried again
REBUILD_AFTER = 6.0  # seconds without a heartbeat on a live connection before subscribing anew
REBUILD_CAP = 60.0
PENDING_LIMIT = 50_000  # messages nats-py may hold per consumer beyond the queue (then flow control holds)


class HubSource:
    """Events of ``venues`` (default: every enabled one) for ``pairs`` from the hub at ``servers``.

    ``servers`` is one URL or several of one cluster (``nats://a:4222,nats://b:4222``). ``hub_status``
    adds a ``hub`` health row (the monitor's status bar); ``tail`` and ``record`` leave it out so their
    output is a venue's own. ``config`` gives the pair table and, for tick history, the FinX endpoint.
    """

    kind = "hub"
    recorded = False
    has_account = False
    playback: Playback | None = None

    def __init__(self, servers: str | Sequence[str], config: Config, *, venues: Iterable[str] | None = None,
                 pairs: Iterable[str] | None = None, hub_status: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.servers = wire.servers(servers) if isinstance(servers, str) else list(servers)
        self.config = config
        self.clock = clock
        chosen = list(venues) if venues is not None else [s for s in SOURCES if config.enabled.get(s, True)]
        self.market_venues: tuple[str, ...] = tuple(chosen)
        self.venues: tuple[str, ...] = ((HUB,) if hub_status else ()) + self.market_venues
        self.hub_status = hub_status
        self.rejected = 0  # malformed or foreign messages skipped
        self.resyncs = 0  # books re-joined from a snapshot
        self._wanted = tuple(pairs) if pairs is not None else tuple(config.watchlist)
        self._chans: dict[tuple[str, str], HubChannel] = {}
        self._chan_tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._subs: dict[tuple[str, str], Any] = {}
        self._handover = Handover(QUEUE_SIZE)
        self._pacer = Pacer()
        self._nats = NatsLink(self.servers, name="hub-source", session=self._session, teardown=self._teardown,
                              on_state=self._on_link)
        self._js: JetStreamContext | None = None
        self._started = False
        self._stopped = False
        self._logged: set[str] = set()
        self._hub: tuple[str, str] = ("", "")
        self._emitted: dict[str, tuple[str, str]] = {}
        self._upstream: dict[str, tuple[str, str]] = {}
        self._link = ""  # why the connection to NATS is down ("" when up)
        self._beat: dict[str, Any] = {}
        self._beat_at = 0.0  # monotonic time of the last heartbeat that moved
        self._painted: set[str] = set()
        self._rebuild_after = REBUILD_AFTER

    # -- what a source offers -------------------------------------------------------------------------

    def badge(self) -> str:
        return "HUB"

    @property
    def connected_url(self) -> str:
        return self._nats.connected_url

    @property
    def backlog(self) -> int:
        """Hub messages read from NATS and waiting for the reader now (at most :data:`QUEUE_SIZE`)."""
        return self._handover.backlog

    def books(self) -> dict[tuple[str, str], HubChannel]:
        """Every book held now, by ``(venue, pair)`` (read-only use: ``.book``, ``.seq``, ``.syncing``)."""
        return dict(self._chans)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for venue in self.market_venues:
            self._emit_status(venue, CONNECTING, f"waiting for the hub at {', '.join(self.servers)}")
        self._set_hub(CONNECTING, f"connecting to {', '.join(self.servers)}")
        self._apply_pairs()
        self._nats.start()

    def follow(self, pairs: Iterable[str]) -> None:
        self._wanted = tuple(dict.fromkeys(pairs))
        if self._started and not self._stopped:
            self._apply_pairs()

    def reconnect(self, reason: str = "reconnect requested") -> None:
        """Re-join every book from its snapshot (the connection itself reconnects on its own)."""
        for key in self._chans:
            self._resync(key, reason)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._nats.close()
        self._handover.wake()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            await self.start()
        while True:
            control = self._handover.control()
            if control is not None:
                return control
            if self._stopped:
                raise StopAsyncIteration
            item = await self._handover.get()
            if item is None:
                continue  # a wake-up (a status pushed ahead, or the end)
            event = self._take(item)
            if event is not None:
                await self._pacer.pace()
                return event

    async def history(self, pair: str, day: date) -> AsyncIterator[Sequence[Tick]]:
        """The hub carries live data; tick history comes from FinX itself when a FinX key is configured."""
        if FINX.tag not in self.market_venues:
            raise HistoryUnavailable("FinX is not enabled: no tick history")
        if not self.config.credentials.finx_key:
            raise HistoryUnavailable(f"the hub carries no history; set {FINX.key_hint()} to load it from FinX")
        async for page in LiveSource(self.config, venues=[FINX.tag]).history(pair, day):
            yield page

    # -- applying messages (in the reader) --------------------------------------------------------------

    def _take(self, item: HubMessage) -> Event | None:
        chan = item.chan
        key = (chan.venue, chan.pair)
        if item.gen != chan.gen or self._chans.get(key) is not chan:
            return None  # from a subscription a resync replaced
        now = time.monotonic()
        if now - item.t > STALE_QUEUE:
            self._resync(key, f"catching up: the reader fell {now - item.t:.1f}s behind")
            return None
        try:
            event = chan.apply(item.subject, item.data, now)
        except Resync as exc:
            self._resync(key, str(exc))
            return None
        except LineError as exc:
            self._reject(item.subject, str(exc))
            return None
        if event is not None and event.type == "book" and not chan.syncing:
            self._venue_changed(chan.venue)
        return event

    def _reject(self, subject: str, why: str) -> None:
        self.rejected += 1
        kind = subject.rsplit(".", 1)[-1]
        if kind not in self._logged:  # once per kind of subject: a flood must not flood the log
            self._logged.add(kind)
            log.warning("skipped a message on %s: %s (further ones are counted, not logged)", subject, why)

    # -- statuses -------------------------------------------------------------------------------------

    def _set_hub(self, state: str, detail: str, *, beat: bool = False) -> None:
        if (state, detail) == self._hub and not beat:
            return
        self._hub = (state, detail)
        if self.hub_status:
            self._handover.push(Status(HUB, state, detail, self.clock()))
        for venue in self.market_venues:
            self._venue_changed(venue)

    def _emit_status(self, venue: str, state: str, detail: str) -> None:
        if self._emitted.get(venue) != (state, detail):
            self._emitted[venue] = (state, detail)
            self._handover.push(Status(venue, state, detail, self.clock()))

    def _venue_changed(self, venue: str) -> None:
        """The venue's row: the hub's reach first, then this reader's own sync, then the upstream state."""
        if not self._started:
            return
        beat_age = time.monotonic() - self._beat_at if self._beat_at else None
        if self._link:
            state, detail = STALE, f"no hub: {self._link}"
        elif self._beat.get("state") == "stopped":
            state, detail = STALE, "the hub stopped"
        elif beat_age is not None and beat_age > wire.HEARTBEAT_STALE:
            state, detail = STALE, "the hub is silent (no heartbeat)"
        elif not self._beat:
            state, detail = CONNECTING, "waiting for the hub's heartbeat"
        elif any(c.syncing and c.hub_seq >= 0 for c in self._chans.values() if c.venue == venue):
            state, detail = RESYNCING, "joining the hub's book from its snapshot"
        elif venue in self._upstream:
            up_state, up_detail = self._upstream[venue]
            age = (self._beat.get("venues") or {}).get(venue, {}).get("age")
            suffix = f" (upstream, {age:.0f}s ago)" if up_state != LIVE and isinstance(age, int | float) else ""
            state, detail = up_state, (up_detail + suffix).strip()
        else:
            state, detail = CONNECTING, "the hub has no word from this venue yet"
        self._emit_status(venue, state, detail)

    def _on_link(self, state: str, detail: str, down: str | None) -> None:
        if down is not None:
            self._link = down
        self._set_hub(state, detail)

    # -- pairs and books ------------------------------------------------------------------------------

    def _apply_pairs(self) -> None:
        table = self.config.pairs
        wanted = {(v, p) for p in self._wanted for v in self.market_venues if v in table.sources_for(p)}
        for key in list(self._chans):
            if key not in wanted:
                self._drop_chan(key)
        for key in sorted(wanted - set(self._chans)):
            self._chans[key] = HubChannel(*key)
            self._wake[key] = asyncio.Event()
            self._wake[key].set()
            if self._js is not None:
                self._start_chan(key)

    def _start_chan(self, key: tuple[str, str]) -> None:
        task = self._chan_tasks.get(key)
        if task is None or task.done():
            self._chan_tasks[key] = asyncio.get_running_loop().create_task(self._chan_loop(key), name=f"hub-{key}")

    def _drop_chan(self, key: tuple[str, str]) -> None:
        chan = self._chans.pop(key, None)
        if chan is not None:
            chan.gen += 1
        task = self._chan_tasks.pop(key, None)
        if task is not None:
            task.cancel()
        sub = self._subs.pop(key, None)
        if sub is not None:
            asyncio.get_running_loop().create_task(unsubscribe(sub))

    def _resync(self, key: tuple[str, str], why: str) -> None:
        chan = self._chans.get(key)
        if chan is None:
            return
        # A book that was held is worth a line; repeated attempts at one not yet held only at debug level.
        log.log(logging.INFO if chan.seq >= 0 else logging.DEBUG, "%s %s: re-joining from the snapshot: %s",
                key[0], key[1], why)
        self.resyncs += 1
        chan.reset()
        chan.progress_at = time.monotonic()  # the stuck timer restarts: a slow join must not be re-woken mid-way
        self._venue_changed(chan.venue)
        wake = self._wake.get(key)
        if wake is not None:
            wake.set()

    async def _chan_loop(self, key: tuple[str, str]) -> None:
        """Join (and re-join, when woken) one book: snapshot first, then the consumer after it."""
        backoff = Backoff(base=0.2, cap=5.0)
        wake = self._wake[key]
        while True:
            await wake.wait()
            wake.clear()
            chan = self._chans.get(key)
            js = self._js
            if chan is None or js is None:
                return
            try:
                async with asyncio.timeout(JOIN_TIMEOUT):  # a server busy electing leaders must not hang a book
                    await self._join(chan, js)
                backoff.failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._js is not js or self._stopped:
                    return  # the session this join belonged to is over
                log.info("%s %s: join failed (%s: %s); retrying", chan.venue, chan.pair, type(exc).__name__, exc)
                await asyncio.sleep(backoff.delay())
                wake.set()

    async def _join(self, chan: HubChannel, js: JetStreamContext) -> None:
        from nats.js import api
        from nats.js.errors import NotFoundError

        key = (chan.venue, chan.pair)
        chan.reset()  # a new generation: whatever an older subscription still delivers is dropped
        gen = chan.gen
        old = self._subs.pop(key, None)
        if old is not None:
            await unsubscribe(old)
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.NEW)
        if VENUES[chan.venue].books:
            asked = time.monotonic()  # the snapshot is no newer than the moment it was asked for
            try:
                snap = await js.get_msg(wire.STREAM, subject=wire.subject(chan.venue, chan.pair, wire.SNAP),
                                        direct=True)
            except NotFoundError:
                snap = None
            if snap is not None and snap.data is not None and snap.seq is not None:
                await self._handover.put(chan, gen, wire.subject(chan.venue, chan.pair, wire.SNAP), snap.data, asked)
                config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                            opt_start_seq=snap.seq + 1)
        else:
            chan.syncing = False  # no book to join: ticks and bars start flowing at once

        async def on_msg(msg: Msg) -> None:
            await self._handover.put(chan, gen, msg.subject, msg.data)

        sub = await js.subscribe(wire.pair_filter(chan.venue, chan.pair), stream=wire.STREAM, cb=on_msg,
                                 ordered_consumer=True, config=config, pending_msgs_limit=PENDING_LIMIT)
        if chan.gen != gen:  # re-woken while subscribing: this one is already out of date
            await unsubscribe(sub)
            return
        self._subs[key] = sub
        chan.progress_at = time.monotonic()
        self._venue_changed(chan.venue)

    # -- the connection -------------------------------------------------------------------------------

    async def _session(self, nc: Client) -> None:
        """One connection's subscriptions: the KV bucket, then every book; until the connection changes."""
        from nats.js import api
        from nats.js.errors import NotFoundError

        js = nc.jetstream(timeout=5)
        url = self.connected_url
        try:
            await js.stream_info(wire.STREAM)
            await js.stream_info(f"KV_{wire.BUCKET}")
        except NotFoundError:
            raise RuntimeError(f"no hub publishes on {url} yet (no stream {wire.STREAM})") from None
        self._link = ""
        self._beat_at = 0.0
        self._beat = {}
        kv = await js.subscribe(f"$KV.{wire.BUCKET}.>", stream=f"KV_{wire.BUCKET}", cb=self._on_kv,
                                ordered_consumer=True, deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT)
        self._set_hub(CONNECTING, f"connected to {url}; waiting for the hub's heartbeat")
        self._js = js
        for key in self._chans:
            self._resync(key, "connected to the hub")
            self._start_chan(key)
        opened = time.monotonic()
        try:
            while not self._nats.session_end.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._nats.session_end.wait()
                self._watchdog()
                # Silence on a live connection may be our own consumers' fault: right after a cluster loses a
                # node, a consumer can be placed on the node that is gone and never deliver. Build them anew,
                # less often the longer the silence lasts (a hub that said it stopped is simply waited for).
                quiet = time.monotonic() - max(self._beat_at, opened)
                if quiet > self._rebuild_after and self._beat.get("state") != "stopped":
                    log.info("no heartbeat for %.0fs on %s: subscribing anew", quiet, url)
                    self._rebuild_after = min(self._rebuild_after * 2, REBUILD_CAP)
                    return
                if self._beat_at and quiet < wire.HEARTBEAT_STALE:
                    self._rebuild_after = REBUILD_AFTER
        finally:
            await unsubscribe(kv)

    async def _teardown(self) -> None:
        self._js = None
        tasks = list(self._chan_tasks.values())
        self._chan_tasks.clear()
        await cancel_all(tasks, timeout=5)
        subs = list(self._subs.values())
        self._subs.clear()
        for sub in subs:
            await unsubscribe(sub)
        for key in self._chans:
            self._wake[key].set()

    def _watchdog(self) -> None:
        """Twice a second: the hub's heartbeat, and books that stand still while the hub's moved on."""
        now = time.monotonic()
        if self._beat.get("state") == "stopped":
            return  # said so already: "the hub stopped"
        if self._beat_at and now - self._beat_at > wire.HEARTBEAT_STALE:
            since = time.strftime("%H:%M:%S", time.gmtime(self.clock() - (now - self._beat_at)))
            self._set_hub(STALE, f"no heartbeat from the hub since {since} UTC (hub stopped?)")
            return
        epoch = self._beat.get("epoch")
        for key, chan in self._chans.items():
            if chan.hub_seq < 0:
                continue
            if chan.seq >= 0 and epoch and chan.epoch != epoch:
                self._resync(key, f"the hub restarted (epoch {epoch})")
            elif chan.hub_seq > chan.seq and now - chan.progress_at > STUCK_AFTER:
                self._resync(key, f"no progress for {now - chan.progress_at:.0f}s while the hub moved on")

    async def _on_kv(self, msg: Msg) -> None:
        prefix = f"$KV.{wire.BUCKET}."
        key = msg.subject[len(prefix):] if msg.subject.startswith(prefix) else ""
        if not msg.data or (msg.headers or {}).get("KV-Operation") in ("DEL", "PURGE"):
            return
        try:
            obj = load(msg.data)
            if key == wire.HEARTBEAT_KEY:
                self._on_beat(obj)
            elif key.startswith("status."):
                self._on_upstream(key[len("status."):], obj)
            elif key.startswith(("last.", "inst.")):
                self._on_last(key, obj)
        except (LineError, KeyError, TypeError, ValueError) as exc:
            self._reject(msg.subject, str(exc))

    def _on_beat(self, obj: dict[str, Any]) -> None:
        if obj.get("type") != "hub" or not isinstance(obj.get("books"), dict):
            raise LineError("a heartbeat without 'books'")
        self._beat = obj
        self._beat_at = time.monotonic()
        books = obj["books"]
        for (venue, pair), chan in self._chans.items():
            seq = books.get(wire.book_key(venue, pair))
            chan.hub_seq = seq if isinstance(seq, int) else -1
        if obj.get("state") == "stopped":
            self._set_hub(STALE, "the hub stopped")
        else:
            self._set_hub(LIVE, f"{self.connected_url} · hub {obj.get('epoch')}", beat=True)

    def _on_upstream(self, venue: str, obj: dict[str, Any]) -> None:
        status = decode(obj)
        if not isinstance(status, Status) or status.source != venue:
            raise LineError(f"a {obj.get('type')!r} line for {obj.get('source')!r} under status.{venue}")
        if venue in self.market_venues:
            self._upstream[venue] = (status.state, status.detail)
            self._venue_changed(venue)

    def _on_last(self, key: str, obj: dict[str, Any]) -> None:
        """Paint a last value once, when nothing newer has been shown (the stream has every later one)."""
        if key in self._painted:
            return
        self._painted.add(key)
        event = decode(obj)
        chan = self._chans.get((event.source, getattr(event, "pair", "")))
        if chan is None:
            return
        ts = getattr(event, "ts", None)
        if ts is not None:
            if ts <= chan.last_ts.get(event.type, 0.0):
                return
            chan.last_ts[event.type] = ts
        self._handover.push(event)
