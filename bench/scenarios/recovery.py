"""`recovery`: how long until a restarted instance recognises its interrupted jobs.

The emulator stalls every pod delete (an API server that never answers), so
the worker's first jobs hang mid-action; the service is then killed (SIGKILL:
a crash, no graceful shutdown) and restarted on the same database. Measured:
from the restart's spawn until every interrupted action has its `failed`
(`interrupted: ...`) audit entry. Issue 11's target is seconds; today the
lease (5 min) has to expire first. Not finished within `--recovery-timeout`
is an error (the figure would be a lower bound, not a measurement).
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import time
from pathlib import Path

from bench.load import Target, drive
from bench.rulegen import GUARDS_LIFTED, write_actions_rule
from bench.scenarios import Run
from bench.scenarios.actions import (
    ALERTNAME,
    NAMESPACE,
    deliveries,
    emulator,
    write_kubeconfig,
)
from bench.service import spawn


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    db_file = workdir / "bench.db"
    database_url = f"sqlite:///{db_file}"
    rules = write_actions_rule(workdir / "rules", ALERTNAME, NAMESPACE)
    with emulator(workdir, opts.recovery_jobs, stall=True) as (port, _):
        env = {"KUBECONFIG": str(write_kubeconfig(workdir / "kubeconfig", port)),
               **GUARDS_LIFTED, **opts.env}
        first = spawn(workdir=workdir, database_url=database_url, kubernetes="on", rules=rules,
                      env=env, startup_timeout=opts.startup_timeout)
        try:
            tally = drive([Target(first.url, first.token)], deliveries(opts.recovery_jobs),
                          concurrency=1, max_seconds=opts.max_seconds)
            result.errors += tally.errors()
            running = wait_running(db_file, timeout=30)
        finally:
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
        if not running:
            result.errors.append("no job was running when the service was killed")
            return result
        again = spawn(workdir=workdir, database_url=database_url, kubernetes="on", rules=rules,
                      env=env, startup_timeout=opts.startup_timeout, name="restart")
        restarted = time.perf_counter() - again.startup_s
        try:
            seen = wait_interrupted(db_file, running, opts.recovery_timeout)
        finally:
            again.stop()
    if seen is None:
        result.errors.append(f"{len(running)} interrupted job(s) not marked failed within "
                             f"--recovery-timeout {opts.recovery_timeout:g}s of the restart")
        return result
    result.figures |= {"interrupted_jobs": len(running), "startup_s": again.startup_s,
                       "interrupted_recognised_s": seen - restarted}
    return result


def wait_running(db_file: Path, timeout: float) -> list[int]:
    """Job ids in state `running` once the worker has claimed them (stalled in the delete)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        ids = [row[0] for row in query(db_file, "SELECT id FROM jobs WHERE state = 'running'")]
        if ids:
            time.sleep(0.5)  # let the other workers claim theirs too, then read again
            return [row[0] for row in query(db_file,
                                            "SELECT id FROM jobs WHERE state = 'running'")]
        time.sleep(0.1)  # polling the store against a deadline
    return []


def wait_interrupted(db_file: Path, jobs: list[int], timeout: float) -> float | None:
    """perf_counter() when every job in `jobs` is done with an `interrupted` failure."""
    marks = ",".join("?" * len(jobs))
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        done = query(db_file, f"SELECT count(*) FROM jobs WHERE state = 'done' AND id IN ({marks})",
                     jobs)[0][0]
        failed = query(db_file, "SELECT count(*) FROM audit WHERE outcome = 'failed' "
                       "AND reason LIKE 'interrupted%'")[0][0]
        if done == len(jobs) and failed >= len(jobs):
            return time.perf_counter()
        time.sleep(0.2)  # polling the store against a deadline
    return None


def query(db_file: Path, sql: str, params: list[int] | None = None) -> list[tuple[int, ...]]:
    connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()
