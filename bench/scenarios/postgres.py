"""`postgres`: two replicas on one PostgreSQL, both receiving every delivery (HA pair).

Alertmanager in HA sends every notification from each peer, so each replica
gets every delivery; the idempotency key must make exactly one of them act.
Each sender posts a delivery to both replicas at once. Figures: total alerts
answered per second (both replicas), distinct alerts per second, p50/p99, and
where the two cores went during the timed storm, in CPU microseconds per alert
answered: the replicas, the PostgreSQL server (postmaster and backends), and
this load generator (`*_cpu_per_alert_us`; `machine_cpu_util` is their sum over
the wall time: at ~2 the machine, not one part, is the limit).
Checks (errors if violated): no (rule, fingerprint, step) acted on twice in the
answers, no remediation key stored twice, one remediation row per acting
decision, and the audit rows of both replicas against their answers.
Unless `--rules` is given, the storm's rule runs without its rate limit (and
the global limit and breaker are lifted), so every new crash-looping pod is a
remediation both replicas race for: the idempotency check then has work to do.
The PostgreSQL settings (`--pg-setting`, defaults in bench/pg.py: durable,
fsync on) are read back from the server and reported.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import secrets
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import pg
from bench.load import Tally, Target, audit_check, drive, storm_deliveries
from bench.rulegen import GUARDS_LIFTED, write_rules
from bench.scenarios import Run
from bench.scenarios.storm import merge
from bench.service import Service, spawn, tree_cpu_s


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    rules = (Path(opts.rules) if opts.rules
             else write_rules(workdir / "rules", 1, unlimited=True))
    env = {**GUARDS_LIFTED, **shared_keys(workdir), **opts.env}
    # Not under the work dir: the server runs as `postgres` when we are root.
    base = Path(tempfile.mkdtemp(prefix="remediator-bench-pg-"))
    try:
        with pg.server(base, dict(opts.pg_settings)) as cluster:
            url = cluster.url
            result.detail["postgresql"] = settings = pg.settings(url)
            result.notes.append("PostgreSQL " + ", ".join(f"{k}={v}"
                                                          for k, v in settings.items()))
            replicas: list[Service] = []
            try:
                for name in ("replica-a", "replica-b"):  # b starts on a migrated schema
                    replicas.append(spawn(workdir=workdir, database_url=url, rules=rules,
                                          env=env, name=name,
                                          startup_timeout=opts.startup_timeout))
                result.figures["startup_s"] = replicas[0].startup_s
                tallies = storm_pair(opts, replicas, result, server_pid=cluster.pid)
            finally:
                for replica in replicas:
                    replica.stop()
            store, errors = audit_check(url, merge(tallies))
            result.errors += errors + key_errors(url, merge(tallies))
            result.detail["store"] = store
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result


def shared_keys(workdir: Path) -> dict[str, str]:
    """The keys replicas on one PostgreSQL must share (the service refuses to start
    without them), as the chart mounts them: files, one for both replicas."""
    paths = {}
    workdir.mkdir(parents=True, exist_ok=True)
    for name, setting in (("audit.key", "REMEDIATOR_AUDIT_KEY_FILE"),
                          ("session.key", "REMEDIATOR_SESSION_KEY_FILE")):
        path = workdir / name
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
        paths[setting] = str(path)
    return paths


def storm_pair(opts: argparse.Namespace, replicas: list[Service], result: Run, *,
               server_pid: int) -> list[Tally]:
    targets = [Target(r.url, r.token) for r in replicas]
    deliveries = storm_deliveries(batches=opts.warmup + opts.batches, batch_size=opts.batch_size,
                                  duplicates=opts.duplicates, resolved=opts.resolved,
                                  seed=opts.seed)
    warm = drive(targets, itertools.islice(deliveries, opts.warmup), concurrency=1,
                 max_seconds=opts.max_seconds)
    timed = list(deliveries)
    for replica in replicas:
        replica.sample_rss(0.2)
    cpu_before = cpu_split(replicas, server_pid)
    tally = drive(targets, timed, concurrency=opts.concurrency, max_seconds=opts.max_seconds)
    spent = {part: after - cpu_before[part]
             for part, after in cpu_split(replicas, server_pid).items()}
    answered = max(tally.alerts_ok, 1)
    result.figures |= {f"{part}_cpu_per_alert_us": 1e6 * seconds / answered
                       for part, seconds in spent.items()}
    result.figures["machine_cpu_util"] = sum(spent.values()) / (tally.wall_s or 1e-9)
    figures = tally.figures()
    result.figures |= {"total_alerts_per_s": figures["alerts_per_s"],
                       "distinct_alerts_per_s": figures["alerts_per_s"] / len(replicas),
                       "p50_ms": figures.get("p50_ms", 0.0), "p99_ms": figures.get("p99_ms", 0.0),
                       "peak_rss_mb": max(r.peak_rss_mb() for r in replicas)}
    result.errors += warm.errors() + tally.timed_errors()
    result.detail["storm"] = tally.detail()
    return [warm, tally]


def cpu_split(replicas: list[Service], server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the replicas together, the PostgreSQL server, and this
    process (the load generator)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"replicas": sum(replica.cpu_s() for replica in replicas),
            "postgres": tree_cpu_s(server_pid),
            "loadgen": own.ru_utime + own.ru_stime}


def key_errors(url: str, tally: Tally) -> list[str]:
    """Exactly one action per idempotency key, in the answers and in the store."""
    errors = []
    twice = [key for key, n in tally.acting.items() if n > 1]
    if twice:
        errors.append(f"{len(twice)} (rule, fingerprint, step) acted on by more than one "
                      f"answer, e.g. {twice[:3]}")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            duplicated = connection.execute(text(
                "SELECT count(*) FROM (SELECT key FROM remediations GROUP BY key "
                "HAVING count(*) > 1) AS d")).scalar_one()
            stored = connection.execute(text("SELECT count(*) FROM remediations")).scalar_one()
    finally:
        engine.dispose()
    if duplicated:
        errors.append(f"{duplicated} remediation keys stored more than once")
    if stored != len(tally.acting):
        errors.append(f"{stored} remediation rows, but {len(tally.acting)} acting decisions "
                      "in the answers")
    return errors
