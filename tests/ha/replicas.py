"""Two `remediator serve` processes on one real PostgreSQL, as the chart runs them.

Both replicas share what the chart's Secret gives them (the audit key file and
the session key) and reach the same kmock emulator through a kubeconfig, so an
action really happens, at most once, on a cluster both of them can see. The
deliveries are Alertmanager-shaped and go to both replicas, as an Alertmanager
HA pair sends them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.loadgen import delivery, fingerprint
from bench.rulegen import GUARDS_LIFTED
from tests.support.promstack import free_port

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "apps-bench"  # the emulator's pods live here (bench/kube_emulator.py)
ALERTNAME = "HaPodCrashLooping"
TOKEN = "ha-webhook-token"
API_TOKEN = "ha-api-token"


@dataclass(frozen=True)
class Shared:
    """What the chart's one Secret and ConfigMap give every replica."""

    database_url: str
    kubeconfig: Path
    rules: Path
    audit_key_file: Path
    session_key: str

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
        env.pop("KUBERNETES_SERVICE_HOST", None)
        env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                    "KUBECONFIG": str(self.kubeconfig), "REMEDIATOR_KUBERNETES": "on",
                    "REMEDIATOR_DATABASE_URL": self.database_url,
                    "REMEDIATOR_WEBHOOK_TOKEN": TOKEN, "REMEDIATOR_API_TOKEN": API_TOKEN,
                    "REMEDIATOR_AUDIT_KEY_FILE": str(self.audit_key_file),
                    "REMEDIATOR_SESSION_KEY": self.session_key,
                    "REMEDIATOR_RULES": str(self.rules),
                    "REMEDIATOR_JOB_POLL_INTERVAL": "1s",
                    **GUARDS_LIFTED, **extra})
        return env


def write_shared(base: Path, database_url: str, kubeconfig: Path) -> Shared:
    rules = base / "rules"
    rules.mkdir()
    rule = {"name": "ha-delete-pod",
            "matchers": [f'alertname="{ALERTNAME}"', f'namespace="{NAMESPACE}"'],
            "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                       "name": "{{ labels.pod }}"},
            "limits": {"cooldown": "1s"}}
    (rules / "ha.yml").write_text(json.dumps({"rules": [rule]}))
    key = base / "audit.key"
    key.write_bytes(secrets.token_bytes(32).hex().encode())
    key.chmod(0o600)
    return Shared(database_url, kubeconfig, rules, key, secrets.token_urlsafe(32))


@dataclass
class Replica:
    """One `remediator serve` process; its log goes to a file (never a pipe that can fill)."""

    name: str
    shared: Shared
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, *, timeout: float = 60) -> Replica:
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)  # its own emptyDir, as in the chart
        argv = [sys.executable, "-m", "remediator", "serve", "--listen",
                f"127.0.0.1:{self.port}"]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.shared.environment(**self.env), cwd=self.workdir,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited {self.process.returncode}:\n"
                                         + self.log_tail())
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.url + "/-/ready").status_code == 200:
                        return self
                time.sleep(0.05)  # polling readiness against a deadline
        raise AssertionError(f"{self.name} not ready in {timeout:g}s:\n{self.log_tail()}")

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        os.kill(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, leases stay as they were."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def records(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_file.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    found.append(record)
        return found


@contextlib.contextmanager
def replicas(shared: Shared, workdir: Path, count: int = 2, *, prefix: str = "replica",
             **env: str) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        for index in range(count):
            name = f"{prefix}-{index}"
            started.append(Replica(name, shared, workdir / name, dict(env)).start())
        yield started
    finally:
        for replica in started:
            replica.stop()


def pod_alert(index: int, *, starts_at: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    labels = {"alertname": ALERTNAME, "namespace": NAMESPACE, "pod": f"bench-{index:06d}",
              "severity": "warning"}
    return {"status": "firing", "labels": labels, "annotations": {}, "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
            "fingerprint": fingerprint(labels)}


def deliveries(indexes: Sequence[int], batch: int = 10) -> list[bytes]:
    alerts = [pod_alert(i) for i in indexes]
    return [delivery(NAMESPACE, alerts[i:i + batch]) for i in range(0, len(alerts), batch)]


@dataclass
class Answer:
    replica: str
    status: int | None
    seconds: float
    error: str = ""


def post(client: httpx.Client, replica: Replica, body: bytes) -> Answer:
    started = time.monotonic()
    try:
        response = client.post(replica.url + "/webhook/alertmanager", content=body,
                               headers={"Authorization": f"Bearer {TOKEN}",
                                        "Content-Type": "application/json"})
    except httpx.TransportError as error:
        return Answer(replica.name, None, time.monotonic() - started, type(error).__name__)
    return Answer(replica.name, response.status_code, time.monotonic() - started)


class Ledger:
    """Read the shared database directly: what the replicas recorded, whoever recorded it."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url.replace("postgresql+psycopg://", "postgresql://")

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self._url) as connection:
            return list(connection.execute(sql, args).fetchall())  # type: ignore[arg-type]

    def outcomes(self, *names: str) -> dict[str, int]:
        rows = self.rows("SELECT outcome, count(*) FROM audit WHERE outcome = ANY(%s) "
                         "GROUP BY outcome", list(names))
        return {str(outcome): int(count) for outcome, count in rows}

    def wait_results(self, expected: int, *, timeout: float = 120) -> dict[str, int]:
        """Action results recorded, once `expected` of them are (or the deadline passes)."""
        deadline = time.monotonic() + timeout
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            counts = self.outcomes("succeeded", "failed", "target_gone")
            if sum(counts.values()) >= expected:
                return counts
            time.sleep(0.2)  # polling the shared store against a deadline
        return counts
