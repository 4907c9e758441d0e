"""The garbage collector's full pass: run between redraws while a monitor runs, and put back afterwards."""

from __future__ import annotations

import gc
import weakref

from finxtui.ui.collector import FULL_AFTER, QuietCollector
from tests.ui.helpers import Clock, scripted_app, wait_for


class Node:
    """Something that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.me = self


def young_passes(n: int) -> None:
    for _ in range(n):
        gc.collect(1)  # each one counts towards the next full pass, as the interpreter's own do


def test_a_full_pass_waits_for_its_moment_and_then_frees_old_cycles() -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    collector = QuietCollector()
    collector.start()
    try:
        assert gc.get_threshold()[:2] == before[0][:2]  # the young generations are left as they were
        assert gc.get_threshold()[2] > 10**6  # the interpreter never starts a full pass itself
        assert gc.get_freeze_count() > 0
        node = Node()
        watch = weakref.ref(node)
        young_passes(2)  # the cycle is old now: only a full pass can free it
        del node
        young_passes(1)
        assert watch() is not None
        collector.collect_if_due()
        assert collector.full_passes == 0 and watch() is not None  # not due yet: nothing runs
        young_passes(FULL_AFTER)
        assert collector.due()
        collector.collect_if_due()
        assert collector.full_passes == 1 and watch() is None
        assert not collector.due()
    finally:
        collector.stop()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_two_monitors_in_one_process_share_it_and_the_last_puts_it_back() -> None:
    before = gc.get_threshold()
    first, second = QuietCollector(), QuietCollector()
    first.start()
    second.start()
    first.stop()
    assert gc.get_threshold()[2] > 10**6  # the second still runs
    second.collect_if_due()
    second.stop()
    second.stop()  # twice is harmless
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    young_passes(FULL_AFTER)
    first.collect_if_due()  # stopped: does nothing
    assert first.full_passes == 0


async def test_the_monitor_runs_full_passes_after_its_redraws_and_restores_on_exit() -> None:
    before = gc.get_threshold()
    clock = Clock()
    app, source = scripted_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await source.drained()
        assert app.collector.started and gc.get_threshold()[2] > 10**6
        young_passes(FULL_AFTER)
        await wait_for(pilot, lambda: app.collector.full_passes >= 1, 5, "a full pass after a redraw")
        assert not app.collector.due()
    assert not app.collector.started
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
