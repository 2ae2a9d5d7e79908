"""Real Prometheus and Alertmanager for tests, on free loopback ports in temp dirs.

Context managers, not fixtures: a conftest wraps them in fixtures of the scope
it needs. Fast settings throughout (scrape and evaluation every second, alert
resend delay 1s, group_wait 0s, group_interval 1s); every wait polls with a
deadline.

    with run_exporter() as exporter, \\
            run_webhook_sink(token="t") as sink, \\
            run_alertmanager(webhook_url=sink.url, bearer_token="t") as am, \\
            run_prometheus(rule_files=fast_rules(ALERT_FILES, tmp_path),
                           targets={"test": [exporter.address]},
                           alertmanager_url=am.url) as prom:
        exporter.set("kube_node_status_condition", 0, node="n1", condition="Ready",
                     status="true")
        prom.wait_for_alert("KubeNodeNotReady", labels={"node": "n1"})
        sink.wait_for_alert("KubeNodeNotReady", status="firing")

Binaries: `prometheus` and `prometheus-alertmanager` (Debian) or `alertmanager`
on PATH, or the paths in $PROMETHEUS_BIN / $ALERTMANAGER_BIN.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import yaml

from tests.support.quiet_server import QuietThreadingHTTPServer as ThreadingHTTPServer

T = TypeVar("T")

# alerts/*.yml build runbook_url from this external label; a default keeps it absolute.
DEFAULT_EXTERNAL_LABELS = {"runbook_base_url": "https://runbooks.example.test/remediator"}
DEFAULT_GROUP_BY = ("alertname", "namespace", "pod", "deployment", "horizontalpodautoscaler",
                    "node", "instance")
_PORT_RETRIES = 3
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class StackError(RuntimeError):
    """A server did not start; the message ends with its log."""


# -- small utilities -------------------------------------------------------------------------

def find_binary(env: str, *names: str) -> str | None:
    """The path in $env, else the first of `names` on PATH, else None."""
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def prometheus_binary() -> str | None:
    return find_binary("PROMETHEUS_BIN", "prometheus")


def alertmanager_binary() -> str | None:
    return find_binary("ALERTMANAGER_BIN", "prometheus-alertmanager", "alertmanager")


def free_port() -> int:
    """A loopback port free right now (the server start retries if it is taken meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T | None], *, timeout: float, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; return it, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not met within {timeout:g}s")
        time.sleep(interval)


def query_error(prom_url: str, expr: str) -> str | None:
    """Prometheus' error for `expr` (a parse error, say), or None when it evaluates."""
    response = httpx.post(f"{prom_url}/api/v1/query", data={"query": expr}, timeout=10)
    body = response.json()
    if response.status_code == 200 and body.get("status") == "success":
        return None
    return f"{body.get('errorType', response.status_code)}: {body.get('error', response.text)}"


def query_ok(prom_url: str, expr: str) -> bool:
    """Does the real Prometheus at `prom_url` accept `expr`?"""
    return query_error(prom_url, expr) is None


def fast_rules(rule_files: Sequence[Path], dest: Path, *, for_: str = "1s",
               alerts: Collection[str] | None = None) -> list[Path]:
    """Copies of `rule_files` in `dest` with every alert's `for:` set to `for_`.

    `alerts` keeps only the alerts named (recording rules are always kept).
    """
    dest.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in rule_files:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        for group in document.get("groups", []):
            kept = []
            for rule in group.get("rules", []):
                if "alert" in rule:
                    if alerts is not None and rule["alert"] not in alerts:
                        continue
                    rule["for"] = for_
                kept.append(rule)
            group["rules"] = kept
        copy = dest / source.name
        copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        copies.append(copy)
    return copies


# -- server processes ------------------------------------------------------------------------

def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def _workdir(workdir: Path | None, prefix: str) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    created = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield created
    finally:
        shutil.rmtree(created, ignore_errors=True)


