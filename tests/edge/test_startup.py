"""`remediator serve` start-up: one clear line for each way it cannot start, and a summary."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from remediator.app.metrics import Metrics
from remediator.app.services import startup_summary
from remediator.app.settings import load_settings
from remediator.rules.book import RuleBook
from remediator.store import Database
from tests.edge.serving import RULES, environment, run_once, running
from tests.support.payloads import crashloop, payload
from tests.support.promstack import free_port

pytestmark = pytest.mark.slow


def _log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("rules", [
    pytest.param("broken", id="invalid-rules"),
    pytest.param("missing", id="missing-rules"),
])
def test_bad_rules_are_one_line_and_the_database_is_never_touched(
        tmp_path: Path, rules: str) -> None:
    path = tmp_path / "rules.yml"
    if rules == "broken":
        path.write_text("rules:\n  - name: x\n    matchers: []\n    action: {type: nope}\n")
    database = tmp_path / "r.db"
    result = run_once("--dev", "--rules", str(path), "--database-url", f"sqlite:///{database}",
                      "--listen", f"127.0.0.1:{free_port()}", "--kubernetes", "off")
    assert result.returncode == 2
    [line] = _log_lines(result.stderr)
    assert "Traceback" not in result.stderr
    message = json.loads(line)["msg"]
    assert message.startswith("refusing to start: invalid rules: ")
    assert str(path) in message
    assert not database.exists()


def test_an_unknown_database_scheme_is_one_line(tmp_path: Path) -> None:
    result = run_once("--dev", "--rules", str(RULES), "--database-url", "mysql://u:p@db/x")
    assert result.returncode == 2
    assert _log_lines(result.stderr) == [
        "refusing to start: database_url: unsupported database scheme 'mysql': use "
        "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"]


def test_a_port_in_use_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = tmp_path / "r.db"
        result = run_once("--dev", "--rules", str(RULES), "--listen", f"127.0.0.1:{port}",
                          "--database-url", f"sqlite:///{database}", "--kubernetes", "off")
    assert result.returncode == 1
    assert "Application startup complete" not in result.stderr
    [line] = _log_lines(result.stderr)
    assert json.loads(line)["msg"] == (f"refusing to start: cannot listen on 127.0.0.1:{port}: "
                                       "Address already in use")
    assert not database.exists()


def test_start_says_what_it_loaded_and_logs_each_acting_decision(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        summary = server.wait_for("loaded ")
        rule_files = [p for p in RULES.glob("*.yml") if not p.name.endswith(".test.yml")]
        assert f"rules from {len(rule_files)} file(s)" in summary
        assert "digest " in summary
        assert f"database sqlite:///{tmp_path / 'r.db'}" in summary
        assert "kubernetes none" in summary
        assert "ansible inventory none" in summary
        assert "dry-run off" in summary
        response = httpx.post(f"{server.url}/webhook/alertmanager", json=payload(crashloop()),
                              timeout=10)
        assert response.status_code == 200
        remediation_id = response.json()["decisions"][0]["remediation_id"]
        server.wait_for(remediation_id)
    records = server.records()
    messages = [r["msg"] for r in records]
    assert messages.index(next(m for m in messages if str(m).startswith("loaded "))) < \
        messages.index("Application startup complete.")
    [decision] = [r for r in records if r.get("remediation_id") == remediation_id
                  and str(r["msg"]).startswith("dry_run")]
    assert decision["level"] == "info"
    assert decision["fingerprint"] == crashloop()["fingerprint"]
    assert "pod/apps-a/web-1" in str(decision["msg"])


def test_the_summary_never_shows_the_database_password(tmp_path: Path) -> None:
    settings = load_settings(rules=[str(RULES)], dev=True,
                             database_url="postgresql://remediator:hunter2@db:5432/r")
    database = Database(settings.database_url)
    summary = startup_summary(settings, RuleBook(settings.rules, metrics=Metrics.create().rules),
                              database, "https://k8s.example:6443")
    assert "hunter2" not in summary
    assert "postgresql+psycopg://remediator:***@db:5432/r" in summary
    assert "kubernetes https://k8s.example:6443" in summary


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param("postgresql://u@db/r", "postgresql+psycopg://u@db/r", id="postgresql"),
    pytest.param("postgres://u@db/r", "postgresql+psycopg://u@db/r", id="postgres"),
    pytest.param("sqlite:///x.db", "sqlite:///x.db", id="sqlite"),
])
def test_postgresql_urls_use_the_driver_we_ship(url: str, expected: str) -> None:
    assert load_settings(database_url=url).database_url == expected


@pytest.mark.parametrize("url", ["mysql://u@db/x", "remediator.db", "oracle+cx://db"])
def test_other_database_urls_are_refused_by_the_settings(url: str) -> None:
    with pytest.raises(ValueError, match="database"):
        load_settings(database_url=url)


def _kubeconfig(path: Path, cluster: dict[str, str], current: str | None = "c") -> Path:
    config: dict[str, object] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "k", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}
    if current is not None:
        config["current-context"] = current
    path.write_text(json.dumps(config))
    return path


def test_a_broken_kubeconfig_is_one_line_before_anything_is_served(tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {"server": "https://k8s.example:6443"},
                             current=None)
    result = run_once("--dev", "--rules", str(RULES), "--listen", f"127.0.0.1:{free_port()}",
                      "--database-url", f"sqlite:///{tmp_path / 'r.db'}", "--kubernetes", "auto",
                      KUBECONFIG=str(kubeconfig))
    assert result.returncode == 1
    assert "Application startup complete" not in result.stderr
    [line] = [json.loads(line)["msg"] for line in _log_lines(result.stderr)
              if json.loads(line)["level"] == "error"]
    assert line == (f"refusing to start: cannot load Kubernetes configuration from {kubeconfig}: "
                    "no current-context is set")
    assert not (tmp_path / "r.db").exists()  # refused before anything was written
    assert not (tmp_path / "r.db.audit-key").exists()


def test_a_kubeconfig_the_client_refuses_later_stops_the_service(tmp_path: Path) -> None:
    """Only the client can tell (here: certificate data that is not base64): the service
    stops with the same one line, before its worker claimed anything."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {
        "server": "https://k8s.example:6443", "certificate-authority-data": "not base64!"})
    result = run_once("--dev", "--rules", str(RULES), "--listen", f"127.0.0.1:{free_port()}",
                      "--database-url", f"sqlite:///{tmp_path / 'r.db'}", "--kubernetes", "on",
                      KUBECONFIG=str(kubeconfig))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [json.loads(line)["msg"] for line in _log_lines(result.stderr)
              if json.loads(line)["level"] == "error"]
    assert line.startswith(f"refusing to start: cannot load Kubernetes configuration from "
                           f"{kubeconfig}: Error: Invalid base64-encoded string")


