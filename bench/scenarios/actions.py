"""`actions`: N delete_pod actions queued, drained by the worker against kmock.

kmock's KubernetesEmulator runs in its own process (bench/kube_emulator.py)
seeded with N + 1 pods; the service reaches it through the official client via
a kubeconfig (`KUBECONFIG`, `REMEDIATOR_KUBERNETES=on`), exactly as it would a
cluster. One untimed warm-up action runs to its end first
(`warmup_action_s`). One rule turns each alert into one
`kubernetes.delete_pod`; the global rate limit and the breaker are raised out
of the way (`--service-env` can override), the workers and poll interval stay
at their defaults.

Drain rate = N / (last action result - first webhook answer). Errors: an
action that did not succeed, fewer pods deleted in the emulator than actions
reported, or not all done within `--actions-timeout`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench.kube_emulator import pod_name
from bench.load import Target, audit_check, drive
from bench.loadgen import delivery, fingerprint
from bench.rulegen import GUARDS_LIFTED, write_actions_rule
from bench.scenarios import Run
from bench.scenarios.storm import merge
from bench.service import BenchError, proc_cpu_s, spawn

NAMESPACE = "apps-bench"
ALERTNAME = "BenchPodCrashLooping"
RESULTS = ("succeeded", "failed", "target_gone")
WARMUP_ACTIONS = 1
"""Untimed, like the storm's warm-up deliveries: a storm meets a service that has run
for a while, not one still loading its Kubernetes client (~0.5 s after `/-/ready`,
reported as `warmup_action_s`)."""
TOKEN = "bench-kube-token"  # the emulator's; checks nothing, stays off every log


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    pods = opts.actions + WARMUP_ACTIONS
    with emulator(workdir, pods) as (port, seen):
        emulator_cpu0 = proc_cpu_s(seen["pid"])
        drain(opts, workdir, write_kubeconfig(workdir / "kubeconfig", port), result)
        emulator_cpu = proc_cpu_s(seen["pid"]) - emulator_cpu0
    result.figures["emulator_cpu_per_action_ms"] = 1000 * emulator_cpu / max(opts.actions, 1)
    result.detail["emulator"] = seen
    if seen.get("deleted") != pods:
        result.errors.append(f"emulator deleted {seen.get('deleted')} of {pods} pods")
    return result


@contextlib.contextmanager
def emulator(workdir: Path, pods: int, *, stall: bool = False) -> Iterator[tuple[int,
                                                                                  dict[str, int]]]:
    """kmock's emulator in a child process: yields its port, and a dict that holds
    its pid at once and its final counts (`deleted`, `requests`) once the block exits."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir / "emulator.json"
    final: dict[str, int] = {}
    with (workdir / "emulator.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bench.kube_emulator", "--pods",
                                    str(pods), "--namespace", NAMESPACE, "--state-file",
                                    str(state), *(["--stall"] if stall else [])],
                                   stdout=subprocess.DEVNULL, stderr=log)
        final["pid"] = process.pid
        try:
            yield wait_port(state, process), final
        finally:
            process.terminate()
            process.wait(timeout=30)
    final.update(json.loads(state.read_text()))


