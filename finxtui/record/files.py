"""The recorder's files on disk: the directory lock, one open CSV file per (kind, source, key) and UTC day,
whole-line writes, fsync, and the repair of a file an interrupted run left behind.

:class:`~finxtui.record.writer.Recorder` decides what the rows are; this module makes them durable (the
guarantees are listed in :mod:`finxtui.record.writer`): rows wait in a per-file memory buffer until
:meth:`RecorderFiles.write` hands them to the OS as whole lines; a failed write truncates the file back to its
last whole line and raises :class:`RecordError`; an existing file is checked (its header must be this version's)
and an unfinished last row is cut off before anything is appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path

from finxtui.record.schema import COLUMNS, RecordingError, file_path, header_line

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("finxtui.record")

LOCK_NAME = ".finx-tui-record.lock"
_TAIL_CHUNK = 1 << 16  # bytes read at a time when looking for a file's header or its last whole line

#: ``os.write``'s shape; a test injects a failing one
Writer = Callable[[int, bytes | memoryview], int]


class RecordError(RecordingError):
    """The recorder cannot write (unwritable directory, full disk, foreign file): stop and say so."""


def describe(exc: OSError) -> str:
    """An OS error in words for the user (a full disk said so)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{exc.strerror} (disk full)"
    return exc.strerror or str(exc)


class CsvFile:
    """One open CSV file: its descriptor, its size on disk, and the rows not yet written (``writer``)."""

    __slots__ = ("buf", "day", "fd", "kind", "path", "size", "writer")

    def __init__(self, kind: str, path: Path, day: str, fd: int, size: int) -> None:
        self.kind = kind
        self.path = path
        self.day = day
        self.fd = fd
        self.size = size
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="\n")

    def take(self) -> bytes:
        """The buffered rows as bytes, emptying the buffer."""
        data = self.buf.getvalue()
        if not data:
            return b""
        self.buf.seek(0)
        self.buf.truncate()
        return data.encode("utf-8")


