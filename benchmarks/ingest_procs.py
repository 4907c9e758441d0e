"""The replay phase of ``ingest``: every client in a process of its own, rounds alternating, per interpreter.

Per stream and interpreter, one round runs a bare ``websockets`` client, the project's feed and (where it can
read the stream) cryptofeed, each as ``benchmarks/ingest_client.py`` in a fresh process against the same
pre-framed server, and a last bare run closes the sequence: ``B F C B C F B …`` (the order of the two flips each
round). Each client's ratio to the bare client is its rate over the mean of the bare runs either side of it
(A-B-A); the feed's ratio to cryptofeed is taken within each round. Medians are reported.

Two rates: frames per wall-clock second (what the issue tabulates) and frames per CPU-second of the client
(the client is the bottleneck against this server, so on a box shared with other work the CPU-second figure
is the steadier one).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import aba_ratios, iqr, median

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "ingest_client.py"
#: streams cryptofeed can read as they are: Bitfinex without bulk, BitMEX's full ``orderBookL2`` table
CRYPTOFEED_STREAMS = {"bitfinex-1": "bitfinex", "bitmex-l2": "bitmex"}

_PROBE = """
import json, sys
out = {"python": sys.version.split()[0], "finx": None, "cryptofeed": None, "cryptofeed_bitmex": False, "why": {}}
try:
    import websockets, orjson, sortedcontainers, msgspec, platformdirs  # what the feeds import
    out["finx"] = True
except ImportError as exc:
    out["why"]["finx"] = f"cannot import {exc.name}"
try:
    from importlib import metadata
    import cryptofeed
    out["cryptofeed"] = metadata.version("cryptofeed")
    try:
        from cryptofeed.exchanges import Bitmex
        out["cryptofeed_bitmex"] = True
    except ImportError:
        out["why"]["cryptofeed_bitmex"] = "this cryptofeed release has no BitMEX"
except ImportError as exc:
    out["why"]["cryptofeed"] = f"not installed ({exc.name}); pip install -e '.[bench]'"
print(json.dumps(out))
"""


@dataclass
class Interpreter:
    path: str
    python: str = ""
    finx: bool = False
    cryptofeed: str | None = None
    cryptofeed_bitmex: bool = False
    why: dict[str, str] = field(default_factory=dict)


def probe(path: str) -> Interpreter:
    """What can run on an interpreter: the project's feed (its imports), cryptofeed (which release)."""
    proc = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return Interpreter(path, why={"python": proc.stderr.strip()[-200:] or "does not run"})
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return Interpreter(path, info["python"], bool(info["finx"]), info["cryptofeed"], info["cryptofeed_bitmex"],
                       info["why"])


def kinds(interp: Interpreter, config: str) -> list[str]:
    out = ["finx"] if interp.finx else []
    venue = CRYPTOFEED_STREAMS.get(config)
    if interp.cryptofeed and venue and (venue != "bitmex" or interp.cryptofeed_bitmex):
        out.append("cryptofeed")
    return out


async def run_client(argv: list[str], timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"client timed out: {' '.join(argv[:3])}") from None
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"client failed ({proc.returncode}): {' '.join(argv[1:4])}\n{err.decode()[-1500:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["fps"] = result["frames"] / result["wall"] if result["wall"] else 0.0
    result["fps_cpu"] = result["frames"] / result["cpu"] if result["cpu"] else 0.0
    return result


@dataclass
class Stream:
    """One replayed stream and how each client reads it."""

    config: str
    venue: str
    url: str  # the full websocket URL (bare, cryptofeed)
    base: str  # the feed's base URL
    subscriptions: list[str]
    bulk: bool
    full_book: bool

    def argv(self, interp: Interpreter, kind: str, skip: int, frames: int) -> list[str]:
        """``ingest_client.py`` for ``kind`` on ``interp``: ``skip`` frames, then ``frames`` timed."""
        extra = {"bare": ["--subscribe", json.dumps(self.subscriptions)], "cryptofeed": [],
                 "finx": (["--bulk"] if self.bulk else []) + (["--full-book"] if self.full_book else [])}
        return [interp.path, str(CLIENT), kind, "--venue", self.venue, "--url", self.url, "--base", self.base,
                "--skip", str(skip), "--frames", str(frames), *extra[kind]]


