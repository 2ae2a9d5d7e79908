"""Alert-storm benchmark for the remediator webhook (not a pytest test).

Starts the service as a subprocess (fresh SQLite file, the example rules, a
webhook token, no --dev), measures its start-up, then posts Alertmanager
webhook v4 deliveries from C concurrent senders and reports throughput,
client-side latency, the server's own latency histogram, its peak RSS, and
checks that every decision it returned landed in the audit log.

    .venv/bin/python bench/loadgen.py                       # defaults
    .venv/bin/python bench/loadgen.py --batches 400 --batch-size 50 -c 4 \\
        --max-seconds 60 --json bench/results/run.json
    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:9095 --token T

See bench/README.md for what each figure means and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent
WEBHOOK = "/webhook/alertmanager"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Outcomes the webhook answers with (each is one audit entry, except `resolved`,
# which writes one entry per remediation it closes, or one when it closes none).
DECISION_OUTCOMES = ("executed", "dry_run", "duplicate", "cooldown", "rate_limited",
                     "breaker_open", "denied", "paused", "no_match", "resolved", "exhausted")


# --------------------------------------------------------------------------- payloads

_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, 0xFFFFFFFFFFFFFFFF


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's label-set fingerprint (FNV-1a 64 over sorted name/value pairs)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), labels[name].encode()):
            for byte in part:
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
            digest = ((digest ^ 0xFF) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Namespaces a batch (one Alertmanager group, group_by: [namespace]) can come from,
# with weights. apps-* are where the example rules act; kube-system is denied;
# the others only ever produce no_match.
NAMESPACES = [("apps-payments", 4), ("apps-web", 4), ("apps-search", 3), ("apps-kafka", 3),
              ("monitoring", 2), ("default", 1), ("kube-system", 1)]

# alertname -> weight. The first four match rules/workloads.yml (in apps-*;
# HpaMaxedOut and KafkaConsumerLagHigh in any namespace); the rest match nothing.
ALERTNAMES = [("KubePodCrashLooping", 30), ("ContainerMemoryNearLimit", 10),
              ("HpaMaxedOut", 10), ("KafkaConsumerLagHigh", 10),
              ("KubePodRestartingOften", 10), ("TargetDown", 10), ("HighErrorRate", 10),
              ("NodeFilesystemAlmostFull", 10)]

SEVERITY = {"KubePodCrashLooping": "warning", "ContainerMemoryNearLimit": "warning",
            "HpaMaxedOut": "warning", "KafkaConsumerLagHigh": "warning",
            "KubePodRestartingOften": "info", "TargetDown": "warning",
            "HighErrorRate": "critical", "NodeFilesystemAlmostFull": "critical"}

EXPR = {"KubePodCrashLooping": 'max_over_time(kube_pod_container_status_waiting_reason'
                               '{reason="CrashLoopBackOff"}[5m]) >= 1',
        "HpaMaxedOut": "kube_horizontalpodautoscaler_status_current_replicas == "
                       "kube_horizontalpodautoscaler_spec_max_replicas",
        "KafkaConsumerLagHigh": "sum by (namespace, deployment) (kafka_consumergroup_lag)"
                                " > 10000"}

RUNBOOK_BASE = "https://git.example.org/platform/remediator/-/blob/main"
PROMETHEUS = "http://prometheus.monitoring.svc:9090"
ALERTMANAGER = "http://alertmanager.monitoring.svc:9093"
ZERO_TIME = "0001-01-01T00:00:00Z"  # what Alertmanager sends as endsAt of firing alerts


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def make_alert(rng: random.Random, serial: int, namespace: str, now: datetime) -> dict[str, Any]:
    alertname = _pick(rng, ALERTNAMES)
    app = f"svc{serial % 997:03d}"
    labels = {"alertname": alertname, "namespace": namespace, "severity": SEVERITY[alertname],
              "cluster": "bench", "prometheus": "monitoring/k8s"}
    if alertname in ("KubePodCrashLooping", "KubePodRestartingOften", "ContainerMemoryNearLimit"):
        labels |= {"pod": f"{app}-{serial:07d}-{rng.randrange(16**5):05x}",
                   "container": app, "deployment": f"{app}-{serial:07d}",
                   "job": "kube-state-metrics"}
    elif alertname == "HpaMaxedOut":
        labels |= {"horizontalpodautoscaler": f"{app}-{serial:07d}", "job": "kube-state-metrics"}
    elif alertname == "KafkaConsumerLagHigh":
        labels |= {"deployment": f"consumer-{serial:07d}", "consumergroup": f"cg-{serial}",
                   "topic": f"events-{serial % 31}", "job": "kafka-exporter"}
    else:
        labels |= {"instance": f"10.42.{serial // 250 % 250}.{serial % 250}:8080",
                   "job": app, "service": app}
    started = now - timedelta(seconds=rng.randrange(60, 3600), milliseconds=rng.randrange(1000))
    expr = EXPR.get(alertname, f'{alertname.lower()} > 0')
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {
            "summary": f"{alertname} on {namespace}/{labels.get('pod', app)}",
            "description": f"{alertname} has been firing for {namespace}; see the runbook.",
            "runbook_url": f"{RUNBOOK_BASE}/runbooks/{alertname}.md",
        },
        "startsAt": rfc3339(started),
        "endsAt": ZERO_TIME,
        "generatorURL": f"{PROMETHEUS}/graph?g0.expr={quote(expr, safe='')}&g0.tab=1",
        "fingerprint": fingerprint(labels),
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


@dataclass
class Workload:
    payloads: list[bytes]
    alerts: int
    kinds: Counter[str]


def build_payloads(*, batches: int, batch_size: int, duplicates: float, resolved: float,
                   seed: int) -> Workload:
    """All deliveries, built (and serialised) before the clock starts."""
    kinds: Counter[str] = Counter()
    payloads = list(iter_payloads(batches=batches, batch_size=batch_size,
                                  duplicates=duplicates, resolved=resolved, seed=seed,
                                  kinds=kinds))
    return Workload(payloads=payloads, alerts=batches * batch_size, kinds=kinds)


def iter_payloads(*, batches: int | None, batch_size: int, duplicates: float, resolved: float,
                  seed: int, kinds: Counter[str] | None = None) -> Iterator[bytes]:
    """Deliveries one by one (`batches=None`: without end, for a soak).

    Memory stays bounded: only the last 500 firing alerts per namespace are kept
    to draw re-sends and resolutions from.
    """
    rng = random.Random(seed)
    now = datetime.now(UTC)
    sent: dict[str, list[dict[str, Any]]] = defaultdict(list)  # namespace -> firing alerts
    kinds = Counter() if kinds is None else kinds
    serial = 0
    for index in itertools.count() if batches is None else range(batches):
        namespace = _pick(rng, NAMESPACES)
        pool = sent[namespace]
        alerts: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(batch_size):
            roll = rng.random()
            if pool and roll < duplicates:
                alert = rng.choice(pool)  # identical re-send (repeat_interval, HA peer)
                kind = "duplicate"
            elif pool and roll < duplicates + resolved:
                alert = dict(rng.choice(pool), status="resolved",
                             endsAt=rfc3339(now + timedelta(seconds=index)))
                kind = "resolved"
            else:
                serial += 1
                alert = make_alert(rng, serial, namespace, now)
                kind = "new"
            if alert["fingerprint"] in seen:  # Alertmanager never repeats one in a batch
                serial += 1
                alert, kind = make_alert(rng, serial, namespace, now), "new"
            seen.add(alert["fingerprint"])
            kinds[kind] += 1
            alerts.append(alert)
        known = {a["fingerprint"] for a in pool}
        pool.extend(a for a in alerts if a["status"] == "firing" and a["fingerprint"] not in known)
        del pool[:-500]
        yield delivery(namespace, alerts)


def delivery(namespace: str, alerts: list[dict[str, Any]]) -> bytes:
    """One Alertmanager webhook v4 body for a group (group_by: [namespace])."""
    body = {
        "version": "4",
        "groupKey": f'{{}}/{{severity=~"info|warning|critical"}}:{{namespace="{namespace}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "remediator",
        "groupLabels": {"namespace": namespace},
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": ALERTMANAGER,
        "alerts": alerts,
    }
    return json.dumps(body, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- the service

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (kB) of a process, from /proc."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    database_url: str
    db_file: Path | None
    log_file: Path
    startup_s: float
    rss_samples: list[int] = field(default_factory=list)
    _stop_sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.process.pid

    def sample_rss(self, interval: float = 0.2) -> None:
        def loop() -> None:
            while not self._stop_sampling.wait(interval):
                rss = proc_status(self.pid).get("VmRSS")
                if rss:
                    self.rss_samples.append(rss)
        threading.Thread(target=loop, daemon=True).start()

    def stop(self) -> int | None:
        self._stop_sampling.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("remediator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "remediator"]


def start_service(args: argparse.Namespace, workdir: Path) -> Service:
    token = secrets.token_urlsafe(24)
    port = free_port()
    db_file = None
    database_url = args.database_url
    if database_url is None:
        db_file = workdir / "remediator-bench.db"
        database_url = f"sqlite:///{db_file}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env |= {"REMEDIATOR_WEBHOOK_TOKEN": token,
            "REMEDIATOR_KUBERNETES": args.kubernetes,  # never touch a real cluster by accident
            "REMEDIATOR_LOG_LEVEL": args.log_level,
            "PYTHONUNBUFFERED": "1"}
    for item in args.service_env:
        key, _, value = item.partition("=")
        env[key] = value
    command = [*server_command(), "serve", "--database-url", database_url,
               "--listen", f"127.0.0.1:{port}", "--rules", str(args.rules)]
    log_file = workdir / "service.log"
    url = f"http://127.0.0.1:{port}"
    with log_file.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    service = Service(process=process, url=url, token=token, database_url=database_url,
                      db_file=db_file, log_file=log_file, startup_s=float("nan"))
    deadline = started + args.startup_timeout
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"service exited with {process.returncode} during start-up:\n"
                                 f"{service.log_tail()}")
            try:
                if client.get(url + "/-/ready").status_code == 200:
                    service.startup_s = time.perf_counter() - started
                    return service
            except httpx.TransportError:
                pass
            time.sleep(0.005)
    service.stop()
    raise SystemExit(f"service not ready after {args.startup_timeout}s:\n{service.log_tail()}")


# --------------------------------------------------------------------------- load

@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)   # seconds, 200 responses only
    all_latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    alerts_ok: int = 0
    decisions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    expected_audit: int = 0
    received_mismatch: int = 0
    wall_s: float = 0.0
    sent: int = 0
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    """(completed at, latency, alerts) of each 200, seconds since the storm started."""


def account(results: Results, status: int, body: bytes, alerts: int, latency: float) -> None:
    results.all_latencies.append(latency)
    results.statuses[str(status)] += 1
    if status != 200:
        return
    results.latencies.append(latency)
    answer = json.loads(body)
    results.alerts_ok += alerts
    if answer.get("received") != alerts:
        results.received_mismatch += 1
    for decision in answer.get("decisions", []):
        outcome = decision.get("outcome", "?")
        results.decisions += 1
        results.outcomes[outcome] += 1
        if outcome == "resolved":
            results.expected_audit += max(1, len(decision.get("remediation_ids") or []))
        else:
            results.expected_audit += 1


async def storm(url: str, token: str, payloads: list[bytes], batch_size: int, *,
                concurrency: int, max_seconds: float, request_timeout: float) -> Results:
    results = Results()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "User-Agent": "Alertmanager/0.27.0"}
    queue = iter(payloads)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=request_timeout) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def sender() -> None:
            for body in queue:
                if time.perf_counter() >= deadline:
                    return
                results.sent += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(WEBHOOK, content=body)
                except httpx.HTTPError as error:
                    results.all_latencies.append(time.perf_counter() - t0)
                    results.statuses[type(error).__name__] += 1
                    continue
                t1 = time.perf_counter()
                account(results, response.status_code, response.content, batch_size, t1 - t0)
                if response.status_code == 200:
                    results.timeline.append((t1 - started, t1 - t0, batch_size))

        await asyncio.gather(*(sender() for _ in range(concurrency)))
        results.wall_s = time.perf_counter() - started
    return results


def warm_up(url: str, token: str, payloads: list[bytes], batch_size: int) -> Results:
    results = Results()
    with httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for body in payloads:
            t0 = time.perf_counter()
            response = client.post(WEBHOOK, content=body,
                                   headers={"Content-Type": "application/json"})
            account(results, response.status_code, response.content, batch_size,
                    time.perf_counter() - t0)
    return results


# --------------------------------------------------------------------------- /metrics

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')


def scrape(url: str, token: str) -> dict[str, float]:
    """Flat {'name{labels}': value} of the server's /metrics."""
    response = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    response.raise_for_status()
    samples = {}
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            key = match["name"] + (f"{{{match['labels']}}}" if match["labels"] else "")
            samples[key] = float(match["value"])
    return samples