@contextlib.contextmanager
def _serve(argv: Callable[[int], list[str]], log: Path, *, ready_timeout: float,
           name: str) -> Iterator[int]:
    """Run `argv(port)` until it answers /-/ready; yield the port; stop it at exit."""
    for attempt in range(_PORT_RETRIES):
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(argv(port), stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + ready_timeout
            while not _ready(f"http://127.0.0.1:{port}/-/ready"):
                if process.poll() is not None:
                    break
                if time.monotonic() >= deadline:
                    raise StackError(f"{name} not ready within {ready_timeout:g}s; log:\n"
                                     f"{_log_tail(log)}")
                time.sleep(0.1)
            else:
                yield port
                return
        finally:
            _stop(process)
        tail = _log_tail(log)
        if "address already in use" not in tail or attempt == _PORT_RETRIES - 1:
            raise StackError(f"{name} exited with {process.returncode}; log:\n{tail}")
    raise AssertionError("unreachable")


def _get_json(url: str, **params: str) -> Any:
    response = httpx.get(url, params=params, timeout=5)
    response.raise_for_status()
    return response.json()


def _has_labels(item_labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    return all(item_labels.get(k) == v for k, v in (wanted or {}).items())


@dataclass(frozen=True)
class Prometheus:
    url: str
    workdir: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (raises on a bad expression)."""
        body = httpx.post(f"{self.url}/api/v1/query", data={"query": expr}, timeout=10).json()
        if body.get("status") != "success":
            raise ValueError(f"{expr!r}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts (GET /api/v1/alerts)."""
        alerts: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return alerts

    def wait_for_query(self, expr: str, *, timeout: float = 30) -> list[dict[str, Any]]:
        """Wait until `expr` returns a non-empty result; return it."""
        return wait_until(lambda: self.query(expr), timeout=timeout, what=f"query {expr!r}")

    def wait_for_alert(self, alertname: str, *, state: str = "firing",
                       labels: Mapping[str, str] | None = None,
                       timeout: float = 30) -> dict[str, Any]:
        """Wait until an alert with this name, state and labels shows; return it."""
        def found() -> dict[str, Any] | None:
            return next((a for a in self.alerts()
                         if a["labels"].get("alertname") == alertname and a["state"] == state
                         and _has_labels(a["labels"], labels)), None)
        return wait_until(found, timeout=timeout, what=f"{alertname} {state} in Prometheus")

    def reload(self) -> None:
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()


@contextlib.contextmanager
def run_prometheus(*, rule_files: Sequence[Path] = (),
                   targets: Mapping[str, Sequence[str]] | None = None,
                   alertmanager_url: str | None = None,
                   external_labels: Mapping[str, str] | None = None,
                   workdir: Path | None = None, ready_timeout: float = 60,
                   retention: str = "1d",
                   extra_args: Sequence[str] = ()) -> Iterator[Prometheus]:
    """A Prometheus scraping `targets` (job -> ["host:port", ...], honor_labels) every
    second, evaluating `rule_files` every second, alerting to `alertmanager_url`.

    `external_labels` defaults to DEFAULT_EXTERNAL_LABELS; pass {} for none. Blocks
    already in `workdir/data` (see `backfill_openmetrics`) are served too: pass a
    `retention` that keeps them.
    """
    binary = prometheus_binary()
    if binary is None:
        raise StackError("prometheus binary not found (apt-get install prometheus)")
    with _workdir(workdir, "promstack-prometheus-") as work:
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s",
                       "external_labels": dict(DEFAULT_EXTERNAL_LABELS
                                               if external_labels is None
                                               else external_labels)},
            "rule_files": [str(Path(f).resolve()) for f in rule_files],
            "scrape_configs": [
                {"job_name": job, "honor_labels": True,
                 "static_configs": [{"targets": list(addresses)}]}
                for job, addresses in (targets or {}).items()],
        }
        if alertmanager_url is not None:
            parts = urlsplit(alertmanager_url)
            config["alerting"] = {"alertmanagers": [{
                "api_version": "v2", "timeout": "5s", "scheme": parts.scheme or "http",
                "path_prefix": parts.path or "/",
                "static_configs": [{"targets": [parts.netloc]}]}]}
        config_file = work / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

        def argv(port: int) -> list[str]:
            return [binary, f"--config.file={config_file}",
                    f"--storage.tsdb.path={work / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--web.enable-lifecycle",
                    "--rules.alert.resend-delay=1s",
                    f"--storage.tsdb.retention.time={retention}",
                    "--log.level=info", *extra_args]

        with _serve(argv, work / "prometheus.log", ready_timeout=ready_timeout,
                    name="prometheus") as port:
            yield Prometheus(url=f"http://127.0.0.1:{port}", workdir=work)


