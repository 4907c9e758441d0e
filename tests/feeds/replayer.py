"""Serve a recorded websocket session (``tests/fixtures/captures/*.ws``) on a loopback port.

Each server line is sent in order, after the client has sent the frames listed before it (waiting at most
``client_wait`` seconds for them: our client subscribes differently from the recording's, which does not
change what the venue sent). After the last line the socket stays open and quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve


def parse_capture(path: Path) -> list[tuple[str, str]]:
    """[(who, text)] with who "client" or "server"; the open line is dropped."""
    out: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.startswith(("ws://", "wss://")):
            if " <- " in line:
                out.append(("client", line.split(": ", 1)[1]))
            continue  # "<->" opens the connection
        out.append(("server", line.split(": ", 1)[1]))
    return out


def server_frames(path: Path) -> list[str]:
    return [text for who, text in parse_capture(path) if who == "server"]


class CaptureServer:
    def __init__(self, path: Path, client_wait: float = 0.3) -> None:
        self.lines = parse_capture(path)
        self.client_wait = client_wait
        self.sent = 0
        self.client_frames: list[str] = []
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CaptureServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 3)

    async def _handle(self, ws: ServerConnection) -> None:
        got = asyncio.Event()

        async def read() -> None:
            async for message in ws:
                self.client_frames.append(message if isinstance(message, str) else message.decode())
                got.set()

        reader = asyncio.create_task(read())
        expected = waited = 0
        try:
            for who, text in self.lines:
                if who == "client":
                    expected += 1
                    continue
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.client_wait
                while waited < expected and len(self.client_frames) < expected and loop.time() < deadline:
                    got.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(got.wait(), deadline - loop.time())
                waited = expected  # wait once per run of client lines, not before every frame
                await ws.send(text)
                self.sent += 1
            await ws.wait_closed()
        finally:
            reader.cancel()
