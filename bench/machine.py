"""The machine and the code a result was measured on, printed and stored with it.

A figure without its machine is not comparable: cores, CPU model, Python and
SQLite versions (SQLite's is the library Python links, which the service uses),
the git revision and whether the tree had uncommitted changes.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _git(*argv: str) -> str:
    try:
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def code() -> dict[str, Any]:
    """Revision, dirty flag (any uncommitted change) and a digest of the service's diff."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    diff = _git("diff", "HEAD", "--", "remediator", "pyproject.toml")
    return {"revision": _git("rev-parse", "HEAD"),
            "short": _git("rev-parse", "--short", "HEAD"),
            "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(status),
            "service_diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff
            else None}


def describe() -> dict[str, Any]:
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {"cores": os.cpu_count(), "usable_cores": len(affinity) if affinity else None,
            "cpu_model": cpu_model(), "memory_mb": memory_mb(),
            "python": sys.version.split()[0], "python_impl": platform.python_implementation(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "loadavg": list(os.getloadavg()), "code": code()}


def summary_lines(machine: dict[str, Any]) -> list[str]:
    c = machine["code"]
    return [
        f"machine: {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"{machine['cpu_model']}, {machine['memory_mb'] or 0:.0f} MB RAM",
        f"software: Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"{machine['platform']}",
        f"code: {c['short'] or '?'} on {c['branch'] or '?'}"
        + (" (DIRTY: uncommitted changes" + (f", service diff {c['service_diff_sha256']}"
                                              if c["service_diff_sha256"] else "") + ")"
           if c["dirty"] else " (clean)"),
        f"load average at start: {' '.join(f'{x:.2f}' for x in machine['loadavg'])}",
    ]
