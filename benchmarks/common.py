"""Shared pieces of the benchmarks: servers in their own processes, CPU and memory readings, statistics.

Run as a script it is the server side of a benchmark (always in a separate process, see
``reference/perf-limits.md``: a server sharing the client's loop halves the client's ceiling):

- ``python benchmarks/common.py sim --rate N [--extra-pairs K]``: the project's simulator, optionally with
  more pairs than the default seven (built through ``Market(pairs=..., books=...)``, defaults untouched);
- ``python benchmarks/common.py replay --frames venue=FILE ...``: a pre-framed raw websocket server. It does
  the RFC 6455 upgrade itself and then writes frames recorded from the simulator, prebuilt, in 64 KiB
  chunks; it costs almost no CPU, so a client reading from it is client-bound (the ceiling ``R_raw``).

Both print ``listening on ws://127.0.0.1:PORT`` (the simulator prints its usual banner) and run until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import math
import os
import platform
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Where ``finxtui`` is imported from, here and in the servers: this checkout, or another copy of the package
# (``FINX_BENCH_TREE=/path/to/old/tree``) to compare two versions on the same machine in the same session.
TREE = Path(os.environ.get("FINX_BENCH_TREE") or ROOT).resolve()
for _p in (ROOT, TREE):
    if str(_p) in sys.path:
        sys.path.remove(str(_p))
    sys.path.insert(0, str(_p))

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# -- readings from /proc (no psutil: no new dependency) -----------------------------------------------------


def proc_cpu(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by a process (this one when ``pid`` is None)."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int | None = None) -> int:
    """Resident set size in bytes (VmRSS)."""
    with open(f"/proc/{pid or 'self'}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def calibrate() -> float:
    """ms for a 1M-iteration ``x += i`` loop, best of 5 (perf-limits.md's calibration; ~60-71 ms there)."""
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        x = 0
        for i in range(1_000_000):
            x += i
        best = min(best, time.perf_counter() - t)
    return best * 1000


def machine() -> dict[str, Any]:
    import orjson
    import textual
    import websockets

    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
            "textual": textual.__version__, "websockets": websockets.__version__, "orjson": orjson.__version__,
            "loadavg": loadavg(), "calibration_ms": round(calibrate(), 1),
            "tree": "" if ROOT.resolve() == TREE else str(TREE)}


def machine_line(info: dict[str, Any] | None = None) -> str:
    m = info or machine()
    return (f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, textual {m['textual']}, websockets "
            f"{m['websockets']}, orjson {m['orjson']}; 1M-loop calibration {m['calibration_ms']} ms; "
            f"load average {m['loadavg']}" + (f"; finxtui from {m['tree']}" if m.get("tree") else ""))


# -- statistics ---------------------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else math.nan


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; NaN when empty."""
    vals = sorted(values)
    if not vals:
        return math.nan
    pos = (len(vals) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def iqr(values: Sequence[float]) -> tuple[float, float]:
    return quantile(values, 0.25), quantile(values, 0.75)


def aba_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """A-B-A pairing: ``a`` has one more run than ``b``; each b is divided by the mean of its neighbours."""
    return [b[i] / ((a[i] + a[i + 1]) / 2) for i in range(len(b)) if a[i] + a[i + 1] > 0]


def fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.1f}k"
    return f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def write_text(path: str | Path, text: str) -> None:
    """Write a file (from async code too: a profile at the end of a run is no hot path)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


def emit_json(path: str | None, data: dict[str, Any]) -> None:
    """Write a benchmark's figures for ``run_all`` (and for anyone who wants every number)."""
    if not path:
        return
    import orjson

    Path(path).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def publish(name: str, info: dict[str, Any], data: dict[str, Any], report: Any, json_path: str | None) -> None:
    """A benchmark's ending: the figures as JSON (for ``run_all``) and its Markdown section on stdout."""
    data["machine"] = info
    emit_json(json_path, data)
    print(f"## {name}\n")
    print(machine_line(info) + "\n")
    print(report(data))


# -- child processes ----------------------------------------------------------------------------------------

URL_RE = re.compile(r"ws://[\w.]+:(\d+)")


