"""`startup`: time to `/-/ready` on a new and on an existing database, and CLI commands.

The existing database is the new one after `--startup-fill` deliveries of the
storm (so migrations find a current schema and tables with rows). A third
start, on the same database, has a kubeconfig (`REMEDIATOR_KUBERNETES=on`), as
production with a cluster does: it includes importing the Kubernetes client. The CLI
timings are whole processes, as an operator runs them: `remediator --help`
and `remediator audit --since 1h` against that database.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from bench.load import Target, audit_check, drive, storm_deliveries
from bench.scenarios import Run
from bench.scenarios.actions import write_kubeconfig
from bench.scenarios.storm import rules_for
from bench.service import child_env, free_port, remediator_command, spawn


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    rules = rules_for(opts, workdir)
    service = spawn(workdir=workdir, database_url=database_url, rules=rules, env=opts.env,
                    startup_timeout=opts.startup_timeout)
    try:
        result.figures |= {"startup_new_db_s": service.startup_s,
                           "rss_ready_mb": service.rss_mb()}
        tally = drive([Target(service.url, service.token)],
                      storm_deliveries(batches=opts.startup_fill, batch_size=opts.batch_size,
                                       duplicates=opts.duplicates, resolved=opts.resolved,
                                       seed=opts.seed),
                      concurrency=opts.concurrency, max_seconds=opts.max_seconds)
        result.errors += tally.errors()
    finally:
        service.stop()
    store, errors = audit_check(database_url, tally)
    result.errors += errors
    result.detail["existing_db_audit_rows"] = store["audit_total"]

    again = spawn(workdir=workdir, database_url=database_url, rules=rules, env=opts.env,
                  startup_timeout=opts.startup_timeout, name="restart")
    result.figures |= {"startup_existing_db_s": again.startup_s}
    again.stop()

    # As in production with a cluster configured: the Kubernetes client is imported
    # and configured at start-up (nothing is called until an action runs).
    if opts.kubernetes_startup:
        kubeconfig = write_kubeconfig(workdir / "kubeconfig", free_port())
        kube = spawn(workdir=workdir, database_url=database_url, rules=rules,
                     kubernetes="on", env={"KUBECONFIG": str(kubeconfig), **opts.env},
                     name="kubernetes", startup_timeout=opts.startup_timeout)
        result.figures |= {"startup_kubernetes_s": kube.startup_s}
        kube.stop()

    for figure, argv in (("cli_help_s", ["--help"]),
                         ("cli_audit_s", ["audit", "--since", "1h", "--database-url",
                                          database_url])):
        seconds, error = timed_command([*remediator_command(), *argv], workdir)
        result.figures[figure] = seconds
        if error:
            result.errors.append(error)
    return result


def timed_command(argv: list[str], cwd: Path) -> tuple[float, str | None]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False,
                          env=_env())
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return seconds, (f"`{' '.join(argv[-4:])}` exited {done.returncode}: "
                         f"{done.stderr.strip()[-300:]}")
    return seconds, None


def _env() -> dict[str, str]:
    return child_env()
