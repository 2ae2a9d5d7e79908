"""On-call commands: status, show, approve/decline, audit at 80 columns, --until, --follow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remediator import __version__
from remediator.cli import app
from remediator.cli.console import follow
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.audit.reads import AuditReads
from tests.cli.conftest import decided
from tests.support.payloads import crashloop

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A database with one executed remediation and one awaiting approval."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    decisions = decided(url, [crashloop(pod="web-1"),
                              crashloop(pod="pay-0", namespace="apps-payments",
                                        deployment="pay")])
    ids = {d["outcome"]: d["remediation_id"] for d in decisions}
    return url, ids


def run(*args: str, columns: int = 80, **env: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": str(columns),
                                               "REMEDIATOR_RULES": str(ROOT / "rules"), **env})


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"remediator {__version__}"


def test_status_says_what_the_api_says(db: tuple[str, dict[str, str]]) -> None:
    url, _ = db
    result = run("status", "--json", "--database-url", url)
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["paused"] is False and found["awaiting_approval"] == 1
    assert found["jobs_queued"] == {"action": 1}
    assert "1 waiting" in run("status", "--database-url", url).output


def test_show_prints_the_timeline_within_80_columns(db: tuple[str, dict[str, str]]) -> None:
    url, ids = db
    result = run("show", ids["executed"][:8], "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "KubePodCrashLooping -> kubernetes.delete_pod pod/apps-a/web-1" in result.output
    assert "executed" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert run("show", "ffffffff", "--database-url", url).exit_code == 1


def test_approve_and_decline_from_the_cli(db: tuple[str, dict[str, str]]) -> None:
    url, ids = db
    waiting = ids["awaiting_approval"]
    approved = run("approve", waiting[:8], "--reason", "looked at it", "--database-url", url,
                   columns=200, REMEDIATOR_KUBERNETES="on")
    assert approved.exit_code == 0, approved.output
    # no kubeconfig here: the approval still stands, and says the target was not read
    assert "the target could not be checked here" in approved.output
    assert approved.output.splitlines()[-1].startswith("approved: approved by cli:")
    again = run("decline", waiting, "--reason", "too late", "--database-url", url)
    assert again.exit_code == 1
    assert "not awaiting approval" in again.output
    entries = json.loads(run("audit", "--json", "--outcome", "operator",
                             "--database-url", url).output)
    assert entries[0]["action"] == "approve"
    assert entries[0]["detail"]["actor"].startswith("cli:")
    assert entries[0]["reason"] == "looked at it"


def test_approval_without_a_cluster_is_not_run(db: tuple[str, dict[str, str]]) -> None:
    url, ids = db
    result = run("approve", ids["awaiting_approval"], "--reason", "go", "--database-url", url,
                 columns=200, REMEDIATOR_KUBERNETES="off")
    assert result.exit_code == 1
    assert "not run: dry_run: no Kubernetes connection" in result.output


def test_audit_is_readable_at_80_columns(db: tuple[str, dict[str, str]]) -> None:
    url, _ = db
    result = run("audit", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "awaiting_approval" in result.output
    assert "pod/apps-a/web-1" in result.output


def test_audit_until_excludes_newer_entries(db: tuple[str, dict[str, str]]) -> None:
    url, _ = db
    everything = json.loads(run("audit", "--json", "--database-url", url).output)
    assert everything
    older = json.loads(run("audit", "--json", "--until", "1h", "--database-url", url).output)
    assert older == []
    bad = run("audit", "--until", "someday", "--database-url", url)
    assert bad.exit_code == 2
    assert "invalid time" in bad.output


def test_follow_prints_new_entries_as_they_arrive(db: tuple[str, dict[str, str]]) -> None:
    url, _ = db
    database = Database(url)
    batches: list[list[str]] = []

    def more(_: float) -> None:  # the "sleep" between polls: an operator pauses meanwhile
        if len(batches) == 1:
            runner.invoke(app, ["pause", "--reason", "follow me", "--database-url", url])

    follow(AuditReads(database=database), AuditQuery(limit=100),
           lambda b: batches.append([e["outcome"] for e in b]), sleep=more, polls=2)
    assert batches[0][:2] == ["executed", "awaiting_approval"]
    assert batches[1:] == [["operator"]]
    with database.reading() as connection:
        newest = audit.query(connection, AuditQuery(limit=1))[0][0]
    assert newest["reason"] == "follow me"
    database.dispose()
