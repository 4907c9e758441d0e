"""The session hands every frame to the parser whole, in order and as bytes, whether it came through ``recv()`` or
straight from websockets' queue of parsed frames (a burst), fragmented messages included."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator

import pytest
import websockets
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from finxtui.feeds.session import Feed
from tests.feeds.runner import FeedRunner

BURST = 3000  # far more than one read: most frames wait in websockets' queue when the parser asks


class Recorder(Feed):
    """A feed that keeps what its parser was handed."""

    source = "test"

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self.seen: list[tuple[type, bytes]] = []

    def url(self) -> str:
        return self._url

    def on_frame(self, frame: str | bytes) -> None:
        self.seen.append((type(frame), bytes(frame) if isinstance(frame, bytes) else frame.encode()))


def expected() -> list[bytes]:
    out = [f'{{"n":{i}}}'.encode() for i in range(BURST)]
    out[BURST // 2] = b"fragment-1|fragment-2|fragment-3"  # sent as three frames of one message
    return out


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def handler(ws: ServerConnection) -> None:
        for i, message in enumerate(expected()):
            if i == BURST // 2:
                await ws.send([b"fragment-1|", b"fragment-2|", b"fragment-3"])  # one message, three frames
            else:
                await ws.send(message.decode())
        await ws.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]  # type: ignore[index]
        yield f"ws://127.0.0.1:{port}"


async def test_every_frame_reaches_the_parser_whole_in_order_as_bytes(server: str) -> None:
    feed = Recorder(server)
    async with FeedRunner(feed) as run:
        await run.until(lambda: len(feed.seen) >= BURST, what="every message handed to the parser")
    assert [frame for _, frame in feed.seen] == expected()
    assert {kind for kind, _ in feed.seen} == {bytes}
    assert feed.frames == BURST
    assert feed.rejected_frames == 0


async def test_a_consumer_that_stops_early_still_closes_cleanly() -> None:
    """A consumer that stops after one event leaves frames unread, and websockets then stops reading the socket,
    so the server's answer to our close frame waits behind them: the feed must read through them, or its close
    gives up at its timeout with the handshake unfinished and the socket still open."""
    flooding: list[ServerConnection] = []
    payload = base64.b64encode(os.urandom(48 * 1024)).decode()  # 64 KiB that deflate cannot shrink much

    async def flood(ws: ServerConnection) -> None:
        flooding.append(ws)
        with contextlib.suppress(ConnectionClosed):
            for _ in range(400):  # 25 MiB: more than every buffer between the two ends holds
                await ws.send(payload)
            await ws.wait_closed()

    async with websockets.serve(flood, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]  # type: ignore[index]
        feed = Recorder(f"ws://127.0.0.1:{port}")
        first = await asyncio.wait_for(anext(feed), 10)
        assert first.state == "connecting"  # type: ignore[attr-defined]
        async with asyncio.timeout(10):  # stop reading until the server's writes back up: we are the slow end
            while not flooding or flooding[0].transport.get_write_buffer_size() == 0:
                await asyncio.sleep(0.01)
        client_side = feed.ws
        assert client_side is not None
        await asyncio.wait_for(feed.aclose(), 10)
        assert client_side.state is State.CLOSED, client_side.state
        server_side = flooding[0]
        await asyncio.wait_for(server_side.wait_closed(), 10)
    assert server_side.close_code == 1000, server_side.close_code