async def stream_rounds(stream: Stream, interp: Interpreter, *, rounds: int, skip: int,
                        frames: int) -> dict[str, Any]:
    """Rounds on one stream and interpreter; the summary of each client against the bare one."""
    config = stream.config
    which = kinds(interp, config)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in ["bare", *which]}
    timeout = 60 + frames / 2000  # a client that reads 2k frames/s is broken, not slow
    for i in range(rounds):
        order = ["bare", *(which if i % 2 == 0 else which[::-1])]
        for kind in order:
            runs[kind].append(await run_client(stream.argv(interp, kind, skip, frames), timeout))
            await asyncio.sleep(0.2)  # let the server forget the last socket
    runs["bare"].append(await run_client(stream.argv(interp, "bare", skip, frames), timeout))
    bare_fps = [r["fps"] for r in runs["bare"]]
    bare_cpu = [r["fps_cpu"] for r in runs["bare"]]
    summary: dict[str, Any] = {"config": config, "python": interp.python, "path": interp.path,
                               "cryptofeed_version": interp.cryptofeed, "bare_fps": median(bare_fps),
                               "bare_fps_cpu": median(bare_cpu), "clients": {}, "runs": runs}
    for kind in which:
        rs = runs[kind]
        ratios = aba_ratios(bare_fps, [r["fps"] for r in rs])
        ratios_cpu = aba_ratios(bare_cpu, [r["fps_cpu"] for r in rs])
        summary["clients"][kind] = {
            "fps": median(r["fps"] for r in rs), "fps_cpu": median(r["fps_cpu"] for r in rs),
            "ups": median(r["updates"] / r["wall"] for r in rs if r["wall"]),
            "updates_per_frame": median(r["updates"] / r["frames"] for r in rs if r["frames"]),
            "cpu": median(r["cpu"] / r["wall"] for r in rs if r["wall"]),
            "ratio": median(ratios), "ratio_iqr": list(iqr(ratios)), "ratios": ratios,
            "ratio_cpu": median(ratios_cpu), "notes": [r.get("notes", {}) for r in rs],
        }
    if "finx" in summary["clients"] and "cryptofeed" in summary["clients"]:
        per_round = [f["fps"] / c["fps"] for f, c in zip(runs["finx"], runs["cryptofeed"], strict=True) if c["fps"]]
        per_round_cpu = [f["fps_cpu"] / c["fps_cpu"]
                         for f, c in zip(runs["finx"], runs["cryptofeed"], strict=True) if c["fps_cpu"]]
        summary["finx_over_cryptofeed"] = median(per_round)
        summary["finx_over_cryptofeed_cpu"] = median(per_round_cpu)
        summary["finx_over_cryptofeed_rounds"] = per_round
    print(f"  {config} on Python {interp.python}: "
          + ", ".join(f"{k} {v['ratio']:.2f} of bare (CPU {v['ratio_cpu']:.2f})"
                      for k, v in summary["clients"].items()), file=sys.stderr)
    return summary


def peers_report(peers: list[dict[str, Any]], interpreters: list[dict[str, Any]]) -> str:
    lines = ["| stream | Python | client | frames/s | ratio to bare, median (IQR) | per CPU-second: frames/s, "
             "ratio to bare | updates a frame | feed ÷ cryptofeed (wall / CPU) |", "|---|---|---|---|---|---|---|---|"]
    for p in peers:
        lines.append(f"| {p['config']} | {p['python']} | bare websockets client | {p['bare_fps']:,.0f} | 1.00 | "
                     f"{p['bare_fps_cpu']:,.0f}, 1.00 | – | |")
        for kind, c in p["clients"].items():
            name = "finx-tui feed" if kind == "finx" else f"cryptofeed {p['cryptofeed_version']}"
            q1, q3 = c["ratio_iqr"]
            versus = ""
            if kind == "finx" and "finx_over_cryptofeed" in p:
                versus = f"**{p['finx_over_cryptofeed']:.2f}x** / {p['finx_over_cryptofeed_cpu']:.2f}x"
            upf = f"{c['updates_per_frame']:.2f}" if kind == "finx" else "–"
            lines.append(f"| {p['config']} | {p['python']} | {name} | {c['fps']:,.0f} | **{c['ratio']:.2f}** "
                         f"({q1:.2f}–{q3:.2f}) | {c['fps_cpu']:,.0f}, {c['ratio_cpu']:.2f} | {upf} | {versus} |")
    notes = [f"{i['path']} (Python {i['python'] or '?'}): " + "; ".join(f"{k}: {v}" for k, v in i["why"].items())
             for i in interpreters if i["why"]]
    if notes:
        lines += ["", "Not run: " + " · ".join(notes)]
    return "\n".join(lines)
