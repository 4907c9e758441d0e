"""Instructions a frame for each ingest client, counted by callgrind: ratios the box's speed cannot move.

On these 2-core boxes the same tree's wall-clock ratios move by a quarter from run to run, so a target near its
line is met in one run and missed in the next. ``ingest.py --instructions`` adds this count: each client
(``ingest_client.py``: the bare websockets client, the project's feed, cryptofeed) runs under
``valgrind --tool=callgrind`` against the same pre-framed replay, twice, reading ``short`` and then ``long``
frames after the same ``skip``. The difference of the two totals over the difference of the frame counts is
what a frame costs the whole client process (the socket, websockets' framing, the parser, the book, the
consumer), with start-up, imports and snapshots cancelled out. It is the same from run to run within a
fraction of a percent.

``bare ÷ client`` is the throughput ratio the client would have if every instruction took the same time. They
do not quite (memory stalls, branch misses), but these are interpreters running the same kind of work, so it is
the steady reading of the wall-clock ratios beside it, not a replacement for them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from typing import Any

from benchmarks.ingest_procs import Interpreter, Stream, kinds

COLLECTED = re.compile(rb"Collected : (\d+)")


def available() -> bool:
    return shutil.which("valgrind") is not None


async def count_client(argv: list[str], timeout: float) -> int:
    """Instructions the whole process ran (callgrind's total), the client's own JSON line checked."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv, "--timeout", str(timeout),
           "--exit-at-end"]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 120)  # valgrind's own start-up and exit
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"client under callgrind timed out: {' '.join(argv[1:4])}") from None
    found = COLLECTED.search(err)
    if proc.returncode != 0 or found is None or not out.strip():
        raise RuntimeError(f"client under callgrind failed ({proc.returncode}): {' '.join(argv[1:4])}\n"
                           f"{err.decode(errors='replace')[-1500:]}")
    return int(found.group(1))


async def stream_counts(stream: Stream, interp: Interpreter, *, skip: int, short: int, long: int) -> dict[str, Any]:
    """Instructions a frame of every client that can read ``stream`` on ``interp``."""
    timeout = 120 + long / 500  # under callgrind a client reads ~2-4k frames/s
    per_frame: dict[str, float] = {}
    for kind in ["bare", *kinds(interp, stream.config)]:
        a = await count_client(stream.argv(interp, kind, skip, short), timeout)
        b = await count_client(stream.argv(interp, kind, skip, long), timeout)
        per_frame[kind] = (b - a) / (long - short)
    out: dict[str, Any] = {"config": stream.config, "python": interp.python, "cryptofeed_version": interp.cryptofeed,
                           "frames": [short, long], "per_frame": per_frame}
    bare = per_frame["bare"]
    out["ratio"] = {k: bare / v for k, v in per_frame.items() if k != "bare" and v > 0}
    if "finx" in per_frame and "cryptofeed" in per_frame:
        out["finx_over_cryptofeed"] = per_frame["cryptofeed"] / per_frame["finx"]
    return out


def counts_report(counts: list[dict[str, Any]]) -> str:
    lines = ["Instructions a frame, callgrind, the whole client process (pre-framed replay; the difference of a "
             f"{counts[0]['frames'][0]:,}- and a {counts[0]['frames'][1]:,}-frame run):", "",
             "| stream | Python | client | instructions a frame | bare ÷ client | feed ÷ cryptofeed |",
             "|---|---|---|---|---|---|"]
    for c in counts:
        for kind, n in c["per_frame"].items():
            name = {"bare": "bare websockets client", "finx": "finx-tui feed"}.get(
                kind, f"cryptofeed {c['cryptofeed_version']}")
            ratio = "1.00" if kind == "bare" else f"**{c['ratio'][kind]:.2f}**" if kind in c["ratio"] else "–"
            versus = f"**{c['finx_over_cryptofeed']:.2f}x**" if kind == "finx" and "finx_over_cryptofeed" in c else ""
            lines.append(f"| {c['config']} | {c['python']} | {name} | {n:,.0f} | {ratio} | {versus} |")
    return "\n".join(lines)
