"""What waits for a hub reader: hub messages, bounded and stamped with their age, and statuses ahead of them.

The consumers' callbacks :meth:`Handover.put` messages; when ``size`` wait, they wait too (nats-py then holds
what follows, and the server's flow control the rest). A message is stamped before that wait, so the reader
can tell one that waited too long (its book is re-joined instead). Statuses and last values
(:meth:`Handover.push`) skip the line: the reader always sees the state it is in before more data.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from finxtui.model.events import Event
from finxtui.sources.hubbook import HubChannel


class HubMessage:
    """One hub message of subscription ``gen`` of ``chan``; ``t`` is when it was handed over (monotonic)."""

    __slots__ = ("chan", "data", "gen", "subject", "t")

    def __init__(self, chan: HubChannel, gen: int, subject: str, data: bytes, t: float) -> None:
        self.chan, self.gen, self.subject, self.data, self.t = chan, gen, subject, data, t


class Handover:
    """Hub messages (at most ``size`` waiting) and, ahead of them, events to show at once."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[HubMessage | None] = asyncio.Queue()
        self._room = asyncio.Semaphore(size)
        self._control: deque[Event] = deque()
        self.backlog = 0  # messages waiting now

    async def put(self, chan: HubChannel, gen: int, subject: str, data: bytes, t: float | None = None) -> None:
        """Hand over one message of subscription ``gen``, waiting for room; stamped ``t`` (default: now).

        Stamped before the wait: a message held back by a paused reader is as old as the wait (stamped after
        it, it would look fresh). Once one is found stale, the rest of its subscription is dropped by ``gen``.
        """
        if chan.gen != gen:
            return
        if t is None:
            t = time.monotonic()
        await self._room.acquire()
        if chan.gen != gen:  # re-joined while waiting: the reader would drop it, so keep the room
            self._room.release()
            return
        self.backlog += 1
        self._queue.put_nowait(HubMessage(chan, gen, subject, data, t))

    def push(self, event: Event) -> None:
        """``event`` goes ahead of every waiting message."""
        self._control.append(event)
        self.wake()

    def wake(self) -> None:
        """Wake a reader waiting in :meth:`get` (with None)."""
        self._queue.put_nowait(None)

    def control(self) -> Event | None:
        """The next event pushed ahead, if any."""
        return self._control.popleft() if self._control else None

    async def get(self) -> HubMessage | None:
        """The next message (its room given back), or None when woken (see :meth:`control`)."""
        item = await self._queue.get()
        if item is not None:
            self._room.release()
            self.backlog -= 1
        return item
