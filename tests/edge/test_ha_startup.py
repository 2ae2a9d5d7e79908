"""HA is a checked mode: `remediator serve` on PostgreSQL refuses to start without the keys
every replica must share, and two replicas given them write one audit chain.

Run as processes, as the chart runs them: a refusal is one line on stderr and
exit status 2, before the database is touched (the URL in the refusal cases
names a host that does not exist).
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from remediator.cli import app
from tests.edge.serving import RULES, run_once, running
from tests.support.payloads import crashloop, payload
from tests.support.postgres import create_database
from tests.support.promstack import free_port

pytestmark = pytest.mark.slow

NOWHERE = "postgresql://remediator@db.invalid:5432/remediator"


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    message = str(json.loads(lines[0])["msg"])
    assert message.startswith("refusing to start: PostgreSQL runs replicas that must share "
                              "their keys: set ")
    return message


def _key(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(secrets.token_hex(32) + "\n")
    return path


def _serve_once(*env: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    return run_once("--dev", "--rules", str(RULES), "--listen", f"127.0.0.1:{free_port()}",
                    "--kubernetes", "off", "--database-url", NOWHERE, **dict(env))


def test_postgresql_without_either_key_is_refused_in_one_line(tmp_path: Path) -> None:
    message = _refusal(_serve_once())
    assert "REMEDIATOR_AUDIT_KEY_FILE (the audit chain's key)" in message
    assert "REMEDIATOR_SESSION_KEY_FILE or REMEDIATOR_SESSION_KEY" in message
    assert not list(Path.cwd().glob("remediator.audit-*"))  # no key generated instead


def test_postgresql_with_the_audit_key_only_names_the_session_key(tmp_path: Path) -> None:
    message = _refusal(_serve_once(
        ("REMEDIATOR_AUDIT_KEY_FILE", str(_key(tmp_path, "audit.key")))))
    assert "AUDIT_KEY_FILE" not in message
    assert "REMEDIATOR_SESSION_KEY_FILE or REMEDIATOR_SESSION_KEY" in message


def test_postgresql_never_generates_a_missing_audit_key_file(tmp_path: Path) -> None:
    missing = tmp_path / "secret" / "audit-key"
    message = _refusal(_serve_once(
        ("REMEDIATOR_AUDIT_KEY_FILE", str(missing)),
        ("REMEDIATOR_SESSION_KEY_FILE", str(_key(tmp_path, "session.key")))))
    assert f"{missing} does not exist" in message
    assert "SESSION_KEY" not in message
    assert not missing.exists()


@pytest.mark.postgres
def test_two_replicas_with_shared_keys_write_one_chain_that_verifies(
        tmp_path: Path, postgres_admin_url: str) -> None:
    url = create_database(postgres_admin_url, "ha_startup")
    keys = {"REMEDIATOR_AUDIT_KEY_FILE": str(_key(tmp_path, "audit.key")),
            "REMEDIATOR_SESSION_KEY_FILE": str(_key(tmp_path, "session.key"))}
    with running(tmp_path, database_url=url, **keys) as a, \
            running(tmp_path, database_url=url, **keys) as b:
        for index, replica in enumerate((a, b, a, b)):
            body = payload(crashloop(pod=f"web-{index}"))
            answer = httpx.post(replica.url + "/webhook/alertmanager", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
    result = CliRunner().invoke(app, ["audit", "--database-url", url, "verify"],
                                env={"REMEDIATOR_AUDIT_KEY_FILE": keys[
                                    "REMEDIATOR_AUDIT_KEY_FILE"]})
    assert result.exit_code == 0, result.output
    assert "keyed hash chain intact, head record at entry" in result.output
