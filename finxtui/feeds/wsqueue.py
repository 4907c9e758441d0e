"""websockets' queue of the frames it has already parsed, found where ``recv()`` reads it.

``recv()`` pops this queue through ``Assembler.get``: three coroutines a frame for bytes already parsed. The
queue is not public API, so it is looked up, not assumed (websockets is bounded below 18); without it a feed
reads every frame through ``recv``.
"""

from __future__ import annotations

from collections import deque
from typing import Any


def parsed_frames(ws: Any) -> tuple[deque[Any] | None, Any]:
    """``(queue, assembler)`` of a websockets connection, or ``(None, None)`` when this version has neither."""
    assembler = getattr(ws, "recv_messages", None)
    queue = getattr(getattr(assembler, "frames", None), "queue", None)
    if not isinstance(queue, deque) or not callable(getattr(assembler, "maybe_resume", None)):
        return None, None
    return queue, assembler