def histogram(before: dict[str, float], after: dict[str, float], name: str) -> dict[str, Any]:
    """Delta of a Prometheus histogram between two scrapes, with estimated quantiles."""
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    buckets = []
    for key in after:
        match = re.fullmatch(rf'{name}_bucket\{{le="([^"]+)"\}}', key)
        if match:
            buckets.append((float(match[1]), delta(key)))
    buckets.sort()
    count, total = delta(f"{name}_count"), delta(f"{name}_sum")

    def quantile(q: float) -> float | None:  # like PromQL histogram_quantile()
        if not buckets or count <= 0:
            return None
        rank, lower, below = q * count, 0.0, 0.0
        for upper, cumulative in buckets:
            if cumulative >= rank:
                if upper == float("inf"):
                    return lower
                inside = cumulative - below
                return lower + (upper - lower) * ((rank - below) / inside if inside else 1)
            lower, below = upper, cumulative
        return lower

    return {"count": count, "sum_s": total, "mean_s": total / count if count else None,
            "p50_s": quantile(0.50), "p95_s": quantile(0.95), "p99_s": quantile(0.99),
            "buckets": {("+Inf" if le == float("inf") else f"{le:g}"): c for le, c in buckets}}


def labelled(before: dict[str, float], after: dict[str, float], name: str,
             label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in after.items():
        match = re.fullmatch(rf'{name}\{{(.*)\}}', key)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match[1]))
            if label in labels:
                d = value - before.get(key, 0.0)
                if d:
                    out[labels[label]] = out.get(labels[label], 0.0) + d
    return out


