"""How connections write: corked during a dispatch, and the limit past which a slow reader is cut off.

During a dispatch every frame a connection sends is framed at once but written in one go at the end (one socket
write per connection per dispatch, not one per frame; the client then reads them in one go, as from a venue).
A client whose unread backlog passes ``max_buffer`` bytes is cut off, as venues do, unless ``backpressure`` is
on (the unbounded rate of the benchmarks: the pump waits for readers instead).
"""

from __future__ import annotations

from typing import Protocol


class Corked(Protocol):
    """A connection with frames framed but not yet written."""

    @property
    def closed(self) -> bool: ...

    def flush(self) -> None: ...


class Outbox:
    def __init__(self, max_buffer: int, *, backpressure: bool = False) -> None:
        self.max_buffer = max_buffer
        self.backpressure = backpressure
        #: during a dispatch: the connections with frames to write at its end; None otherwise
        self.corked: set[Corked] | None = None

    def cork(self) -> None:
        self.corked = set()

    def uncork(self) -> None:
        """Write every corked connection's frames (one write each)."""
        corked, self.corked = self.corked, None
        for conn in corked or ():
            if not conn.closed:
                conn.flush()
