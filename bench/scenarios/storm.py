"""`storm` (4 senders x 50-alert deliveries, 10 % repeats, 3 % resolved) and `single`.

One fresh SQLite database per run, the storm's one rule (or `--rules`). The
service's start-up on the new database, and again on the same database after
the storm (an existing one), come with it; RSS is sampled during the storm.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

from bench import loadgen
from bench.load import Tally, Target, audit_check, drive, storm_deliveries
from bench.rulegen import write_rules
from bench.scenarios import Run
from bench.service import Service, spawn


def run_storm(opts: argparse.Namespace, workdir: Path) -> Run:
    return storm(opts, workdir, concurrency=opts.concurrency, restart=True,
                 profile=opts.profile)


def run_single(opts: argparse.Namespace, workdir: Path) -> Run:
    return storm(opts, workdir, concurrency=1, restart=False, profile=None)


def rules_for(opts: argparse.Namespace, workdir: Path) -> Path:
    return Path(opts.rules) if opts.rules else write_rules(workdir / "rules", 1)


def storm(opts: argparse.Namespace, workdir: Path, *, concurrency: int, restart: bool,
          profile: Path | None, rules: Path | None = None) -> Run:
    """Warm up, storm, stop, check the audit; optionally restart on the same database."""
    run = Run()
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    rules = rules or rules_for(opts, workdir)
    service = spawn(workdir=workdir, database_url=database_url, rules=rules,
                    env=opts.env, startup_timeout=opts.startup_timeout)
    try:
        run.figures |= {"startup_new_db_s": service.startup_s,
                        "rss_ready_mb": service.rss_mb()}
        tallies = storm_on(opts, service, concurrency=concurrency, run=run, profile=profile)
    finally:
        code = service.stop()
    if not service.clean_exit():
        run.errors.append(f"service exit code {code}:\n{service.log_tail()}")
    store, errors = audit_check(database_url, merge(tallies))
    run.errors += errors
    run.detail["store"] = store
    if restart:
        again = spawn(workdir=workdir, database_url=database_url, rules=rules,
                      env=opts.env, startup_timeout=opts.startup_timeout, name="restart")
        run.figures["startup_existing_db_s"] = again.startup_s
        again.stop()
    return run


def storm_on(opts: argparse.Namespace, service: Service, *, concurrency: int, run: Run,
             profile: Path | None = None) -> list[Tally]:
    """Warm-up (untimed, one by one) then the timed storm against a running service."""
    target = Target(service.url, service.token)
    deliveries = storm_deliveries(batches=opts.warmup + opts.batches, batch_size=opts.batch_size,
                                  duplicates=opts.duplicates, resolved=opts.resolved,
                                  seed=opts.seed)
    warm = drive([target], itertools.islice(deliveries, opts.warmup), concurrency=1,
                 max_seconds=opts.max_seconds)
    timed_list = list(deliveries)  # built before the clock starts
    service.sample_rss(0.2)
    profilers = (loadgen.start_py_spy(str(profile), service.pid, opts.max_seconds + 5)
                 if profile else [])
    cpu0 = service.cpu_s()
    tally = drive([target], timed_list, concurrency=concurrency, max_seconds=opts.max_seconds)
    cpu = service.cpu_s() - cpu0
    service.stop_sampling()
    if profile:
        loadgen.finish_py_spy(profilers, str(profile))
        summarise_profile(profile)
        run.detail["profile"] = f"{profile}.txt"
    run.figures |= tally.figures()
    run.figures |= {"peak_rss_mb": service.peak_rss_mb(), "rss_after_storm_mb": service.rss_mb(),
                    "server_cpu_util": cpu / (tally.wall_s or 1e-9)}
    run.errors += warm.errors() + tally.timed_errors()
    if tally.sent < len(timed_list):
        run.notes.append(f"only {tally.sent} of {len(timed_list)} deliveries sent "
                                   f"within --max-seconds {opts.max_seconds:g}")
    run.detail |= {"storm": tally.detail(), "concurrency": concurrency}
    return [warm, tally]


def merge(tallies: list[Tally]) -> Tally:
    """One tally of several (for the audit check: everything the answers promised)."""
    total = Tally()
    for t in tallies:
        total.decisions += t.decisions
        total.expected_audit += t.expected_audit
        total.outcomes += t.outcomes
        total.acting += t.acting
    return total


def summarise_profile(profile: Path) -> None:
    stacks = Path(f"{profile}.txt")
    if not stacks.exists():
        print(f"py-spy wrote no {stacks}", file=sys.stderr)
        return
    hotspots = Path(__file__).resolve().parent.parent / "hotspots.py"
    result = subprocess.run([sys.executable, str(hotspots), str(stacks), "--top", "25"],
                            capture_output=True, text=True, check=False)
    Path(f"{profile}.summary.txt").write_text(result.stdout + result.stderr)
    print(f"profile: {stacks} (summary {profile}.summary.txt)", file=sys.stderr)