class RecorderFiles:
    """The open files of one recording directory, and its lock.

    :meth:`lock` first; :meth:`get` the file for a row (opening, checking or starting it, and retiring the
    previous day's at midnight); :meth:`write`, :meth:`sync` or :meth:`start_sync` on a timer; :meth:`release`
    at the end. ``files_opened`` and ``repairs`` say what this run opened and cut.
    """

    def __init__(self, out: Path, *, write: Writer = os.write) -> None:
        self.out = out
        self._write = write
        self._files: dict[tuple[str, str, str], CsvFile] = {}
        self._retired: list[CsvFile] = []  # yesterday's files: written and closed at the next sync
        self._lock_fd: int | None = None
        self._syncing: asyncio.Future[None] | None = None
        #: files opened (including the next day's) by this run
        self.files_opened = 0
        #: one line per file repaired on open (an unfinished row cut off)
        self.repairs: list[str] = []

    @property
    def syncing(self) -> asyncio.Future[None] | None:
        """The fsync running in a worker thread, if any."""
        return self._syncing

    def lock(self) -> None:
        """Create ``out`` if needed and take its lock; RecordError (worded for the user) when it cannot."""
        out = self.out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RecordError(f"{out} exists and is not a directory") from None
        except OSError as exc:
            raise RecordError(f"cannot create {out}: {describe(exc)}") from None
        if not out.is_dir():
            raise RecordError(f"{out} is not a directory")
        try:
            fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write to {out}: {describe(exc)}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RecordError(f"another 'finx-tui record' is writing to {out}") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            os.close(fd)
            raise RecordError(f"cannot write to {out}: {describe(exc)}") from None
        self._lock_fd = fd

    def release(self) -> None:
        """Close every file and the lock, without writing (call :meth:`sync` first to keep the rows)."""
        for f in [*self._files.values(), *self._retired]:
            with contextlib.suppress(OSError):
                os.close(f.fd)
        self._files.clear()
        self._retired.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # -- opening --------------------------------------------------------------------------------------

    def get(self, kind: str, source: str, key: str, day: str) -> CsvFile:
        """The file for a row of ``kind`` from ``source`` about ``key`` received on ``day``."""
        slot = (kind, source, key)
        f = self._files.get(slot)
        if f is not None and f.day == day:
            return f
        if f is not None:
            self._retired.append(f)  # midnight: written and closed at the next sync
        f = self._files[slot] = self._open(kind, file_path(self.out, kind, source, key, day), day)
        return f

    def _open(self, kind: str, path: Path, day: str) -> CsvFile:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write {path}: {describe(exc)}") from None
        try:
            size = self._prepare(kind, path, fd)
            if size == 0:
                header = header_line(kind).encode()
                self._write_all(fd, header, path, 0)
                size = len(header)
        except BaseException:
            os.close(fd)
            raise
        self.files_opened += 1
        return CsvFile(kind, path, day, fd, size)

    def _prepare(self, kind: str, path: Path, fd: int) -> int:
        """Check an existing file's header and cut an unfinished last row; returns the size to append at."""
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return 0
            head = os.pread(fd, min(size, _TAIL_CHUNK), 0)
            newline = head.find(b"\n")
            if newline < 0:
                # Not even a whole header: an interrupted first write. Start the file again.
                os.ftruncate(fd, 0)
                self._repaired(path, size, "an unfinished header")
                return 0
            found = head[:newline].decode("utf-8", "replace").strip().split(",")
            if tuple(found) != COLUMNS[kind]:
                raise RecordError(f"{path} has other columns than finx-tui writes for {kind} "
                                  f"({','.join(found)[:120]}); move it away or record to another directory")
            if os.pread(fd, 1, size - 1) == b"\n":
                return size
            end = _last_newline(fd, size)
            os.ftruncate(fd, end)
            self._repaired(path, size - end, "an unfinished row")
            return end
        except OSError as exc:
            raise RecordError(f"cannot read {path}: {describe(exc)}") from None

    def _repaired(self, path: Path, cut: int, what: str) -> None:
        note = f"{path}: cut {what} ({cut} bytes) left by an interrupted run"
        self.repairs.append(note)
        log.warning("%s", note)

    # -- writing --------------------------------------------------------------------------------------

    def _write_all(self, fd: int, data: bytes, path: Path, size: int) -> None:
        """Write every byte or restore the file to ``size`` (its last whole line) and raise RecordError."""
        view = memoryview(data)
        try:
            while view:
                n = self._write(fd, view)
                if n <= 0:
                    raise OSError(errno.EIO, "the write made no progress")
                view = view[n:]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise RecordError(f"cannot write {path}: {describe(exc)}") from None

    def flush(self, f: CsvFile) -> bool:
        """Hand one file's buffered rows to the OS; False when it had none."""
        data = f.take()
        if not data:
            return False
        self._write_all(f.fd, data, f.path, f.size)
        f.size += len(data)
        return True

    def write(self) -> list[int]:
        """Hand every buffered row to the OS (whole lines, one write per file); returns the fds written."""
        written = [f.fd for f in self._retired if self.flush(f)]
        written += [f.fd for f in self._files.values() if self.flush(f)]
        return written

    def sync(self) -> None:
        """Write, then fsync every open file (blocking), then close files retired at midnight."""
        self.write()
        retired, self._retired = self._retired, []
        _fsync_all([f.fd for f in [*self._files.values(), *retired]], self.out)
        for f in retired:
            with contextlib.suppress(OSError):
                os.close(f.fd)

    def start_sync(self) -> asyncio.Future[None]:
        """Write on the loop, then fsync in a worker thread; the future fails with RecordError if a sync did."""
        self.write()
        retired, self._retired = self._retired, []
        fds = [f.fd for f in [*self._files.values(), *retired]]
        future = asyncio.get_running_loop().run_in_executor(None, _fsync_all, fds, self.out)
        self._syncing = future

        def finished(_: asyncio.Future[None]) -> None:
            if self._syncing is future:
                self._syncing = None
            for f in retired:
                with contextlib.suppress(OSError):
                    os.close(f.fd)

        future.add_done_callback(finished)
        return future


def _fsync_all(fds: list[int], out: Path) -> None:
    for fd in fds:
        try:
            os.fsync(fd)
        except OSError as exc:
            raise RecordError(f"cannot sync a file in {out}: {describe(exc)}") from None


def _last_newline(fd: int, size: int) -> int:
    """The offset just after the last ``\\n`` before ``size`` (0 if none)."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        end = start
    return 0