# --------------------------------------------------------------------------- audit check

def count_store(database_url: str, db_file: Path | None) -> dict[str, Any]:
    """Rows in the store after the service stopped: audit (by outcome), remediations, jobs."""
    queries = {"audit": "SELECT outcome, count(*) FROM audit GROUP BY outcome",
               "remediations": "SELECT count(*) FROM remediations",
               "jobs": "SELECT count(*) FROM jobs",
               "alerts": "SELECT count(*) FROM alerts"}
    if db_file is not None:
        connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            by_outcome = dict(connection.execute(queries["audit"]).fetchall())
            rest = {k: connection.execute(q).fetchone()[0]
                    for k, q in queries.items() if k != "audit"}
        finally:
            connection.close()
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.connect() as pg:
            by_outcome = {row[0]: row[1] for row in pg.execute(text(queries["audit"]))}
            rest = {k: pg.execute(text(q)).scalar() for k, q in queries.items() if k != "audit"}
        engine.dispose()
    return {"audit_by_outcome": by_outcome, "audit_total": sum(by_outcome.values()), **rest}


# --------------------------------------------------------------------------- report

def phases(timeline: list[tuple[float, float, int]], parts: int = 5) -> list[dict[str, Any]]:
    """Throughput and median latency per fifth of the storm: a flat profile means the
    cost per delivery does not grow with what is already stored."""
    ordered = sorted(timeline)
    out, start = [], 0.0
    for index in range(parts):
        chunk = ordered[len(ordered) * index // parts: len(ordered) * (index + 1) // parts]
        if not chunk:
            continue
        end = chunk[-1][0]
        alerts = sum(c[2] for c in chunk)
        out.append({"until_s": end, "alerts_per_s": alerts / max(end - start, 1e-9),
                    "p50_s": pct([c[1] for c in chunk], .5)})
        start = end
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


TARGETS = {"alerts_per_s": 10_000, "p99_ms": 50, "rss_mb": 120, "startup_s": 1.0}


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "FAIL")