def drain(opts: argparse.Namespace, workdir: Path, kubeconfig: Path, result: Run) -> None:
    db_file = workdir / "bench.db"
    database_url = f"sqlite:///{db_file}"
    service = spawn(workdir=workdir, database_url=database_url, kubernetes="on",
                    rules=write_actions_rule(workdir / "rules", ALERTNAME, NAMESPACE),
                    env={"KUBECONFIG": str(kubeconfig), **GUARDS_LIFTED, **opts.env},
                    startup_timeout=opts.startup_timeout)
    result.figures["startup_s"] = service.startup_s
    target = Target(service.url, service.token)
    try:
        warm_started = time.perf_counter()
        warm = drive([target], deliveries(WARMUP_ACTIONS, first=opts.actions), concurrency=1,
                     max_seconds=opts.max_seconds)
        _, warm_done, warm_counts = watch(db_file, WARMUP_ACTIONS, opts.actions_timeout)
        result.errors += warm.errors()
        if warm_done is None or warm_counts != {"succeeded": WARMUP_ACTIONS}:
            result.errors.append(f"the warm-up action did not succeed in time: {warm_counts}")
        result.figures["warmup_action_s"] = (warm_done or time.perf_counter()) - warm_started
        started = time.perf_counter()
        cpu0 = service.cpu_s()
        tally = drive([target], deliveries(opts.actions),
                      concurrency=opts.concurrency, max_seconds=opts.max_seconds)
        enqueued = time.perf_counter()
        result.errors += tally.errors()
        acted = tally.outcomes.get("executed", 0)
        if acted != opts.actions:
            result.errors.append(f"{acted} of {opts.actions} alerts decided `executed` "
                                 f"(outcomes {dict(tally.outcomes)})")
        first, last, counts = watch(db_file, acted + WARMUP_ACTIONS, opts.actions_timeout,
                                    already=WARMUP_ACTIONS)
        cpu = service.cpu_s() - cpu0
    finally:
        service.stop()
    counts = dict(Counter(counts) - Counter(warm_counts))
    store, errors = audit_check(database_url, merge([warm, tally]))
    result.errors += errors
    done = sum(counts.values())
    if done < acted:
        result.errors.append(f"only {done} of {acted} actions finished within "
                             f"--actions-timeout {opts.actions_timeout:g}s")
    if counts.get("succeeded", 0) != done:
        result.errors.append(f"actions did not all succeed: {counts}")
    first_answer = started + tally.latencies[0] if tally.latencies else started
    result.figures |= {"enqueue_s": enqueued - started,
                       "first_action_s": (first or enqueued) - first_answer,
                       "drain_s": (last or enqueued) - first_answer,
                       "actions_per_s": done / max((last or enqueued) - first_answer, 1e-9),
                       # CPU per action: steadier than the rate on a host whose speed drifts;
                       # includes deciding the alerts (~0.3 ms each, see `storm`)
                       "service_cpu_per_action_ms": 1000 * cpu / max(done, 1)}
    result.detail |= {"results": counts, "store": store, "answers": tally.detail()}


def deliveries(count: int, batch: int = 50, *, first: int = 0) -> list[tuple[bytes, int]]:
    """One crash-looping alert per seeded pod from `first` on, 50 to a delivery."""
    alerts = []
    for index in range(first, first + count):
        labels = {"alertname": ALERTNAME, "namespace": NAMESPACE, "pod": pod_name(index),
                  "severity": "warning"}
        alerts.append({"status": "firing", "labels": labels, "annotations": {},
                       "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                       "generatorURL": "", "fingerprint": fingerprint(labels)})
    return [(delivery(NAMESPACE, alerts[i:i + batch]), len(alerts[i:i + batch]))
            for i in range(0, count, batch)]


def watch(db_file: Path, expected: int, timeout: float, *,
          already: int = 0) -> tuple[float | None, float | None, dict[str, int]]:
    """Poll the audit for action results: (first seen beyond `already`, all `expected`
    seen, counts by outcome)."""
    first = last = None
    counts: dict[str, int] = {}
    deadline = time.perf_counter() + timeout
    marks = ",".join("?" * len(RESULTS))
    while time.perf_counter() < deadline:
        connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
        try:
            counts = dict(connection.execute(
                f"SELECT outcome, count(*) FROM audit WHERE outcome IN ({marks}) "
                "GROUP BY outcome", RESULTS).fetchall())
        finally:
            connection.close()
        now = time.perf_counter()
        if sum(counts.values()) > already and first is None:
            first = now
        if sum(counts.values()) >= expected:
            last = now
            break
        time.sleep(0.1)  # polling the store against a deadline
    return first, last, counts


def wait_port(state: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchError(f"kmock emulator exited with {process.returncode}")
        if state.exists():
            return int(json.loads(state.read_text())["port"])
        time.sleep(0.05)  # polling the emulator's start against a deadline
    raise BenchError("kmock emulator did not start")


def write_kubeconfig(path: Path, port: int) -> Path:
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "bench",
              "clusters": [{"name": "kmock", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
              "users": [{"name": "bench", "user": {"token": TOKEN}}],
              "contexts": [{"name": "bench", "context": {"cluster": "kmock", "user": "bench"}}]}
    path.write_text(json.dumps(config))
    return path
