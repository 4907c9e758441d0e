"""Python's cyclic garbage collector: its full pass runs right after a paint, never in the middle of one.

Every line Textual paints leaves a reference cycle behind (a ``Strip`` caches itself in its own
``divide``/``adjust_cell_length`` caches), so a busy screen makes cyclic garbage at thousands of objects a
second and the collector runs often. Its full (generation 2) pass walked the whole heap, about 140k objects
with the modules, the DOM and the day's history, stopping the event loop for 70-110 ms a few times a
minute wherever it fell: between a redraw and its paint, or just before a redraw. Those stalls were the
tail of tick to screen (p99 141-191 ms against a 100 ms redraw).

So, while a monitor runs:

- what exists once the app is up (modules, classes, the DOM, styles: about 110k objects) is moved out of
  the collector's sight with ``gc.freeze()``: it lives as long as the process;
- the interpreter never starts a full pass; the poll clock offers one after each tick's paint, and it runs
  once as many younger passes have gone by as would have started one (CPython's count), so it uses the
  time before the next redraw, which nobody waits on. The young generations are left as they are.

Process-wide state: the first monitor to start sets it and the last to stop puts back what was there.
"""

from __future__ import annotations

import gc

FULL_AFTER = 10  # generation-1 passes after which the next quiet moment runs a full pass (CPython's threshold)
_NEVER = 1 << 30  # generation 2's own threshold while we run it: the interpreter never reaches it


class QuietCollector:
    """Full collections at moments the caller chooses (``collect_if_due``), between ``start`` and ``stop``."""

    _active = 0
    _saved: tuple[int, int, int] | None = None

    def __init__(self) -> None:
        self.started = False
        self.full_passes = 0  # full passes run by ``collect_if_due``

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        cls = QuietCollector
        cls._active += 1
        if cls._active > 1:
            return
        cls._saved = young, middle, _ = gc.get_threshold()
        gc.collect()  # nothing that is already garbage gets frozen
        gc.freeze()
        gc.set_threshold(young, middle, _NEVER)

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        cls = QuietCollector
        cls._active -= 1
        if cls._active > 0:
            return
        if cls._saved is not None:
            gc.set_threshold(*cls._saved)
            cls._saved = None
        gc.unfreeze()

    @staticmethod
    def due() -> bool:
        """As many generation-1 passes have run since the last full one as would have started one."""
        return gc.get_count()[2] >= FULL_AFTER

    def collect_if_due(self) -> None:
        if self.started and self.due():
            gc.collect(2)
            self.full_passes += 1
