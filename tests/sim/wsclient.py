"""A plain websockets client for protocol tests: no project feed code, just frames and bounded waits.

No wall-clock waiting "to let things settle": a test reads until a condition (with a bound), or makes a round
trip that the server answers in order (``until_reply``), so everything the server wrote before it has arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection


class Client:
    """``async with Client(url) as c: await c.send({...}); frame = await c.recv()``."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.kwargs = kwargs
        self.ws: ClientConnection | None = None

    async def __aenter__(self) -> Client:
        self.ws = await websockets.connect(self.url, open_timeout=5, **self.kwargs)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.ws is not None
        await self.ws.close()

    async def send(self, obj: Any) -> None:
        assert self.ws is not None
        await self.ws.send(obj if isinstance(obj, str) else orjson.dumps(obj).decode())

    async def recv_raw(self, timeout: float = 5.0) -> str | bytes:
        assert self.ws is not None
        async with asyncio.timeout(timeout):
            return await self.ws.recv()

    async def recv(self, timeout: float = 5.0) -> Any:
        return orjson.loads(await self.recv_raw(timeout))

    async def recv_until(self, predicate: Callable[[Any], bool], timeout: float = 5.0,
                         limit: int = 100_000) -> tuple[Any, list[Any]]:
        """Frames until one matches; returns it and everything read before it."""
        seen: list[Any] = []
        async with asyncio.timeout(timeout):
            for _ in range(limit):
                frame = await self.recv(timeout)
                if predicate(frame):
                    return frame, seen
                seen.append(frame)
        raise AssertionError(f"no matching frame in {limit} frames")

    async def until_reply(self, request: Any, is_reply: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
        """Send ``request`` and read up to its reply: everything the server wrote before it read the request."""
        await self.send(request)
        _, before = await self.recv_until(is_reply, timeout)
        return before
