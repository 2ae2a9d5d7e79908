"""The on-call verbs through the running service (`--server`, issue 23), and break-glass.

A real service (uvicorn on a loopback port, `tests.cli.live`) over a SQLite
file; the CLI is driven through typer's runner and, where start-up cost or a
traceback matters, as a process. Both modes read the same file, so their
outputs can be compared line for line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from remediator import __version__
from remediator.cli import app
from tests.cli.conftest import decided
from tests.cli.live import READ_TOKEN, TOKEN, Service, free_port, running
from tests.support.payloads import crashloop

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _fill(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A database with one executed remediation and one awaiting approval."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    decisions = decided(url, [crashloop(pod="web-1"),
                              crashloop(pod="pay-0", namespace="apps-payments",
                                        deployment="pay")])
    return url, {d["outcome"]: d["remediation_id"] for d in decisions}


@pytest.fixture
def filled(tmp_path: Path) -> tuple[str, dict[str, str]]:
    return _fill(tmp_path)


@pytest.fixture
def service(filled: tuple[str, dict[str, str]]) -> Iterator[Service]:
    with running(filled[0]) as live:
        yield live


def cli(*args: str, columns: int = 200, **env: str) -> Result:
    """`remediator ARGS` with only the REMEDIATOR_ variables given here."""
    clean = {name: None for name in os.environ if name.startswith("REMEDIATOR_")}
    return runner.invoke(app, list(args), env={**clean, "COLUMNS": str(columns),
                                               "REMEDIATOR_RULES": str(ROOT / "rules"), **env})


def over(service: Service, token: str = TOKEN) -> dict[str, str]:
    """The environment that points the CLI at `service`."""
    return {"REMEDIATOR_SERVER": service.url, "REMEDIATOR_TOKEN": token}


def one_line(result: Result) -> str:
    """The command's error: exactly one line on stderr, no traceback, exit status 1."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(("service_dry_run", "cli_dry_run"), [
    pytest.param(True, "false", id="service-dry-run"),
    pytest.param(False, "true", id="service-acting"),
])
def test_status_shows_the_services_dry_run_not_the_clis(
        filled: tuple[str, dict[str, str]], service_dry_run: bool, cli_dry_run: str) -> None:
    with running(filled[0], dry_run=service_dry_run) as live:
        env = {**over(live, READ_TOKEN), "REMEDIATOR_DRY_RUN": cli_dry_run}
        found = json.loads(cli("status", "--json", **env).stdout)
        text = cli("status", **env)
    assert found["dry_run"]["global"] is service_dry_run
    assert found["version"] == __version__ and found["rules"]["count"] > 0
    assert text.exit_code == 0 and text.stderr == ""
    lines = dict(line.split(None, 1) for line in text.stdout.splitlines())
    assert lines["dry-run"].startswith("yes" if service_dry_run else "no")
    assert lines["service"] == f"{live.url} (remediator {__version__})"
    assert lines["rules"].startswith(f"{found['rules']['count']} loaded (digest ")
    assert lines["approvals"] == "1 waiting"


def test_status_json_has_the_same_keys_in_both_modes(service: Service) -> None:
    served = json.loads(cli("status", "--json", **over(service)).stdout)
    local = cli("status", "--json", "--database-url", service.database_url)
    glass = json.loads(local.stdout)
    assert served.keys() == glass.keys()
    assert (glass["version"], glass["rules"]) == (None, None)  # the database cannot tell
    assert {k: served[k] for k in ("paused", "breaker_open", "awaiting_approval",
                                   "jobs_queued")} == {
        k: glass[k] for k in ("paused", "breaker_open", "awaiting_approval", "jobs_queued")}


def test_break_glass_is_said_on_stderr(filled: tuple[str, dict[str, str]]) -> None:
    url, _ = filled
    result = cli("status", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"break-glass: reading the database directly (DATABASE_URL={url}); "
                             "the service's live settings are not shown - use --server\n")
    assert "(break-glass)" in result.stdout.splitlines()[0]
    assert "rules         not known (break-glass" in result.stdout
    assert "dry-run       this shell's settings say " in result.stdout


def test_a_database_password_is_masked_in_the_notice() -> None:
    from remediator.cli.remote import masked

    assert (masked("postgresql+psycopg://remediator:hunter2@db:5432/r")
            == "postgresql+psycopg://remediator:***@db:5432/r")
    assert masked("sqlite:///var/lib/r.db") == "sqlite:///var/lib/r.db"