def backfill_openmetrics(text: str, workdir: Path) -> None:
    """Write OpenMetrics `text` as TSDB blocks into `workdir/data` (promtool), for
    `run_prometheus(workdir=...)` to serve as history."""
    promtool = find_binary("PROMTOOL_BIN", "promtool")
    if promtool is None:
        raise StackError("promtool not found (apt-get install prometheus)")
    source = workdir / "history.om"
    source.write_text(text, encoding="utf-8")
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                           str(workdir / "data")], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"promtool could not backfill: {done.stderr[-2000:]}")


@dataclass(frozen=True)
class Alertmanager:
    url: str
    workdir: Path

    def alerts(self, *, active: bool = True) -> list[dict[str, Any]]:
        """GET /api/v2/alerts."""
        alerts: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/alerts",
                                                 active=str(active).lower())
        return alerts

    def wait_for_alert(self, alertname: str, *, labels: Mapping[str, str] | None = None,
                       timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((a for a in self.alerts()
                         if a["labels"].get("alertname") == alertname
                         and _has_labels(a["labels"], labels)), None)
        return wait_until(found, timeout=timeout, what=f"{alertname} in Alertmanager")


def alertmanager_config(*, webhook_url: str | None, token_file: Path | None,
                        repeat_interval: str = "1h",
                        group_by: Sequence[str] = DEFAULT_GROUP_BY) -> dict[str, Any]:
    """Fast routing to one webhook receiver (no receiver config: alerts go nowhere)."""
    receiver: dict[str, Any] = {"name": "webhook"}
    if webhook_url is not None:
        webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True, "max_alerts": 0}
        if token_file is not None:
            webhook["http_config"] = {"authorization": {
                "type": "Bearer", "credentials_file": str(token_file)}}
        receiver["webhook_configs"] = [webhook]
    return {
        "route": {"receiver": "webhook", "group_by": list(group_by), "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": repeat_interval},
        "receivers": [receiver],
    }