STARTUP_HARNESS = """
import json, sys
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.web.app import create_app
import remediator.web.server

settings = load_settings(rules=[sys.argv[1]], dev=True, kubernetes="on",
                         database_url=f"sqlite:///{sys.argv[2]}")
services = Services.build(settings)
create_app(settings, services=services)
print(json.dumps({"kubernetes": sorted(services.kubernetes.types),
                  "modules": sorted(sys.modules)}))
"""


def test_start_up_leaves_the_heavy_imports_for_later(tmp_path: Path) -> None:
    """Up to serving, on a new database with a kubeconfig: no Kubernetes client, no
    Alembic, no HTTP client or terminal library (each costs a share of the 1 s budget)."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {"server": "http://127.0.0.1:1"})
    done = subprocess.run([sys.executable, "-c", STARTUP_HARNESS, str(RULES),
                           str(tmp_path / "r.db")], capture_output=True, text=True, timeout=60,
                          env=environment(KUBECONFIG=str(kubeconfig)), cwd=tmp_path, check=True)
    started = json.loads(done.stdout.strip().splitlines()[-1])
    assert "kubernetes.delete_pod" in started["kubernetes"]
    loaded = {name.split(".")[0] for name in started["modules"]}
    assert not loaded & {"kubernetes", "alembic", "mako", "httpx", "rich", "typer"}
    assert "sqlalchemy.dialects.postgresql" not in started["modules"]


def test_what_start_up_built_is_kept_out_of_full_garbage_collections(tmp_path: Path) -> None:
    """A full collection walks every tracked object (143 ms in a storm, issue 11)."""
    with running(tmp_path, REMEDIATOR_LOG_LEVEL="debug") as server:
        line = server.wait_for("objects kept out of full garbage collections")
    message = str(json.loads(line)["msg"])
    assert message.startswith("start-up: ")
    assert int(message.split()[1]) > 10_000
