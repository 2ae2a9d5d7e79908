"""`remediator serve` the first time: where it listens, and one line for each setting it
cannot use (issue 23)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.edge.serving import ROOT, RULES, environment, run_once, running
from tests.support.payloads import crashloop, payload
from tests.support.promstack import free_port

pytestmark = pytest.mark.slow

LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+)): webhook "
                       r"(http://\S+/webhook/alertmanager), console (http://\S+/)$")


def _messages(server_lines: list[str]) -> list[str]:
    return [str(json.loads(line)["msg"]) for line in server_lines if line.startswith("{")]


def test_serve_says_where_it_listens_with_the_port_it_was_given(tmp_path: Path) -> None:
    """Port 0: the line names the port the system chose, and the URLs in it work."""
    with running(tmp_path, "--listen", "127.0.0.1:0") as server:
        line = server.wait_for("listening on ")
        [found] = [LISTENING.match(m) for m in _messages([line])]
        assert found is not None, line
        base, port, webhook, console = found.groups()
        assert int(port) != 0
        assert webhook == f"{base}/webhook/alertmanager"
        assert console == f"{base}/"
        response = httpx.post(webhook, json=payload(crashloop()), timeout=10)
        assert response.status_code == 200
    messages = _messages(server.lines)
    assert messages.index("Application startup complete.") < messages.index(found.group(0))


def test_what_serve_writes_beside_its_database_is_ignored_by_git(tmp_path: Path) -> None:
    """scripts/run serves on remediator.db in the checkout: nothing it writes there may
    show up in `git status` (the audit key least of all)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    with running(tmp_path, database_url=f"sqlite:///{tmp_path / 'remediator.db'}"):
        pass
    written = sorted(path.name for path in tmp_path.iterdir())
    assert "remediator.db.audit-key" in written
    names = [*written, "remediator.db.audit-head", "remediator.db-wal", "remediator.db-shm"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=ROOT,
                             capture_output=True, text=True, check=False).stdout.split()
    assert sorted(ignored) == sorted(names)


def test_serve_help_shows_each_default() -> None:
    done = subprocess.run([sys.executable, "-m", "remediator", "serve", "--help"],
                          capture_output=True, text=True, env=environment(), cwd=ROOT,
                          timeout=60, check=True)
    text = " ".join(done.stdout.split())
    assert "--listen TEXT host:port to listen on [default: 127.0.0.1:9095; env " \
           "REMEDIATOR_LISTEN]" in text
    assert "[default: sqlite:///remediator.db; env REMEDIATOR_DATABASE_URL]" in text
    assert "[default: 10m; env REMEDIATOR_GLOBAL_RATE_PER]" in text
    assert "[default: off; env REMEDIATOR_DRY_RUN]" in text
    assert "[env REMEDIATOR_WEBHOOK_TOKEN]" in text  # no default to show


@pytest.mark.parametrize(("flags", "expected"), [
    pytest.param(["--workers", "many"], "workers: Input should be a valid integer",
                 id="not-a-number"),
    pytest.param(["--listen", "9095"], "listen: listen must be host:port", id="listen"),
    pytest.param(["--global-rate-per", "10 minutes"], "global_rate_per: invalid duration",
                 id="duration"),
    pytest.param(["--config", "{tmp}/absent.yml"], "config file {tmp}/absent.yml does not exist",
                 id="no-config-file"),
    pytest.param(["--config", "{tmp}/broken.yml"], "config file {tmp}/broken.yml: ",
                 id="config-not-yaml"),
    pytest.param(["--config", "{tmp}/list.yml"],
                 "config file {tmp}/list.yml: must be a mapping of setting names to values",
                 id="config-not-a-mapping"),
    pytest.param(["--config", "{tmp}/extra.yml"], "colour: Extra inputs are not permitted",
                 id="unknown-setting"),
    pytest.param(["--database-url-file", "{tmp}/absent"],
                 "cannot read database_url_file {tmp}/absent: No such file or directory",
                 id="database-url-file"),
])
def test_an_invalid_setting_is_one_line_naming_it(tmp_path: Path, flags: list[str],
                                                  expected: str) -> None:
    """Before logging is set up (its format is a setting): a plain line, exit status 2."""
    (tmp_path / "broken.yml").write_text("rules: [\n")
    (tmp_path / "list.yml").write_text("- dev\n")
    (tmp_path / "extra.yml").write_text("colour: blue\n")
    argv = [flag.format(tmp=tmp_path) for flag in flags]
    result = run_once("--dev", "--rules", str(RULES), "--kubernetes", "off",
                      "--database-url", f"sqlite:///{tmp_path / 'r.db'}", *argv)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("refusing to start: " + expected.format(tmp=tmp_path)), line
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("setting", ["webhook-token-file", "api-token-file", "session-key-file"])
def test_an_unreadable_secret_file_is_refused_before_anything_is_written(
        tmp_path: Path, setting: str) -> None:
    """Not at the first webhook or sign-in that reads it."""
    absent = tmp_path / "absent"
    result = run_once("--dev", "--rules", str(RULES), "--kubernetes", "off",
                      "--listen", f"127.0.0.1:{free_port()}",
                      "--database-url", f"sqlite:///{tmp_path / 'r.db'}", f"--{setting}",
                      str(absent))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = [json.loads(line)["msg"] for line in result.stderr.splitlines()]
    assert line == (f"refusing to start: {setting.replace('-', '_')}: cannot read {absent}: "
                    "No such file or directory")
    assert not (tmp_path / "r.db").exists()
    assert not (tmp_path / "r.db.audit-key").exists()


def test_kubernetes_on_with_a_kubeconfig_that_does_not_exist_names_it(tmp_path: Path) -> None:
    absent = tmp_path / "kube" / "config"
    result = run_once("--dev", "--rules", str(RULES), "--kubernetes", "on",
                      "--listen", f"127.0.0.1:{free_port()}",
                      "--database-url", f"sqlite:///{tmp_path / 'r.db'}", KUBECONFIG=str(absent))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [json.loads(line)["msg"] for line in result.stderr.splitlines()
              if json.loads(line)["level"] == "error"]
    assert line == (f"refusing to start: KUBECONFIG names {absent}, which does not exist "
                    "(--kubernetes on requires a cluster)")
    assert not (tmp_path / "r.db").exists()
    assert not (tmp_path / "r.db.audit-key").exists()


def test_kubernetes_auto_with_a_kubeconfig_that_does_not_exist_warns_naming_it(
        tmp_path: Path) -> None:
    """As with kubectl, auto runs without a cluster (every action a dry-run), and says why."""
    absent = tmp_path / "kube" / "config"
    with running(tmp_path, "--kubernetes", "auto", KUBECONFIG=str(absent)) as server:
        line = server.wait_for("no Kubernetes connection")
    record = json.loads(line)
    assert record["level"] == "warning"
    assert record["msg"] == (f"no Kubernetes connection (KUBECONFIG names {absent}, which does "
                             "not exist): Kubernetes actions run as dry-runs (decided and "
                             "audited, not executed)")
