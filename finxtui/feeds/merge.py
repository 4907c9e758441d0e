"""Several single-socket feeds run as one: one async iterator of events and one aggregated status.

Some venues carry one subscription per socket (FinX streams one pair per ``/streaming/{key}/{pair}``), but the
rest of the program wants one feed per source: one ``async for``, one status line, one ``reconnect()``.
:class:`MergedFeed` runs each child in its own task (each child keeps its own reconnect, backoff and silence
watchdog) and funnels their events into one queue.

Statuses: the children's market-data :class:`Status` events (``scope == ""``) are not passed on. The merged feed
keeps each child's latest state and emits one ``Status(source, …)`` of its own whenever the aggregate changes:
``live`` only when every child is live, otherwise the worst child state (error > reconnecting > stale >
resyncing > connecting > live) with a detail naming the children concerned (see :func:`aggregate`). Statuses
with a scope (a private account stream) pass through unchanged.

Failures: a child whose iteration raises is logged, reported (``reconnecting``, "internal error …") and
restarted with exponential backoff (``child.reconnect()``, then iterated again: :class:`~finxtui.feeds.session.Feed`
resumes after an exception). A child whose iteration ends is left out from then on (its last state stays in
the aggregate); the merged feed ends when every child has ended. Nothing a child does ends the merged feed.

Only for feeds whose events are self-contained values (ticks, trades, bars, statuses). A ``BookUpdate`` carries a
reference to the feed's live book, which changes as soon as that feed reads its next frame: through the queue
here it would be read late, after other frames were applied. Books must not be merged this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from finxtui.feeds.backoff import Backoff
from finxtui.model.events import CONNECTING, ERROR, LIVE, RECONNECTING, RESYNCING, STALE, Event, Status

log = logging.getLogger("finxtui.feeds.merge")

#: how bad each state is, for the aggregate (higher is worse)
SEVERITY = {LIVE: 0, CONNECTING: 1, RESYNCING: 2, STALE: 3, RECONNECTING: 4, ERROR: 5}
QUEUE_SIZE = 10_000  # events waiting for the consumer before the children wait too (their sockets buffer)
CLOSE_TIMEOUT = 3.0


class ChildFeed(Protocol):
    """What a child must offer: iteration of events, ``reconnect`` and ``aclose`` (as every Feed does)."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def __anext__(self) -> Event: ...

    def reconnect(self, reason: str = ...) -> None: ...

    async def aclose(self) -> None: ...