def report(summary: dict[str, Any]) -> str:
    c, s = summary["client"], summary.get("server", {})
    rows: list[tuple[str, str, str]] = []

    def row(label: str, value: str, check: str = "") -> None:
        rows.append((label, value, check))

    cfg = summary["config"]
    code = summary.get("code", {})
    row("code measured", f"{code.get('commit') or '?'}"
        + (f" + uncommitted diff {code['diff_sha256']}" if code.get("dirty") else ""))
    row("deliveries (timed)", f"{c['deliveries']} x {cfg['batch_size']} alerts, "
        f"{cfg['concurrency']} senders")
    row("wall time", f"{c['wall_s']:.2f} s (load average before: "
        f"{summary['host']['loadavg_before'][0]:.2f} on {summary['host']['cpus']} CPUs)")
    row("alerts decided/s", f"{c['alerts_per_s']:,.0f}",
        f"{verdict(c['alerts_per_s'] >= TARGETS['alerts_per_s'])} (>= 10,000)")
    row("deliveries/s", f"{c['deliveries_per_s']:,.1f}")
    row("decisions returned", f"{c['decisions']:,}")
    lat = c["latency"]
    row("latency p50 / p95", f"{ms(lat['p50_s'])} / {ms(lat['p95_s'])}")
    row("latency p99 / max", f"{ms(lat['p99_s'])} / {ms(lat['max_s'])}",
        f"{verdict(lat['p99_s'] is not None and lat['p99_s'] * 1000 < TARGETS['p99_ms'])}"
        " (p99 < 50 ms)")
    row("non-200 responses", ", ".join(f"{k}: {v}" for k, v in c["non_200"].items()) or "none",
        verdict(not c["non_200"]))
    if c.get("phases"):
        row("alerts/s by fifth of run", " > ".join(f"{p['alerts_per_s']:,.0f}"
                                                    for p in c["phases"]))
        row("p50 by fifth of run", " > ".join(ms(p["p50_s"]) for p in c["phases"]))
    row("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(c["outcomes"].items(),
                                                           key=lambda kv: -kv[1])))
    if "startup_s" in s:
        row("start-up (spawn -> ready)", f"{s['startup_s'] * 1000:.0f} ms",
            f"{verdict(s['startup_s'] < TARGETS['startup_s'])} (< 1 s)")
        row("RSS after start-up", f"{s['rss_ready_kb'] / 1024:.1f} MB")
        row("peak RSS (VmHWM)", f"{s['peak_rss_kb'] / 1024:.1f} MB",
            f"{verdict(s['peak_rss_kb'] / 1024 < TARGETS['rss_mb'])} (< 120 MB)")
        row("server CPU during storm", f"{s['cpu_s']:.2f} s = {s['cpu_util']:.0%} of one core")
    row("client CPU during storm", f"{c['cpu_s']:.2f} s = {c['cpu_util']:.0%} of one core")
    h = summary.get("server_histogram")
    if h:
        row("server histogram count", f"{h['count']:.0f} (client sent "
            f"{summary['client_total_deliveries']})",
            verdict(h["count"] == summary["client_total_deliveries"]))
        row("server p50/p95/p99 (est.)",
            f"{ms(h['p50_s'])} / {ms(h['p95_s'])} / {ms(h['p99_s'])}, mean {ms(h['mean_s'])}")
    a = summary.get("audit")
    if a:
        row("audit rows / expected", f"{a['audit_total']:,} / {a['expected']:,}",
            verdict(a["audit_total"] == a["expected"]))
        row("remediations / jobs rows", f"{a['remediations']:,} / {a['jobs']:,}")
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"{'figure':<{width}}  {'value':<{vwidth}}  target", "-" * (width + vwidth + 24)]
    lines += [f"{a_:<{width}}  {b:<{vwidth}}  {c_}".rstrip() for a_, b, c_ in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def code_version() -> dict[str, Any]:
    """Which code was measured: commit, and a digest of uncommitted changes to the package."""
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    diff = git("diff", "HEAD", "--", "remediator", "pyproject.toml")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(diff),
            "diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else None}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batches", type=int, default=400, help="timed deliveries at most")
    p.add_argument("--batch-size", "-n", type=int, default=50, help="alerts per delivery")
    p.add_argument("--concurrency", "-c", type=int, default=4, help="concurrent senders")
    p.add_argument("--max-seconds", type=float, default=60, help="stop sending after this")
    p.add_argument("--duplicates", type=float, default=0.10,
                   help="share of alerts that are identical re-sends of earlier ones")
    p.add_argument("--resolved", type=float, default=0.03,
                   help="share of alerts that resolve an earlier one")
    p.add_argument("--warmup", type=int, default=5,
                   help="deliveries sent one by one before the timed storm (not timed)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--timeout", type=float, default=30, help="per-request timeout, seconds")
    p.add_argument("--url", help="target a running service (no start-up, RSS or audit check)")
    p.add_argument("--token", default=os.environ.get("REMEDIATOR_WEBHOOK_TOKEN"),
                   help="bearer token for --url")
    p.add_argument("--database-url", help="store for the spawned service (default: a fresh "
                   "temporary SQLite file); e.g. postgresql+psycopg://... (the audit check "
                   "counts the rows the run adds)")
    p.add_argument("--rules", type=Path, default=REPO / "rules", help="rule files/directories")
    p.add_argument("--kubernetes", default="off", choices=["off", "auto", "on"],
                   help="REMEDIATOR_KUBERNETES for the spawned service")
    p.add_argument("--log-level", default="INFO", help="REMEDIATOR_LOG_LEVEL of the service")
    p.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the spawned service (repeatable)")
    p.add_argument("--startup-timeout", type=float, default=30)
    p.add_argument("--py-spy", metavar="OUT",
                   help="profile the service with py-spy during the storm; OUT.txt gets "
                        "collapsed stacks (summarise with bench/hotspots.py)")
    p.add_argument("--py-spy-gil", action="store_true",
                   help="sample only the thread holding the GIL (CPU attribution; hides "
                        "lock waits and time in sqlite3 with the GIL released)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (db, service log)")
    p.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if args.url and not args.token:
        p.error("--url needs --token (or REMEDIATOR_WEBHOOK_TOKEN)")
    return args


