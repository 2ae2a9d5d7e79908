"""Summarise py-spy collapsed stacks (`py-spy record --format raw`) as tables.

    .venv/bin/python bench/hotspots.py /tmp/prof.txt [--top 25] [--filter remediator/]

Prints, as shares of all (non-idle) samples:
- inclusive: time spent in a function or anything it called (once per stack);
- self: time where the function itself was on top of the stack;
- by thread-entry: event loop vs threadpool (where intake.receive runs);
- by layer: waiting (a lock, the selector, a queue), else the innermost frame
  from a known layer (sqlite3 C calls, SQLAlchemy,
  pydantic, json, hashlib, remediator, uvicorn/starlette/h11, ...).
"""

from __future__ import annotations

import argparse
import linecache
import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+?)(?::\d+)?\)$")

LAYERS = [  # (layer, substring of the file path); the innermost matching frame wins
    ("sqlite3 (C: execute/commit/fsync)", "sqlite3/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("pydantic", "pydantic"),
    ("json", "json/"),
    ("hashlib/audit hash", "hashlib"),
    ("prometheus_client", "prometheus_client/"),
    ("remediator", "remediator/"),
    ("http server (uvicorn/h11/starlette/fastapi)", "uvicorn/"),
    ("http server (uvicorn/h11/starlette/fastapi)", "h11/"),
    ("http server (uvicorn/h11/starlette/fastapi)", "starlette/"),
    ("http server (uvicorn/h11/starlette/fastapi)", "fastapi/"),
    ("anyio/asyncio", "anyio/"),
    ("anyio/asyncio", "asyncio/"),
]


_ROOTS = [Path(__file__).resolve().parent.parent, *(Path(p) for p in sys.path if p)]
_WAIT_FUNCS = ("EpollSelector.select", "Condition.wait", "Event.wait", "Semaphore.acquire",
               "_worker (concurrent/futures/thread.py)", "Thread.join", "sleep")
_FULL = re.compile(r"\((?P<file>[^()]+?):(?P<line>\d+)\)$")


def _source_line(frame: str) -> str:
    match = _FULL.search(frame.strip())
    if not match:
        return ""
    for root in _ROOTS:
        path = root / match["file"]
        if path.is_file():
            return linecache.getline(str(path), int(match["line"])).strip()
    return ""


def is_waiting(leaf: str) -> bool:
    """Samples where the leaf blocks (lock, selector, queue): not CPU."""
    if any(name in short(leaf) for name in _WAIT_FUNCS):
        return True
    line = _source_line(leaf).lower()
    return "lock" in line and ("with " in line or ".acquire(" in line)


def short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for layer, marker in LAYERS:
            if marker in frame:
                return layer
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--all", action="store_true",
                        help="count waiting samples in the inclusive/self tables too")
    parser.add_argument("--filter", default="", help="only functions whose file contains this")
    args = parser.parse_args()

    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    entry: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = cpu = 0
    for line in args.stacks.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        names = [short(f) for f in frames]
        waiting = is_waiting(frames[-1])
        if args.all or not waiting:
            cpu += n
            for name in set(names):
                inclusive[name] += n
            self_time[names[-1]] += n
        entry["threadpool (WorkerThread.run)" if any("WorkerThread.run" in f for f in frames)
              else "event loop / main thread" if any("run_until_complete" in f or
                                                     "uvicorn" in f for f in frames)
              else "other threads (worker, scheduler)"] += n
        layers["(waiting: lock, selector, queue)" if waiting else layer_of(names)] += n

    def table(title: str, counter: Counter[str], top: int, base: int) -> None:
        print(f"\n{title}  ({base} samples)")
        for name, n in counter.most_common():
            if args.filter and args.filter not in name:
                continue
            print(f"{100 * n / base:6.1f}%  {name}")
            top -= 1
            if top == 0:
                break

    scope = "all samples" if args.all else "samples not waiting (CPU)"
    table("by thread, all samples", entry, 10, total)
    table("by layer, all samples", layers, 20, total)
    table(f"inclusive, % of {scope}", inclusive, args.top, cpu)
    table(f"self, % of {scope}", self_time, args.top, cpu)


if __name__ == "__main__":
    main()