def test_approve_through_the_server_is_audited_by_the_service(
        service: Service, filled: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    waiting = filled[1]["awaiting_approval"]
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args = ("--server", service.url, "--token-file", str(token_file))
    approved = cli("approve", waiting[:8], "--reason", "checked the dashboards", *args)
    assert approved.exit_code == 0, approved.output
    assert approved.stdout.startswith("approved: approved by webhook-token")
    [entry] = json.loads(cli("audit", "--json", "--outcome", "operator", *args).stdout)
    assert (entry["action"], entry["reason"]) == ("approve", "checked the dashboards")
    assert entry["detail"]["actor"] == "webhook-token" and entry["detail"]["via"] == "token"
    assert entry["detail"]["client"] == "127.0.0.1"
    again = cli("approve", waiting, "--reason", "twice", *args)
    line = one_line(again)
    assert line.startswith(f"{service.url}: ") and line.endswith("(409)")
    assert "not awaiting approval" in line


def test_a_read_only_token_reads_but_may_not_act(service: Service) -> None:
    env = over(service, READ_TOKEN)
    assert cli("status", **env).exit_code == 0
    for verb in (["pause", "--reason", "x"], ["resume"], ["breaker", "reset"]):
        line = one_line(cli(*verb, **env))
        assert line == (f"{service.url}: this token may only read (403): acting needs the "
                        "webhook token, not the read-only API token")
    assert json.loads(cli("status", "--json", **env).stdout)["paused"] is False


def test_pause_resume_and_reset_through_the_server(service: Service) -> None:
    env = over(service)
    assert cli("pause", "--reason", "incident 42", **env).stdout == "remediation paused\n"
    status = json.loads(cli("status", "--json", **env).stdout)
    assert status["paused"] is True and "incident 42" in status["paused_reason"]
    assert cli("resume", **env).stdout == "remediation resumed\n"
    assert cli("breaker", "reset", "--reason", "flapping", **env).exit_code == 0
    entries = json.loads(cli("audit", "--json", "--outcome", "operator", **env).stdout)
    assert [(e["action"], e["detail"]["via"]) for e in entries] == [
        ("breaker_reset", "token"), ("resume", "token"), ("pause", "token")]


def test_break_glass_actions_are_recorded_as_such(filled: tuple[str, dict[str, str]]) -> None:
    url, ids = filled
    paused = cli("pause", "--reason", "service down", "--database-url", url)
    assert paused.exit_code == 0, paused.output
    assert paused.stderr.startswith("break-glass: writing the database directly")
    declined = cli("decline", ids["awaiting_approval"], "--reason", "no", "--database-url", url)
    assert declined.exit_code == 0, declined.output
    entries = json.loads(cli("audit", "--json", "--outcome", "operator", "--database-url",
                             url).stdout)
    assert [(e["action"], e["detail"]["via"]) for e in entries] == [
        ("decline", "break-glass"), ("pause", "break-glass")]
    assert all(e["detail"]["actor"].startswith("cli:") for e in entries)


def test_database_url_forces_break_glass_even_with_a_server_set(service: Service) -> None:
    glass = cli("status", "--database-url", service.database_url, **over(service))
    assert glass.exit_code == 0
    assert glass.stderr.startswith("break-glass: ")
    both = cli("status", "--server", service.url, "--database-url", service.database_url)
    assert both.exit_code == 2
    assert both.stderr.startswith("give --server or --database-url, not both")


@pytest.mark.parametrize("args", [
    pytest.param(("show", "{id}"), id="show"),
    pytest.param(("show", "{id}", "--json"), id="show-json"),
    pytest.param(("audit", "--since", "1d"), id="audit"),
    pytest.param(("audit", "--json", "--since", "1d"), id="audit-json"),
    pytest.param(("audit", "--json", "--limit", "2"), id="audit-json-limit"),
])
@pytest.mark.parametrize("columns", [80, 200])
def test_show_and_audit_say_the_same_in_both_modes(
        service: Service, filled: tuple[str, dict[str, str]], args: tuple[str, ...],
        columns: int) -> None:
    argv = [a.format(id=filled[1]["executed"][:8]) for a in args]
    served = cli(*argv, columns=columns, **over(service, READ_TOKEN))
    glass = cli(*argv, "--database-url", service.database_url, columns=columns)
    assert served.exit_code == glass.exit_code == 0, (served.output, glass.output)
    assert served.stdout == glass.stdout
    assert "KubePodCrashLooping" in served.stdout


def test_audit_pages_through_the_api_for_a_large_limit(
        service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediator.cli import audit_http

    monkeypatch.setattr(audit_http, "PAGE", 1)  # two entries: two pages
    served = json.loads(cli("audit", "--json", **over(service)).stdout)
    glass = json.loads(cli("audit", "--json", "--database-url", service.database_url).stdout)
    assert served == glass and len(served) == 2


def test_follow_reads_new_entries_from_the_service(service: Service) -> None:
    from remediator.cli.audit import follow
    from remediator.cli.audit_http import HttpAuditQuery, HttpAuditReads
    from remediator.cli.remote import Client, Remote

    batches: list[list[str]] = []

    def more(_: float) -> None:  # the "sleep" between polls: an operator pauses meanwhile
        if len(batches) == 1:
            cli("pause", "--reason", "follow me", **over(service))

    with Client(Remote(url=service.url, token=READ_TOKEN)) as client:
        follow(HttpAuditReads(client), HttpAuditQuery(limit=100),
               lambda b: batches.append([e["outcome"] for e in b]), sleep=more, polls=2)
    assert batches[0] == ["executed", "awaiting_approval"]
    assert batches[1:] == [["operator"]]


def test_an_unknown_id_is_one_line(service: Service) -> None:
    line = one_line(cli("show", "ffffffff", **over(service)))
    assert line.startswith(f"{service.url}: ") and line.endswith("(404)")
    for odd in ("../../status", ".."):
        line = one_line(cli("approve", odd, "--reason", "x", **over(service)))
        assert line.endswith("(404)")  # the id is one path segment, never a path


@pytest.mark.parametrize(("token", "says"), [
    pytest.param("wrong", "invalid bearer token (401): the token was refused", id="wrong"),
    pytest.param("", "missing bearer token (401): no token given: use --token-file or "
                 "REMEDIATOR_TOKEN", id="none"),
])
def test_a_refused_token_is_one_line(service: Service, token: str, says: str) -> None:
    assert one_line(cli("status", **over(service, token))) == f"{service.url}: {says}"


def test_an_unreachable_server_is_one_line_as_a_process(tmp_path: Path) -> None:
    """As on-call sees it: a process, its stderr, its exit status; no traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    for argv in (["status"], ["audit"], ["pause"]):
        done = _process(argv, tmp_path, REMEDIATOR_SERVER=url)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(f"cannot reach the remediator service at {url}: ")
        assert done.stderr.count("\n") == 1, done.stderr


def test_a_token_file_that_cannot_be_read_is_one_line(service: Service,
                                                      tmp_path: Path) -> None:
    result = cli("status", "--server", service.url, "--token-file", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cannot read the token file {tmp_path / 'nope'}: ")


def test_the_server_must_be_a_url(tmp_path: Path) -> None:
    result = cli("status", "--server", "remediator.example.org")
    assert result.exit_code == 2
    assert "give the service's URL" in result.stderr


def test_tls_is_verified_and_a_ca_file_is_trusted(filled: tuple[str, dict[str, str]],
                                                  tmp_path: Path) -> None:
    from tests.prometheus.conftest import _certificate

    ca_file, cert_file, key_file = _certificate(tmp_path)
    with running(filled[0], tls=(cert_file, key_file)) as live:
        unverified = one_line(cli("status", **over(live)))
        assert unverified.startswith(f"cannot reach the remediator service at {live.url}: ")
        assert "CERTIFICATE_VERIFY_FAILED" in unverified
        trusted = cli("status", "--json", "--ca-file", str(ca_file), **over(live))
        assert trusted.exit_code == 0, trusted.output
        env = {**over(live), "REMEDIATOR_CA_FILE": str(ca_file)}
        assert json.loads(cli("status", "--json", **env).stdout)["awaiting_approval"] == 1


# Start-up cost (issue 11): `audit` over HTTP needs neither the store nor pydantic.
# (Not click: httpx imports it, and rich, for its own command line, ~50 ms.)
NOT_FOR_AUDIT = {"typer", "pydantic", "pydantic_settings", "sqlalchemy", "yaml",
                 "fastapi", "starlette", "uvicorn", "kubernetes"}
HARNESS = """
import json, runpy, sys
sys.argv = ["remediator", *json.loads(sys.argv[1])]
try:
    runpy.run_module("remediator", run_name="__main__")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_audit_over_http_imports_neither_the_store_nor_pydantic(service: Service,
                                                                 tmp_path: Path) -> None:
    env = _environment(REMEDIATOR_SERVER=service.url, REMEDIATOR_TOKEN=READ_TOKEN)
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(["audit", "--json"])],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    *printed, last = done.stdout.strip().splitlines()
    assert len(json.loads(printed[0])) == 2
    modules = set(json.loads(last)["modules"])
    assert "httpx" in modules
    assert not modules & NOT_FOR_AUDIT, modules & NOT_FOR_AUDIT


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _process(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "remediator", *argv], cwd=cwd,
                          env=_environment(**env), capture_output=True, text=True,
                          timeout=60, check=False)



def test_a_ca_file_that_is_no_certificate_is_one_line(service: Service, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    for ca_file in (bad, tmp_path / "missing.pem"):
        result = cli("status", "--ca-file", str(ca_file), **over(service))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"cannot use the CA file {ca_file} (--ca-file): ")
        assert result.stderr.count("\n") == 1


def test_break_glass_audit_with_the_client_variables_set_stays_light(
        filled: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    """REMEDIATOR_SERVER and _TOKEN are the CLI's, not the store's: `audit --database-url`
    still finds the store without pydantic-settings, and `audit verify` stays local."""
    url, _ = filled
    env = _environment(REMEDIATOR_SERVER="http://127.0.0.1:1", REMEDIATOR_TOKEN="t")
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(
        ["audit", "--json", "--database-url", url])], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60, check=True)
    *printed, last = done.stdout.strip().splitlines()
    assert len(json.loads(printed[0])) == 2
    modules = set(json.loads(last)["modules"])
    assert "sqlalchemy" in modules and not modules & {"pydantic", "httpx"}
    verified = cli("audit", "--database-url", url, "verify", REMEDIATOR_SERVER="http://x:1")
    assert verified.exit_code == 0 and verified.stdout.startswith("OK: 2 audit entries")
