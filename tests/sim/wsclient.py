"""A plain websockets client for protocol tests: no project feed code, just frames and timeouts."""

from __future__ import annotations

import asyncio
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

    async def recv_until(self, predicate, timeout: float = 5.0, limit: int = 100_000) -> tuple[Any, list[Any]]:
        """Frames until one matches; returns it and everything read before it."""
        seen: list[Any] = []
        async with asyncio.timeout(timeout):
            for _ in range(limit):
                frame = await self.recv(timeout)
                if predicate(frame):
                    return frame, seen
                seen.append(frame)
        raise AssertionError(f"no matching frame in {limit} frames")

    async def frames_for(self, seconds: float) -> list[Any]:
        """Everything that arrives within ``seconds``."""
        out: list[Any] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                out.append(await self.recv(left))
            except TimeoutError:
                break
        return out