@contextlib.contextmanager
def run_alertmanager(*, webhook_url: str | None = None, bearer_token: str | None = None,
                     repeat_interval: str = "1h", group_by: Sequence[str] = DEFAULT_GROUP_BY,
                     workdir: Path | None = None, config: Mapping[str, Any] | None = None,
                     ready_timeout: float = 30) -> Iterator[Alertmanager]:
    """An Alertmanager (clustering off) posting to `webhook_url` with `bearer_token`.

    `config`: a whole configuration instead (several receivers and routes).
    """
    binary = alertmanager_binary()
    if binary is None:
        raise StackError("alertmanager binary not found "
                         "(apt-get install prometheus-alertmanager)")
    with _workdir(workdir, "promstack-alertmanager-") as work:
        token_file = None
        if bearer_token is not None:
            token_file = work / "webhook-token"
            token_file.write_text(bearer_token + "\n", encoding="utf-8")
            token_file.chmod(0o600)
        if config is None:
            config = alertmanager_config(webhook_url=webhook_url, token_file=token_file,
                                         repeat_interval=repeat_interval, group_by=group_by)
        config_file = work / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")

        def argv(port: int) -> list[str]:
            return [binary, f"--config.file={config_file}", f"--storage.path={work / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                    "--log.level=info"]

        with _serve(argv, work / "alertmanager.log", ready_timeout=ready_timeout,
                    name="alertmanager") as port:
            yield Alertmanager(url=f"http://127.0.0.1:{port}", workdir=work)


# -- in-process HTTP servers -----------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


@contextlib.contextmanager
def _http_server(handler: type[BaseHTTPRequestHandler], owner: Any) -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), handler)
    server.owner = owner
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"promstack-{type(owner).__name__}", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def _key(name: str, labels: Mapping[str, str]) -> SeriesKey:
    if not _METRIC_NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r}")
    bad = [label for label in labels if not _LABEL_NAME.fullmatch(label)]
    if bad:
        raise ValueError(f"invalid label names {bad}")
    return name, tuple(sorted((k, str(v)) for k, v in labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class TestExporter:
    """Serves /metrics with series a test sets, changes and removes at will."""

    __test__ = False  # not a pytest test class

    address: str = ""
    _series: dict[SeriesKey, float] = field(default_factory=dict)
    _status: int = 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    def set(self, name: str, value: float, /, **labels: str) -> None:
        with self._lock:
            self._series[_key(name, labels)] = float(value)

    def inc(self, name: str, amount: float = 1.0, /, **labels: str) -> None:
        key = _key(name, labels)
        with self._lock:
            self._series[key] = self._series.get(key, 0.0) + amount

    def remove(self, name: str, /, **labels: str) -> None:
        """Drop one series (Prometheus marks it stale at the next scrape)."""
        with self._lock:
            self._series.pop(_key(name, labels), None)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()

    def set_status(self, status: int) -> None:
        """Answer /metrics with this HTTP status: 503 makes the target `up == 0`."""
        with self._lock:
            self._status = status

    def exposition(self) -> str:
        """The Prometheus text format (0.0.4) of the current series."""
        with self._lock:
            series = sorted(self._series.items())
        lines, typed = [], set()
        for (name, labels), value in series:
            if name not in typed:
                typed.add(name)
                lines.append(f"# TYPE {name} untyped")
            rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered
                         else f"{name} {_number(value)}")
        return "\n".join(lines) + "\n"


class _ExporterHandler(_QuietHandler):
    def do_GET(self) -> None:
        exporter: TestExporter = self.server.owner  # type: ignore[attr-defined]
        if self.path.split("?")[0] != "/metrics":
            self._send(404, b"not found\n")
            return
        status = exporter._status
        if status != 200:
            self._send(status, b"failing on purpose\n")
            return
        self._send(200, exporter.exposition().encode(), "text/plain; version=0.0.4")


@contextlib.contextmanager
def run_exporter() -> Iterator[TestExporter]:
    """A threaded /metrics server on a free loopback port."""
    exporter = TestExporter()
    with _http_server(_ExporterHandler, exporter) as port:
        exporter.address = f"127.0.0.1:{port}"
        yield exporter


@dataclass(frozen=True)
class Delivery:
    """One POST the sink received."""

    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    received_at: float  # time.monotonic()


@dataclass
class WebhookSink:
    """Records Alertmanager's webhook deliveries; 401 when the bearer token is wrong."""

    token: str | None = None
    url: str = ""
    _deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def alerts(self) -> list[tuple[Delivery, dict[str, Any]]]:
        """Every alert of every delivery, with its delivery."""
        return [(d, alert) for d in self.deliveries for alert in d.body.get("alerts", [])]

    def wait_for_alert(self, alertname: str, *, status: str = "firing",
                       labels: Mapping[str, str] | None = None,
                       timeout: float = 30) -> tuple[Delivery, dict[str, Any]]:
        """Wait for a delivered alert with this name, status and labels; return the first."""
        def found() -> tuple[Delivery, dict[str, Any]] | None:
            return next(((d, a) for d, a in self.alerts()
                         if a["labels"].get("alertname") == alertname
                         and a["status"] == status and _has_labels(a["labels"], labels)), None)
        return wait_until(found, timeout=timeout, interval=0.05,
                          what=f"{alertname} {status} delivered to the webhook")

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)


class _SinkHandler(_QuietHandler):
    def do_POST(self) -> None:
        sink: WebhookSink = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if sink.token is not None and self.headers.get("Authorization") != f"Bearer {sink.token}":
            self._send(401, b'{"detail": "invalid bearer token"}', "application/json")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._send(400, b'{"detail": "not JSON"}', "application/json")
            return
        sink._record(Delivery(path=self.path, headers=dict(self.headers.items()),
                              body=payload, received_at=time.monotonic()))
        self._send(200, b'{"received": true}', "application/json")


@contextlib.contextmanager
def run_webhook_sink(*, token: str | None = None,
                     path: str = "/webhook/alertmanager") -> Iterator[WebhookSink]:
    """A webhook receiver recording deliveries, for testing Alertmanager configuration."""
    sink = WebhookSink(token=token)
    with _http_server(_SinkHandler, sink) as port:
        sink.url = f"http://127.0.0.1:{port}{path}"
        yield sink
