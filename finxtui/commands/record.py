"""``finx-tui record``: every normalized event of the chosen venues and pairs, to durable CSV, headless.

Each venue is read from a source of its own (one feed, nothing between the socket and the recorder), so a
book snapshot or checkpoint is the book exactly as of its frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from finxtui.config import Config
from finxtui.model.pairs import canonical
from finxtui.record.writer import Recorder, RecordError
from finxtui.sources import HubSource, LiveSource, Source, embedded_simulator
from finxtui.wire.venues import SOURCES

log = logging.getLogger("finxtui.record")

WRITE_EVERY = 0.25  # seconds between handing buffered rows to the OS (a kill -9 loses at most this)
SYNC_EVERY = 1.0  # seconds between fsyncs (a power cut loses at most this)
PROGRESS_TTY = 0.5  # seconds between progress redraws on a terminal
PROGRESS_LOG = 5.0  # seconds between progress lines when stderr is a file or pipe


def plan_sources(cfg: Config, sources: list[str], pairs: list[str]) -> dict[str, list[str]]:
    """Which pairs to record from which source; ValueError (worded for the user) for impossible requests.

    No ``--source``: every enabled source. No ``--pair``: each source's watchlist pairs (or all it lists). With
    ``--pair``: each chosen source records the requested pairs it lists; a pair no chosen source lists is an error.
    """
    chosen = list(dict.fromkeys(sources)) or [s for s in SOURCES if cfg.enabled.get(s, True)]
    table = cfg.pairs
    plan: dict[str, list[str]] = {}
    if pairs:
        wanted = list(dict.fromkeys(canonical(p) for p in pairs))
        unknown = [p for p in wanted if p not in table]
        if unknown:
            raise ValueError(f"unknown pair(s) {', '.join(unknown)} (known: {', '.join(table.pairs())})")
        for source in chosen:
            listed = [p for p in wanted if source in table.sources_for(p)]
            if listed:
                plan[source] = listed
        orphans = [p for p in wanted if not any(p in listed for listed in plan.values())]
        if orphans:
            raise ValueError(f"no chosen source lists {', '.join(orphans)} (sources: {', '.join(chosen)})")
        return plan
    for source in chosen:
        listed = [p for p in cfg.watchlist if source in table.sources_for(p)] or table.pairs_on(source)
        if listed:
            plan[source] = listed
    if not plan:
        raise ValueError("nothing to record: no chosen source lists any pair")
    return plan


class Progress:
    """One line on stderr: rewritten in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, recorder: Recorder, stream: TextIO | None = None, *,
                 clock: Any = time.monotonic) -> None:
        self.recorder = recorder
        self.stream = stream or sys.stderr
        self.clock = clock
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.every = PROGRESS_TTY if self.tty else PROGRESS_LOG
        self.started = clock()
        self._last = self.started
        self._last_events = 0
        self._width = 0

    def line(self, now: float, rate: float) -> str:
        rec = self.recorder
        return (f"finx-tui record: {rec.events:,} events, {rate:,.0f}/s, {rec.files_opened} files "
                f"in {rec.out} ({now - self.started:,.0f}s)")

    def tick(self) -> None:
        now = self.clock()
        if now - self._last < self.every:
            return
        rate = (self.recorder.events - self._last_events) / (now - self._last)
        self._last, self._last_events = now, self.recorder.events
        self._emit(self.line(now, rate), final=False)

    def finish(self, why: str) -> None:
        now = self.clock()
        elapsed = max(now - self.started, 1e-9)
        rec = self.recorder
        self._emit(f"finx-tui record: {why}: {rec.events:,} events ({rec.events / elapsed:,.0f}/s) in "
                   f"{rec.files_opened} files in {rec.out} ({elapsed:,.1f}s)", final=True)

    def _emit(self, text: str, *, final: bool) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.tty:
                pad = " " * max(0, self._width - len(text))
                self.stream.write("\r" + text + pad + ("\n" if final else ""))
                self._width = 0 if final else len(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a repair, an error) without breaking the progress line."""
        with contextlib.suppress(OSError, ValueError):
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self._width = 0
            self.stream.write(text + "\n")
            self.stream.flush()


async def record(recorder: Recorder, sources: Mapping[str, Source], *, seconds: float | None = None,
                 stop: asyncio.Event | None = None, progress: Progress | None = None) -> str:
    """Pump every source into ``recorder`` until ``stop`` is set or ``seconds`` pass; returns why it stopped.

    Writes every :data:`WRITE_EVERY` s and fsyncs every :data:`SYNC_EVERY` s; a write error stops everything
    at once (RecordError propagates). The recorder is closed (flushed and synced) on every way out.
    """
    stop = stop or asyncio.Event()
    failure: list[BaseException] = []

    async def pump(source: Source) -> None:
        try:
            async for event in source:
                recorder.record(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a write error, or a bug: stop recording rather than lose silently
            failure.append(exc)
            stop.set()

    async def flusher() -> None:
        loop = asyncio.get_running_loop()
        last_sync = loop.time()
        try:
            while True:
                await asyncio.sleep(WRITE_EVERY)
                if loop.time() - last_sync >= SYNC_EVERY:
                    last_sync = loop.time()
                    await recorder.sync_async()
                else:
                    recorder.write()
                if progress is not None:
                    progress.tick()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            failure.append(exc)
            stop.set()

    tasks = [asyncio.create_task(pump(source), name=f"record-{venue}") for venue, source in sources.items()]
    tasks.append(asyncio.create_task(flusher(), name="record-flush"))
    why = "stopped"
    try:
        try:
            async with asyncio.timeout(seconds):
                await stop.wait()
        except TimeoutError:
            why = f"{seconds:g}s recorded"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for source in sources.values():
            with contextlib.suppress(Exception):
                await source.stop()
        try:
            await recorder.aclose()
        except RecordError as exc:
            failure.append(exc)
    if failure:
        raise failure[0]
    return why


async def run_record(cfg: Config, args: argparse.Namespace) -> int:
    """``finx-tui record``: 0 on a clean stop (Ctrl-C, SIGTERM, --seconds), 1 when writing fails, 2 for usage."""
    try:
        plan = plan_sources(cfg, list(args.source or []), list(args.pair or []))
    except ValueError as exc:
        print(f"finx-tui record: {exc}", file=sys.stderr)
        return 2
    recorder = Recorder(Path(args.out), secrets=cfg.credentials.secrets())
    try:
        recorder.open()
    except RecordError as exc:
        print(f"finx-tui record: {exc}", file=sys.stderr)
        return 1
    progress = Progress(recorder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reasons: list[str] = []

    def stop_on(sig: signal.Signals) -> None:
        reasons.append(sig.name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_on, sig)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if args.demo:
                # ``finx-tui --rate N record --demo``: the top-level demo rate applies here too.
                rate = getattr(args, "rate", None)
                cfg, _sim = await stack.enter_async_context(embedded_simulator(cfg, seed=args.seed, rate=rate))
                recorder.add_secrets(cfg.credentials.secrets())
            sources: dict[str, Source] = {}
            for venue, pairs in plan.items():
                if getattr(args, "hub", None):  # one reader per venue, as from the venues: books as of their frames
                    sources[venue] = HubSource(args.hub, cfg, venues=[venue], pairs=pairs, hub_status=False)
                else:
                    sources[venue] = LiveSource(cfg, venues=[venue], pairs=pairs, depth=args.depth)
            for source, pairs in plan.items():
                log.info("recording %s: %s", source, ", ".join(pairs))
            for note in recorder.repairs:
                progress.note(f"finx-tui record: repaired {note}")
            why = await record(recorder, sources, seconds=args.seconds, stop=stop, progress=progress)
    except RecordError as exc:
        progress.note(f"finx-tui record: {exc}")
        progress.finish("stopped by the error above")
        return 1
    except Exception as exc:  # a bug: say so in one line, keep the traceback for the log
        log.exception("record failed")
        progress.note(f"finx-tui record: internal error: {type(exc).__name__}: {exc} (details in the log)")
        progress.finish("stopped by the error above")
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    for note in recorder.repairs:
        log.info("repaired %s", note)
    progress.finish(f"{reasons[0]}, stopped" if reasons else why)
    return 0
