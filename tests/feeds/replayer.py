"""Serve a recorded websocket session (``tests/fixtures/captures/*.ws``) on a loopback port.

Each server line is sent in order, after the client has sent the frames listed before it (waiting at most
``client_wait`` seconds for them: our client subscribes differently from the recording's, which does not
change what the venue sent). After the last line the socket stays open and quiet.

By default lines go out as fast as the client reads them. With ``speed`` they keep their recorded timing,
compressed by that factor: a line recorded ``d`` seconds after the first server line goes out ``d / speed``
seconds after it (a client that must scale its own periods the same way, such as a heartbeat, is given
``period / speed``). Waiting for the client's frames shifts the rest of the schedule rather than rushing it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import NamedTuple

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class Line(NamedTuple):
    """One line of a capture: ``who`` sent it ("client" or "server"), ``at`` what UNIX time, and its ``text``."""

    who: str
    at: float
    text: str


def parse_capture(path: Path) -> list[Line]:
    """The capture's lines in order; the open line is dropped."""
    out: list[Line] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.startswith(("ws://", "wss://")):
            if " <- " in line:
                stamp, text = line.split(" <- ", 1)[1].split(": ", 1)
                out.append(Line("client", float(stamp), text))
            continue  # "<->" opens the connection
        stamp, text = line.split(": ", 1)
        out.append(Line("server", float(stamp), text))
    return out


def server_frames(path: Path) -> list[str]:
    return [line.text for line in parse_capture(path) if line.who == "server"]


class CaptureServer:
    def __init__(self, path: Path, client_wait: float = 0.3, speed: float | None = None) -> None:
        self.lines = parse_capture(path)
        self.client_wait = client_wait
        self.speed = speed
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
        loop = asyncio.get_running_loop()
        expected = waited = 0
        anchor: tuple[float, float] | None = None  # (recorded time, loop time) the schedule counts from
        try:
            for line in self.lines:
                if line.who == "client":
                    expected += 1
                    continue
                if waited < expected:
                    deadline = loop.time() + self.client_wait
                    while len(self.client_frames) < expected and loop.time() < deadline:
                        got.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(got.wait(), deadline - loop.time())
                    waited = expected  # wait once per run of client lines, not before every frame
                    anchor = None  # the client's pace, not the recording's: count again from here
                if self.speed:
                    if anchor is None:
                        anchor = (line.at, loop.time())
                    delay = anchor[1] + (line.at - anchor[0]) / self.speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)  # the recorded gap, compressed: this is the replay's clock
                await ws.send(line.text)
                self.sent += 1
            await ws.wait_closed()
        except ConnectionClosed:
            pass  # the client left before the recording ended
        finally:
            reader.cancel()