def start_py_spy(out: str, pid: int, seconds: float,
                 gil: bool = False) -> list[subprocess.Popen[bytes]]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        print("py-spy not found (pip install py-spy); not profiling", file=sys.stderr)
        return []
    # Collapsed stacks ("raw"): one line per distinct stack with its sample count;
    # bench/hotspots.py turns them into a table, flamegraph.pl/inferno into an SVG.
    proc = subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
         "--duration", str(max(1, int(seconds))), "--output", out + ".txt", "--nonblocking",
         *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let it attach
    return [proc]


def finish_py_spy(procs: list[subprocess.Popen[bytes]], out: str) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            continue
        if proc.returncode not in (0, -signal.SIGINT) and err:
            print(err.decode(errors="replace")[-500:], file=sys.stderr)
    if procs and Path(out + ".txt").exists():
        print(f"py-spy stacks: {out}.txt  (summary: python bench/hotspots.py {out}.txt)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    total = args.warmup + args.batches
    build_started = time.perf_counter()
    workload = build_payloads(batches=total, batch_size=args.batch_size,
                              duplicates=args.duplicates, resolved=args.resolved, seed=args.seed)
    print(f"built {total} deliveries ({workload.alerts:,} alerts: "
          f"{dict(workload.kinds)}) in {time.perf_counter() - build_started:.1f} s",
          file=sys.stderr)
    warm, timed = workload.payloads[:args.warmup], workload.payloads[args.warmup:]

    workdir = Path(tempfile.mkdtemp(prefix="remediator-bench-"))
    service: Service | None = None
    summary: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                 "loadavg_before": os.getloadavg()},
        "code": code_version(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if k not in ("token", "json_out")},
        "workload": dict(workload.kinds),
    }
    try:
        if args.url:
            url, token = args.url.rstrip("/"), args.token
        else:
            service = start_service(args, workdir)
            url, token = service.url, service.token
            rss_ready = proc_status(service.pid).get("VmRSS", 0)
            service.sample_rss()
            print(f"service pid {service.pid} ready in {service.startup_s * 1000:.0f} ms "
                  f"at {url}", file=sys.stderr)

        baseline = count_store(service.database_url, service.db_file) if service else None
        warm_results = warm_up(url, token, warm, args.batch_size)
        before = scrape(url, token)
        profilers = start_py_spy(args.py_spy, service.pid, args.max_seconds + 5,
                                  args.py_spy_gil) \
            if args.py_spy and service else []
        cpu0_server = proc_cpu_seconds(service.pid) if service else 0.0
        cpu0_client = resource.getrusage(resource.RUSAGE_SELF)
        results = asyncio.run(storm(url, token, timed, args.batch_size,
                                    concurrency=args.concurrency,
                                    max_seconds=args.max_seconds,
                                    request_timeout=args.timeout))
        cpu1_client = resource.getrusage(resource.RUSAGE_SELF)
        cpu_server = (proc_cpu_seconds(service.pid) - cpu0_server) if service else 0.0
        if args.py_spy:
            finish_py_spy(profilers, args.py_spy)
        after = scrape(url, token)

        wall = results.wall_s or 1e-9
        client_cpu = (cpu1_client.ru_utime + cpu1_client.ru_stime
                      - cpu0_client.ru_utime - cpu0_client.ru_stime)
        lat = results.latencies
        summary["client"] = {
            "deliveries": results.sent, "wall_s": wall,
            "alerts_ok": results.alerts_ok, "alerts_per_s": results.alerts_ok / wall,
            "deliveries_per_s": results.statuses.get("200", 0) / wall,
            "decisions": results.decisions, "decisions_per_s": results.decisions / wall,
            "latency": {"p50_s": pct(lat, .50), "p95_s": pct(lat, .95), "p99_s": pct(lat, .99),
                        "max_s": max(lat, default=None), "min_s": min(lat, default=None),
                        "mean_s": sum(lat) / len(lat) if lat else None},
            "non_200": {k: v for k, v in results.statuses.items() if k != "200"},
            "received_mismatch": results.received_mismatch,
            "outcomes": dict(results.outcomes),
            "phases": phases(results.timeline),
            "cpu_s": client_cpu, "cpu_util": client_cpu / wall,
            "warmup": {"deliveries": len(warm), "first_latency_s":
                       warm_results.all_latencies[0] if warm_results.all_latencies else None,
                       "statuses": dict(warm_results.statuses)},
        }
        summary["client_total_deliveries"] = results.sent
        summary["server_histogram"] = histogram(before, after,
                                                "remediator_webhook_duration_seconds")
        summary["server_deliveries_by_code"] = labelled(
            before, after, "remediator_webhook_deliveries_total", "code")
        summary["server_decisions_by_outcome"] = labelled(
            before, after, "remediator_decisions_total", "outcome")

        if service:
            status = proc_status(service.pid)
            summary["server"] = {
                "pid": service.pid, "startup_s": service.startup_s, "rss_ready_kb": rss_ready,
                "peak_rss_kb": max([status.get("VmHWM", 0), *service.rss_samples]),
                "rss_end_kb": status.get("VmRSS", 0),
                "cpu_s": cpu_server, "cpu_util": cpu_server / wall,
            }
            code = service.stop()
            summary["server"]["exit_code"] = code
            store = count_store(service.database_url, service.db_file)
            store["baseline_audit_rows"] = baseline["audit_total"] if baseline else 0
            store["expected"] = (store["baseline_audit_rows"] + results.expected_audit
                                 + warm_results.expected_audit)
            store["decisions_returned"] = results.decisions + warm_results.decisions
            store["ok"] = store["audit_total"] == store["expected"]
            summary["audit"] = store
            if service.db_file is not None:
                summary["audit"]["db_bytes"] = sum(
                    p.stat().st_size for p in workdir.glob("remediator-bench.db*"))
    finally:
        if service:
            service.stop()
            if service.process.returncode not in (0, None, -signal.SIGTERM):
                print(f"service exit code {service.process.returncode}; log tail:\n"
                      f"{service.log_tail()}", file=sys.stderr)
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    summary["host"]["loadavg_after"] = os.getloadavg()
    print(report(summary))
    audit = summary.get("audit")
    if audit and not audit["ok"]:
        print(f"\nAUDIT MISMATCH: audit rows by outcome {audit['audit_by_outcome']}, "
              f"decisions returned by outcome {summary['client']['outcomes']}", file=sys.stderr)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json_out}")
    failed = bool(summary["client"]["non_200"]) or (audit is not None and not audit["ok"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