def aggregate(states: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    """The merged ``(state, detail)`` of children's ``(state, detail)`` by name.

    ``live`` (detail: the live children's own details, if any) when every child is live; else the worst state,
    and a detail listing every child that is not live, worst first, children in the same state with the same
    detail grouped: ``"ETH:USD, SOL:USD: connection dropped; retrying in 0.4s; BTC:USD: connecting"``.
    An unknown state counts as ``error``.
    """
    if not states:
        return CONNECTING, ""
    worst = max((state for state, _ in states.values()), key=lambda s: SEVERITY.get(s, SEVERITY[ERROR]))
    if worst == LIVE:
        notes = [f"{name}: {detail}" for name, (_, detail) in states.items() if detail]
        return LIVE, "; ".join(notes)
    groups: dict[tuple[str, str], list[str]] = {}
    for name, (state, detail) in states.items():
        if state != LIVE:
            groups.setdefault((state, detail), []).append(name)
    ordered = sorted(groups.items(), key=lambda item: (-SEVERITY.get(item[0][0], SEVERITY[ERROR]), item[1][0]))
    parts = [f"{', '.join(names)}: {detail or state}" for (state, detail), names in ordered]
    return worst, "; ".join(parts)


class _Wake:
    """Queue item that only wakes the consumer (a child ended, or the feed was closed)."""


_WAKE = _Wake()


class MergedFeed:
    """Run ``children`` (name -> feed) as one feed of ``source``; iterate it like any feed.

    ``note`` is appended to every aggregated detail (e.g. pairs that were left out). ``redact`` cleans any text
    that reaches a status or the log from a child's exception (a URL with a key in it). ``backoff`` makes the
    backoff used to restart a child after an exception (one per child).
    """

    def __init__(self, source: str, children: Mapping[str, ChildFeed], *, note: str = "",
                 clock: Callable[[], float] = time.time, redact: Callable[[str], str] = str,
                 backoff: Callable[[], Backoff] | None = None, queue_size: int = QUEUE_SIZE) -> None:
        self.source = source
        self.children: dict[str, ChildFeed] = dict(children)
        self.note = note
        self.clock = clock
        self.redact = redact
        self.state = ""
        self.detail = ""
        #: child name -> (state, detail) as the child last reported it (CONNECTING until it says otherwise)
        self.child_states: dict[str, tuple[str, str]] = dict.fromkeys(self.children, (CONNECTING, ""))
        #: child name -> how many times it raised and was restarted
        self.restarts: dict[str, int] = dict.fromkeys(self.children, 0)
        self._backoff = backoff or Backoff
        self._queue: asyncio.Queue[Event | _Wake] = asyncio.Queue(queue_size)
        self._pending: list[Event] = []  # statuses made before the tasks run (no loop needed to make them)
        self._tasks: dict[str, asyncio.Task] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._ended: set[str] = set()
        self._started = False
        self._closed = False

    # -- what a feed offers -----------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        return sum(getattr(child, "frames", 0) for child in self.children.values())

    @property
    def attempts(self) -> int:
        """Connection attempts of every child together."""
        return sum(getattr(child, "attempts", 0) for child in self.children.values())

    @property
    def rejected_frames(self) -> int:
        return sum(getattr(child, "rejected_frames", 0) for child in self.children.values())

    def set_status(self, state: str, detail: str = "") -> Status | None:
        """Record the merged state; returns the Status to emit when it changed (None when it did not)."""
        if state == self.state and detail == self.detail:
            return None
        self.state = state
        self.detail = detail
        if state in (ERROR, STALE, RECONNECTING, RESYNCING):
            log.warning("%s %s: %s", self.source, state, detail)
        else:
            log.info("%s %s %s", self.source, state, detail)
        status = Status(self.source, state, detail, self.clock())
        if not self._started:
            self._pending.append(status)
        return status

    def reconnect(self, reason: str = "reconnect requested") -> None:
        """Every child drops its connection and connects again at once (fatal errors included)."""
        for name, child in self.children.items():
            if name in self._ended:
                continue
            child.reconnect(reason)
            waker = self._wakers.get(name)
            if waker is not None:
                waker.set()

    async def aclose(self) -> None:
        """Stop every child and end the iteration."""
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(self._close_child(c) for c in self.children.values()))
        if tasks:
            # A child's watchdog may swallow one cancellation; its closed flag still ends it within a read.
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_WAKE)

    async def _close_child(self, child: ChildFeed) -> None:
        try:
            await child.aclose()
        except Exception:
            log.exception("%s: closing a child feed failed", self.source)

    def __aiter__(self) -> MergedFeed:
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            self._start()
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._queue.empty() and (self._closed or len(self._ended) == len(self.children)):
                raise StopAsyncIteration
            item = await self._queue.get()
            if not isinstance(item, _Wake):
                return item

    # -- children ---------------------------------------------------------------------------------------

    def _start(self) -> None:
        self._started = True
        for name, child in self.children.items():
            self._wakers[name] = asyncio.Event()
            self._tasks[name] = asyncio.create_task(self._run(name, child), name=f"{self.source}:{name}")

    async def _run(self, name: str, child: ChildFeed) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._backoff()
        queue = self._queue
        while not self._closed:
            started = loop.time()
            try:
                async for event in child:
                    if type(event) is Status and not event.scope:
                        await self._child_status(name, event.state, event.detail)
                    else:
                        await queue.put(event)
                break  # the child ended by itself
            except Exception as exc:
                if self._closed:
                    break
                what = self.redact(f"{type(exc).__name__}: {exc}")
                log.error("%s: %s failed (%s); restarting it", self.source, name, what)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s: %s", name, self.redact("".join(traceback.format_exception(exc))))
                self.restarts[name] += 1
                backoff.connected_for(loop.time() - started)
                delay = backoff.delay()
                await self._child_status(name, RECONNECTING, f"internal error ({what}); restarting in {delay:.1f}s")
                waker = self._wakers[name]
                waker.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker.wait(), delay)
                if self._closed:
                    break
                try:
                    child.reconnect("restart after an internal error")
                except Exception:
                    log.exception("%s: %s could not be told to reconnect", self.source, name)
        self._ended.add(name)
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(_WAKE)

    async def _child_status(self, name: str, state: str, detail: str) -> None:
        self.child_states[name] = (state, self.redact(detail))
        merged, text = aggregate(self.child_states)
        if self.note:
            text = f"{text}; {self.note}" if text else self.note
        status = self.set_status(merged, text)
        if status is not None:
            await self._queue.put(status)
