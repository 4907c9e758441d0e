"""Run a feed in the background and wait for what it reports (bounded waits only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from finxtui.feeds.session import Feed
from finxtui.model.events import Status


class FeedRunner:
    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.events: list[Any] = []
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Event()
        self.ended = asyncio.Event()  # set when the feed's iteration finishes (an error it will not retry)

    async def __aenter__(self) -> FeedRunner:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.feed.aclose()

    async def _run(self) -> None:
        try:
            async for event in self.feed:
                self.events.append(event)
                self._changed.set()
        finally:
            self.ended.set()
            self._changed.set()

    def statuses(self, scope: str = "") -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and e.scope == scope]

    def states(self, scope: str = "") -> list[str]:
        return [s.state for s in self.statuses(scope)]

    def of(self, kind: type, pair: str | None = None) -> list[Any]:
        """The events of one type so far (of one pair, if given)."""
        return [e for e in self.events if isinstance(e, kind) and pair in (None, getattr(e, "pair", None))]

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Wait until ``predicate()`` is truthy (checked after each event and every 50 ms)."""
        async with asyncio.timeout(timeout):
            while True:
                value = predicate()
                if value:
                    return value
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), 0.05)
                except TimeoutError:
                    pass

    async def status(self, state: str, after: int = 0, timeout: float = 10.0, scope: str = "") -> Status:
        """The first status in ``state`` at or after index ``after`` of ``statuses(scope)``."""
        def find() -> Status | None:
            return next((s for s in self.statuses(scope)[after:] if s.state == state), None)

        try:
            return await self.until(find, timeout)
        except TimeoutError:
            raise AssertionError(f"no {state!r} status in {timeout}s; saw {self.statuses(scope)[after:]}") from None