class Child:
    """A server in its own process; knows its port and reads its own CPU time from /proc."""

    def __init__(self, argv: list[str], *, name: str, env: dict[str, str] | None = None,
                 timeout: float = 20.0) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"finx-bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=TREE,
                                     env={**os.environ, "PYTHONPATH": f"{TREE}:{ROOT}", **(env or {})})
        self.port = 0
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = URL_RE.search(line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.stop()
            raise RuntimeError(f"{name} did not start; see {self.log.name}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def rss(self) -> int:
        return proc_rss(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sim(rate: float | str = "max", *, seed: int = 7, extra_pairs: int = 0) -> Child:
    """The simulator in its own process: ``finx-tui sim`` itself unless extra pairs are wanted."""
    if extra_pairs:
        argv = [sys.executable, str(Path(__file__).resolve()), "sim", "--rate", str(rate), "--seed", str(seed),
                "--extra-pairs", str(extra_pairs)]
    else:
        argv = [sys.executable, "-m", "finxtui", "sim", "--port", "0", "--rate", str(rate), "--seed", str(seed)]
    return Child(argv, name="sim")


def start_replay(recordings: dict[str, Path]) -> Child:
    argv = [sys.executable, str(Path(__file__).resolve()), "replay"]
    for venue, path in recordings.items():
        argv += ["--frames", f"{venue}={path}"]
    return Child(argv, name="replay")


class Control:
    """The simulator's ``/control`` socket: stats and rate."""

    def __init__(self, url: str) -> None:
        self.url = url + "/control"
        self.ws: Any = None

    async def __aenter__(self) -> Control:
        import websockets

        self.ws = await websockets.connect(self.url, compression=None, ping_interval=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def request(self, **req: Any) -> Any:
        import orjson

        await self.ws.send(orjson.dumps(req).decode())
        reply = orjson.loads(await self.ws.recv())
        if not reply.get("ok"):
            raise RuntimeError(f"control {req}: {reply}")
        return reply.get("result")

    async def stats(self) -> dict[str, Any]:
        return await self.request(op="stats")

    async def rate(self, value: float | str) -> Any:
        return await self.request(op="rate", value=value)


# -- extra pairs for the 10-pair runs -----------------------------------------------------------------------

# Three more Bitfinex pairs (tick, size step, typical level size, depth), on top of the simulator's seven.
EXTRA_PAIRS = (
    ("LTC:USD", "tLTCUSD", 88.0, 0.0011, 0.01, 0.01, 40.0, 100),
    ("ADA:USD", "tADAUSD", 0.98, 0.0014, 0.0001, 1.0, 9000.0, 100),
    ("DOT:USD", "tDOTUSD", 6.9, 0.0013, 0.001, 0.1, 700.0, 100),
)


def extended_market(seed: int, rate: float | None, extra: int, clock: Any = time.time) -> Any:
    """A ``Market`` with ``extra`` more crypto pairs (Bitfinex books), via its constructor parameters."""
    from finxtui.sim.instruments import SIM_BOOKS, SIM_PAIRS, SimBookSpec, SimPair
    from finxtui.sim.market import Market

    pairs = list(SIM_PAIRS)
    books = list(SIM_BOOKS)
    for pair, symbol, start, vol, tick, step, scale, depth in EXTRA_PAIRS[:extra]:
        pairs.append(SimPair(pair, "crypto", start, vol, scale * 0.05))
        books.append(SimBookSpec("bitfinex", pair, symbol, tick, step, scale, depth))
    return Market(seed, rate=rate, clock=clock, pairs=pairs, books=books)


def extended_sim(seed: int, rate: float, extra: int) -> Any:
    """A ``Simulator`` whose market has ``extra`` more pairs (its defaults are left alone)."""
    from finxtui.sim.server import Simulator

    market = extended_market(seed, rate if rate and math.isfinite(rate) else None, extra, time.time)
    return Simulator(seed=seed, rate=rate, market=market)


def bench_config(base_url: str, *, extra_pairs: int = 0, **changes: Any) -> Any:
    """The app's configuration pointed at a simulator in another process, with its demo accounts."""
    from finxtui.config import Config, Credentials
    from finxtui.model.pairs import PairTable
    from finxtui.sim.credentials import SimCredentials
    from finxtui.wire.venues import SOURCES

    creds = SimCredentials()
    cfg = Config()
    table = PairTable()
    watchlist = list(cfg.watchlist)
    for pair, symbol, _start, _vol, tick, *_ in EXTRA_PAIRS[:extra_pairs]:
        # Bitfinex only: the simulated FinX serves the default pairs (its table is DEFAULT_PAIRS).
        table.extend(pair, kind="crypto", tick=tick, symbols={"bitfinex": symbol})
        watchlist.append(pair)
    if extra_pairs:
        for pair in table.pairs():  # every pair the simulator trades, ten in all
            if pair not in watchlist:
                watchlist.append(pair)
    cfg = replace(cfg, endpoints={s: f"{base_url}/{s}" for s in SOURCES}, pairs=table, watchlist=tuple(watchlist),
                  credentials=Credentials(finx_key=creds.finx_key, bitmex_key=creds.bitmex_key,
                                          bitmex_secret=creds.bitmex_secret, finazon_key=creds.finazon_key))
    return replace(cfg, **changes) if changes else cfg


# -- recording frames for the pre-framed server ---------------------------------------------------------------


def save_frames(path: Path, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        for frame in frames:
            f.write(struct.pack("<I", len(frame)))
            f.write(frame)


def load_frames(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    out = []
    i = 0
    while i < len(data):
        (n,) = struct.unpack_from("<I", data, i)
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked server frame (FIN set)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def chunked(frames: list[bytes], size: int = 65536) -> list[bytes]:
    """Prebuilt frames joined into ~64 KiB writes."""
    chunks: list[bytes] = []
    buf: list[bytes] = []
    have = 0
    for payload in frames:
        f = server_frame(payload)
        buf.append(f)
        have += len(f)
        if have >= size:
            chunks.append(b"".join(buf))
            buf, have = [], 0
    if buf:
        chunks.append(b"".join(buf))
    return chunks


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def _replay_server(recordings: dict[str, Path]) -> None:
    streams = {venue: chunked(load_frames(path)) for venue, path in recordings.items()}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1] if " " in lines[0] else "/"
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        first = path.split("?", 1)[0].split("/")[1] if path.count("/") >= 1 else ""
        venue = first if first in streams else None
        key = headers.get("sec-websocket-key")
        if venue is None or key is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        done = asyncio.Event()

        async def read_client() -> None:
            # Client frames (subscriptions, pings, the close) are read and dropped; a close is answered.
            buf = b""
            try:
                while not done.is_set():
                    data = await reader.read(65536)
                    if not data:
                        break
                    buf += data
                    while len(buf) >= 2:
                        opcode = buf[0] & 0x0F
                        n = buf[1] & 0x7F
                        off = 2
                        if n == 126:
                            if len(buf) < 4:
                                break
                            n = struct.unpack_from("!H", buf, 2)[0]
                            off = 4
                        elif n == 127:
                            if len(buf) < 10:
                                break
                            n = struct.unpack_from("!Q", buf, 2)[0]
                            off = 10
                        off += 4 if buf[1] & 0x80 else 0
                        if len(buf) < off + n:
                            break
                        buf = buf[off + n:]
                        if opcode == 0x8:
                            writer.write(server_frame(struct.pack("!H", 1000), opcode=0x8))
                            done.set()
                            break
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                done.set()

        reading = asyncio.create_task(read_client())
        try:
            for chunk in streams[venue]:
                if done.is_set():
                    break
                writer.write(chunk)
                await writer.drain()
            await done.wait()
        except ConnectionError:
            pass
        finally:
            reading.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"replay server listening on ws://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


async def _extended_sim_server(rate: float, seed: int, extra: int) -> None:
    sim = extended_sim(seed, rate, extra)
    await sim.start()
    print(f"simulator ({len(sim.market.pairs)} pairs, rate {rate}) listening on {sim.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sim")
    s.add_argument("--rate", default="max")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--extra-pairs", type=int, default=3)
    r = sub.add_parser("replay")
    r.add_argument("--frames", action="append", default=[], metavar="VENUE=FILE")
    args = parser.parse_args(argv)
    if args.cmd == "sim":
        rate = math.inf if args.rate in ("max", "inf") else float(args.rate)
        asyncio.run(_extended_sim_server(rate, args.seed, args.extra_pairs))
    else:
        recordings = {}
        for item in args.frames:
            venue, _, path = item.partition("=")
            recordings[venue] = Path(path)
        asyncio.run(_replay_server(recordings))


if __name__ == "__main__":
    main()
