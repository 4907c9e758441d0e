"""Run every benchmark, each in a fresh process, and print one Markdown report to stdout.

    python benchmarks/run_all.py              # about 10-12 minutes on the 2-core box
    python benchmarks/run_all.py --quick      # about 3 minutes: fewer rounds, shorter windows (a smoke run)
    python benchmarks/run_all.py --only ingest ui_load

The report starts with the machine (these boxes drift up to 2x between runs: compare ratios, and absolute
figures only within one report), then one row per target, then each benchmark's own table. Progress goes to
stderr; ``--json FILE`` keeps every figure.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, machine_line

HERE = Path(__file__).resolve().parent
ORDER = ("startup", "ingest", "ui_load", "idle", "paint_floor", "memory")
QUICK = {
    "startup": ["--runs", "3"],
    "ingest": ["--rounds", "3", "--seconds", "1.0", "--frames", "20000"],
    "ui_load": ["--rounds", "1", "--seconds", "4", "--warm", "2", "--render-rounds", "2"],
    "idle": ["--seconds", "20"],
    "paint_floor": ["--seconds", "5"],
    "memory": ["--minutes", "0.75", "--every", "3"],
}


def run(name: str, extra: list[str], out: Path) -> dict[str, Any] | None:
    import orjson

    argv = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out), *extra]
    print(f"[run_all] {name} {' '.join(extra)}", file=sys.stderr, flush=True)
    t = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    print(f"[run_all] {name} done in {time.monotonic() - t:.0f}s (exit {proc.returncode})", file=sys.stderr,
          flush=True)
    if proc.returncode != 0 or not out.exists():
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    return orjson.loads(out.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run every benchmark and print one Markdown report")
    parser.add_argument("--only", nargs="+", choices=ORDER, default=list(ORDER))
    parser.add_argument("--quick", action="store_true", help="short settings (a smoke run, noisier figures)")
    parser.add_argument("--json", default=None, help="write every figure of every benchmark to this file")
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="ingest: also run the replay clients on this interpreter (Python 3.13 + cryptofeed 3)")
    parser.add_argument("--from-json", default=None, metavar="FILE", help="only print the report of a saved run")
    args = parser.parse_args(argv)
    if args.from_json:
        import orjson

        saved = orjson.loads(Path(args.from_json).read_bytes())
        info, info_end = saved.pop("machine"), saved.pop("machine_end")
        started, elapsed = saved.pop("started", 0.0), saved.pop("seconds", 0.0)
        results: dict[str, Any] = {k: v for k, v in saved.items() if k in ORDER}
        args.only = [n for n in ORDER if n in results]
        args.quick = saved.pop("quick", False)
    else:
        info = machine()
        started = time.time()
        results = {}
        with tempfile.TemporaryDirectory(prefix="finx-bench-") as tmp:
            for name in ORDER:
                if name in args.only:
                    extra = (QUICK[name] if args.quick else []) + (
                        [a for p in args.python for a in ("--python", p)] if name == "ingest" else [])
                    results[name] = run(name, extra, Path(tmp) / f"{name}.json")
        info_end = machine()
        elapsed = time.time() - started
    lines = ["# finx-tui benchmarks", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
             f"{'quick settings' if args.quick else 'default settings'}, {elapsed:.0f} s. "
             f"Machine: {machine_line(info)}; at the end: calibration {info_end['calibration_ms']} ms, "
             f"load average {info_end['loadavg']}.", "",
             "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for name in ORDER:
        data = results.get(name)
        if name not in args.only:
            continue
        if data is None:
            lines.append(f"| {name} | failed (see stderr) | – |")
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        for target, measured, verdict in module.targets(data):
            lines.append(f"| {target} | {measured} | {verdict} |")
    for name in ORDER:
        data = results.get(name)
        if data is None:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        lines += ["", f"## {name}", "", (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "), "",
                  module.report(data)]
    print("\n".join(lines))
    if args.json and not args.from_json:
        import orjson

        Path(args.json).write_bytes(orjson.dumps({"machine": info, "machine_end": info_end, "started": started,
                                                  "seconds": elapsed, "quick": args.quick, **results},
                                                 option=orjson.OPT_INDENT_2))
    return 0 if all(results.get(n) is not None for n in args.only) else 1


if __name__ == "__main__":
    raise SystemExit(main())
