"""`audit-size`: an audit table of `--audit-rows` rows, then the audit API and a storm.

The table is pre-filled with direct SQL inserts (fast: one `executemany` per
chunk, `synchronous=OFF` while filling) on the schema the service's own
migrations create. The hash chain is computed with the service's own
`entry_hash`, so the chain is valid and the service appends to it as usual
(`audit verify` would pass; verifying is not what this scenario measures).
Entries are spread over the last `--audit-days` days (inside retention).

Then the service starts on it (start-up on a big database), the audit API is
queried with typical on-call filters (`--audit-queries` times each, one by
one), and the storm runs (throughput and p99 with a big table).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.load import audit_check, decision_rows
from bench.loadgen import ALERTNAMES, NAMESPACES, fingerprint
from bench.scenarios import Run
from bench.scenarios.storm import merge, rules_for, storm_on
from bench.service import spawn
from bench.stats import pct

OUTCOMES = [("rate_limited", 35), ("no_match", 35), ("duplicate", 8), ("dry_run", 5),
            ("executed", 4), ("succeeded", 4), ("resolved", 4), ("denied", 2), ("cooldown", 2),
            ("failed", 0.5), ("verified", 0.5)]
RULES = ["restart-crashlooping-pod", "rollout-restart-on-memory-pressure", "raise-hpa-ceiling",
         "scale-kafka-consumers"]

QUERIES: list[tuple[str, dict[str, str]]] = [
    ("newest page", {}),
    ("last hour", {"since": "1h"}),
    ("rule, last day", {"rule": "restart-crashlooping-pod", "since": "24h"}),
    ("failed, last week", {"outcome": "failed", "since": "7d"}),
    ("namespace+alertname", {"namespace": "apps-web", "alertname": "KubePodCrashLooping"}),
    ("executed, 500", {"outcome": "executed", "limit": "500"}),
]


def prefill(db_file: Path, rows: int, days: float, seed: int) -> float:
    """Insert `rows` chained audit entries; returns rows per second."""
    from remediator.store import Database
    from remediator.store.audit.log import GENESIS, entry_hash

    database = Database(f"sqlite:///{db_file}")
    database.migrate()
    database.dispose()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=days)
    step = (now - timedelta(minutes=5) - start) / max(rows, 1)
    pool = templates(rng)
    connection = sqlite3.connect(db_file)
    connection.execute("PRAGMA synchronous=OFF")
    # Indexes are rebuilt once at the end: faster than maintaining six on every insert.
    indexes = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'audit' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    columns = ("ts", "outcome", "remediation_id", "rule", "step", "alertname", "fingerprint",
               "namespace", "action", "target", "reason", "duration_ms", "runbook_url",
               "group_key", "labels", "detail", "prev_hash", "hash")
    sql = f"INSERT INTO audit ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    prev, started, chunk = GENESIS, time.perf_counter(), []
    for index in range(rows):
        entry = {**pool[index % len(pool)], "ts": start + step * index}
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(prev, entry)
        chunk.append((sql_ts(entry["ts"]), *(entry[name] for name in columns[1:14]),
                      json.dumps(entry["labels"]), "{}", entry["prev_hash"], entry["hash"]))
        if len(chunk) == 50_000:
            connection.executemany(sql, chunk)
            connection.commit()
            chunk = []
    connection.executemany(sql, chunk)
    connection.commit()
    for _, create in indexes:
        connection.execute(create)
    connection.commit()
    connection.close()
    return rows / (time.perf_counter() - started)


def templates(rng: random.Random, count: int = 4096) -> list[dict[str, Any]]:
    """Distinct entries to cycle through (building each row from scratch is too slow)."""
    outcomes, weights = zip(*OUTCOMES, strict=True)
    out = []
    for index in range(count):
        outcome = rng.choices(outcomes, weights)[0]
        alertname = rng.choices([a[0] for a in ALERTNAMES], [a[1] for a in ALERTNAMES])[0]
        namespace = rng.choices([n[0] for n in NAMESPACES], [n[1] for n in NAMESPACES])[0]
        labels = {"alertname": alertname, "namespace": namespace, "pod": f"svc-{index:08d}"}
        acts = outcome not in ("no_match", "denied")
        out.append({"outcome": outcome, "remediation_id": None, "step": 0,
                    "rule": rng.choice(RULES) if acts else "", "alertname": alertname,
                    "fingerprint": fingerprint(labels), "namespace": namespace,
                    "action": "kubernetes.delete_pod" if acts else "",
                    "target": f"pod {namespace}/{labels['pod']}" if acts else "",
                    "reason": f"bench pre-fill {outcome}", "duration_ms": None,
                    "runbook_url": "", "group_key": f'{{}}:{{namespace="{namespace}"}}',
                    "labels": labels, "detail": {}})
    return out


def sql_ts(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage: naive UTC with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def query_api(url: str, token: str, repeats: int) -> tuple[dict[str, list[float]], list[str]]:
    """Each typical query `repeats` times; latencies in seconds by query name."""
    timings: dict[str, list[float]] = {name: [] for name, _ in QUERIES}
    errors: list[str] = []
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        cursor = client.get("/api/v1/audit").json().get("next_cursor")
        queries = [*QUERIES, ("second page (cursor)", {"cursor": cursor or ""})]
        timings["second page (cursor)"] = []
        for _ in range(repeats):
            for name, params in queries:
                t0 = time.perf_counter()
                response = client.get("/api/v1/audit", params=params)
                timings[name].append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors.append(f"GET /api/v1/audit {params}: {response.status_code} "
                                  f"{response.text[:200]}")
    return timings, errors


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    workdir.mkdir(parents=True, exist_ok=True)
    db_file = workdir / "bench.db"
    database_url = f"sqlite:///{db_file}"
    result.figures["prefill_rows_per_s"] = prefill(db_file, opts.audit_rows, opts.audit_days,
                                                   opts.seed)
    result.figures["audit_rows"] = opts.audit_rows
    baseline = decision_rows(database_url)
    service = spawn(workdir=workdir, database_url=database_url, rules=rules_for(opts, workdir),
                    env=opts.env, startup_timeout=opts.startup_timeout)
    try:
        result.figures["startup_big_db_s"] = service.startup_s
        timings, errors = query_api(service.url, service.api_token, opts.audit_queries)
        result.errors += errors
        every = [t for values in timings.values() for t in values]
        result.figures |= {"audit_api_p50_ms": (pct(every, .5) or 0) * 1000,
                           "audit_api_p99_ms": (pct(every, .99) or 0) * 1000,
                           "audit_api_worst_query_p99_ms": max(
                               (pct(v, .99) or 0) * 1000 for v in timings.values())}
        result.detail["audit_api_p99_ms_by_query"] = {
            name: (pct(v, .99) or 0) * 1000 for name, v in timings.items()}
        tallies = storm_on(opts, service, concurrency=opts.concurrency, run=result)
    finally:
        service.stop()
    store, errors = audit_check(database_url, merge(tallies), baseline=baseline)
    result.errors += errors
    result.detail["store"] = store
    return result
