"""How a feed's websocket ends: the words for a close or a failed connect, and the frames dropped at our own close.

Apart from the session, which drives the socket: these only read websockets' exceptions and frames.
"""

from __future__ import annotations

import logging

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

QUIET = logging.getLogger("finxtui.feeds.ws")
QUIET.setLevel(logging.WARNING)  # websockets logs URLs at debug level; ours may carry a key


def describe_close(exc: ConnectionClosed, max_frame: int) -> str:
    """Why a connection ended, for a status line (``max_frame``: the size limit the connection was opened with)."""
    rcvd = exc.rcvd
    sent = exc.sent
    if sent is not None and sent.code == 1009:
        return f"the venue sent a frame over the {max_frame / 2**20:g} MiB limit; connection closed"
    if rcvd is None:
        return "connection dropped (no close frame)"
    reason = f": {rcvd.reason}" if rcvd.reason else ""
    return f"closed by the server ({rcvd.code}{reason})"


def describe_connect_error(exc: BaseException) -> str:
    """Why a connect failed, for a status line (never the URL: it may carry a key)."""
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"cannot connect: {exc}"


async def discard(ws: ClientConnection) -> None:
    """Read and drop frames until the connection closes (or someone else is reading it)."""
    try:
        while True:
            await ws.recv(decode=False)
    except (ConnectionClosed, RuntimeError):  # RuntimeError: websockets' ConcurrencyError, a reader already waits
        pass
