"""A NATS connection kept up for a reader of the hub, and the small helpers every NATS user here shares.

:class:`NatsLink` connects to one server of ``servers`` (nats-py then reconnects within the cluster by itself),
makes a new connection with backoff when nats-py gives up, and runs one *session* at a time on it: the
owner's subscriptions, until :meth:`NatsLink.end_session` (a reconnection: rebuild them on the server we
reached) or the connection closes. After each session the owner's ``teardown`` runs. What the owner shows
of the link comes through ``on_state(state, detail, down)``: ``down`` says why the link is down, or is None
when the link is up and only a session failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from finxtui.feeds.backoff import Backoff
from finxtui.model.events import CONNECTING, RECONNECTING
from finxtui.sources.base import cancel_all

if TYPE_CHECKING:
    from nats.aio.client import Client

OnState = Callable[[str, str, "str | None"], None]


def connected_url(nc: Client | None) -> str:
    """The URL ``nc`` is connected to now ("" while it is not)."""
    if nc is not None and nc.is_connected and nc.connected_url is not None:
        return nc.connected_url.geturl()
    return ""


async def unsubscribe(sub: Any) -> None:
    """Unsubscribe without waiting long or minding a connection that is already gone."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2):
            await sub.unsubscribe()


class NatsLink:
    """One connection at a time to ``servers``, with the owner's ``session`` run on it (see the module)."""

    def __init__(self, servers: Sequence[str], *, name: str, session: Callable[[Client], Awaitable[None]],
                 teardown: Callable[[], Awaitable[None]], on_state: OnState) -> None:
        self.servers = list(servers)
        self.name = name
        self.session_end = asyncio.Event()  # set: the running session should return
        self._session = session
        self._teardown = teardown
        self._on_state = on_state
        self._nc: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._errors: list[str] = []

    @property
    def connected_url(self) -> str:
        return connected_url(self._nc)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def end_session(self) -> None:
        self.session_end.set()

    async def close(self) -> None:
        self._stopping = True
        self.session_end.set()
        if self._task is not None:
            await cancel_all([self._task])
        nc = self._nc
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    def _why(self, default: str) -> str:
        return self._errors[-1] if self._errors else default

    async def _on_error(self, exc: Exception) -> None:
        self._errors[:] = [f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__]

    async def _on_disconnected(self) -> None:
        if not self._stopping:
            down = f"lost {', '.join(self.servers)} ({self._why('disconnected')})"
            self._on_state(RECONNECTING, f"{down}; reconnecting", down)

    async def _on_reconnected(self) -> None:
        self.session_end.set()  # rebuild every subscription on the server we reached

    async def _on_closed(self) -> None:
        self.session_end.set()

    async def _run(self) -> None:
        # nats-py, with aiohttp under it, is a third of a monitor's import time and ~10 MiB: loaded only once a
        # hub is actually used, never by a monitor on the venues or the demo.
        import nats

        backoff = Backoff(base=0.5, cap=5.0)
        while not self._stopping:
            try:
                nc = await nats.connect(servers=self.servers, name="finx-tui", allow_reconnect=True,
                                        max_reconnect_attempts=3, reconnect_time_wait=0.5, connect_timeout=2,
                                        error_cb=self._on_error, disconnected_cb=self._on_disconnected,
                                        reconnected_cb=self._on_reconnected, closed_cb=self._on_closed)
            except Exception as exc:
                wait = backoff.delay()
                down = f"cannot reach {', '.join(self.servers)} ({self._why(f'{type(exc).__name__}: {exc}')})"
                self._on_state(RECONNECTING, f"{down}; retrying in {wait:.1f}s", down)
                await asyncio.sleep(wait)
                continue
            self._nc = nc
            while not self._stopping and not nc.is_closed:
                self.session_end.clear()
                failed = False
                try:
                    await self._session(nc)
                    backoff.failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # no hub on this server yet, or JetStream not usable: say so, retry
                    failed = True
                    wait = backoff.delay()
                    self._on_state(CONNECTING, f"{exc}; trying again in {wait:.1f}s", None)
                finally:
                    await self._teardown()
                if failed:
                    await asyncio.sleep(wait)
            with contextlib.suppress(Exception):
                await nc.close()
            if not self._stopping:
                wait = backoff.delay()
                down = f"lost {', '.join(self.servers)} ({self._why('closed')})"
                self._on_state(RECONNECTING, f"{down}; retrying in {wait:.1f}s", down)
                await asyncio.sleep(wait)
