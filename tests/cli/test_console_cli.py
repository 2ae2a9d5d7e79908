"""On-call commands: status, show, approve/decline, audit at 80 columns, --until, --follow."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remediator import __version__
from remediator.cli import app
from remediator.cli.audit import SHORT_ID, short_ids
from remediator.cli.console import follow
from remediator.cli.terminal import labelled, wrap
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.audit.reads import AuditReads
from remediator.store.readmodel import SHORT
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
    assert result.stderr.startswith("break-glass: reading the database directly")
    found = json.loads(result.stdout)
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


def _short_ids(output: str) -> list[str]:
    """The ids in an 80-column `audit` table: the second line of the first column."""
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return [cells[1].strip() for cells in rows
            if len(cells) > 1 and re.fullmatch(r"[0-9a-f-]{8,36}", cells[1].strip())]


def test_audit_shows_the_id_that_show_takes(db: tuple[str, dict[str, str]]) -> None:
    """Issue 23: from a line of `audit` to `show ID` (the short id is a prefix `show` takes)."""
    url, ids = db
    for columns in (80, 200):
        table = run("audit", "--database-url", url, columns=columns).output
        assert ids["executed"][:8] in table and ids["awaiting_approval"][:8] in table
    shown = _short_ids(run("audit", "--database-url", url).output)
    assert sorted(shown) == sorted(i[:8] for i in ids.values())
    for short in shown:
        result = run("show", short, "--database-url", url)
        assert result.exit_code == 0, result.output
        assert f"id {next(i for i in ids.values() if i.startswith(short))}" in result.output
    as_json = json.loads(run("audit", "--json", "--database-url", url).output)
    assert {e["remediation_id"] for e in as_json} == set(ids.values())  # unchanged shape


def _share_a_prefix(url: str, prefix: str) -> None:
    """Give every remediation id `prefix` (SQL: the store never makes such ids on purpose)."""
    n = len(prefix) + 1
    columns = {"remediations": ("id", "root_id"), "audit": ("remediation_id",),
               "jobs": ("remediation_id",), "evidence": ("remediation_id",)}
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        for table, names in columns.items():
            for name in names:
                connection.execute(f"UPDATE {table} SET {name} = ? || substr({name}, ?) "
                                   f"WHERE {name} IS NOT NULL", (prefix, n))


def test_ids_sharing_a_prefix_are_shown_long_enough_to_tell_apart(
        db: tuple[str, dict[str, str]]) -> None:
    url, _ = db
    _share_a_prefix(url, "aaaaaaaa-aa")
    ambiguous = run("show", "aaaaaaaa", "--database-url", url)
    assert ambiguous.exit_code == 1
    assert "names more than one remediation: use more characters" in ambiguous.output
    shown = _short_ids(run("audit", "--database-url", url).output)
    assert len(set(shown)) == 2 and all(len(s) > len("aaaaaaaa-aa") for s in shown)
    for short in shown:
        result = run("show", short, "--database-url", url)
        assert result.exit_code == 0, result.output
        assert f"id {short}" in result.output


@pytest.mark.parametrize(("ids", "expected"), [
    pytest.param(["abcdef0123", "0123456789"], ["abcdef01", "01234567"], id="distinct"),
    pytest.param(["abcdef0123", "abcdef0199", None, "abcdef0123"],
                 ["abcdef012", "abcdef019"], id="shared-and-repeated"),
])
def test_short_ids_are_as_short_as_they_can_be(ids: list[str | None],
                                               expected: list[str]) -> None:
    assert sorted(short_ids(ids).values()) == sorted(expected)
    assert SHORT_ID == SHORT  # the page's short ids and the table's agree


LONG_RUNBOOK = ("https://runbooks.example.org/kubernetes/workloads/KubePodCrashLooping"
                "#diagnosis")
UNREACHABLE = ("delete pods apps-payments/payments-api-7f9c8d6b5-x2kq9: cannot reach the "
               "Kubernetes API at https://10.0.0.1:6443: connection refused")


def _words_split(output: str, values: list[str]) -> list[str]:
    """The words of `values` that do not appear whole on one line of `output`."""
    on_lines = {word for line in output.splitlines()
                for word in re.split(r"[\s│┃]+", line) if word}
    return [word for value in values for word in value.split() if word not in on_lines]


def test_show_wraps_at_word_boundaries_at_80_columns(tmp_path: Path) -> None:
    """Issue 23: long values (URLs, reasons) wrap whole words; a URL wider than the
    screen stands alone on its line (the terminal folds only it)."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    firing = crashloop(pod="payments-api-7f9c8d6b5-x2kq9", namespace="apps-payments",
                       deployment="payments-api")
    firing["annotations"]["runbook_url"] = LONG_RUNBOOK
    (decision,) = decided(url, [firing])
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE audit SET reason = ? WHERE remediation_id = ?",
                           (UNREACHABLE, decision["remediation_id"]))
    result = run("show", decision["remediation_id"][:8], "--database-url", url,
                 REMEDIATOR_ALERTMANAGER_URL="http://alertmanager.monitoring.svc:9093")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    silence = next(line for line in lines if "/#/silences/new?filter=" in line)
    assert silence.startswith("http://alertmanager.monitoring.svc:9093/") and " " not in silence
    assert all(len(line) <= 80 for line in lines if line != silence), result.output
    assert LONG_RUNBOOK in lines
    assert not _words_split(result.output, [
        UNREACHABLE, LONG_RUNBOOK, f"id {decision['remediation_id']}",
        "rule restart-crashlooping-pod", "state awaiting_approval",
        "KubePodCrashLooping -> kubernetes.delete_pod "
        "pod/apps-payments/payments-api-7f9c8d6b5-x2kq9"]), result.output


def test_evidence_lines_keep_their_indentation_when_wrapped() -> None:
    line = "    " + " ".join(["Back-off restarting failed container web"] * 3)
    wrapped = wrap(line, 40).splitlines()
    assert wrapped[0].startswith("    Back-off") and all(
        w.startswith("      ") and len(w) <= 40 for w in wrapped[1:])
    assert " ".join(w.strip() for w in wrapped) == line.strip()
    assert wrap("x" * 50, 20).splitlines() == ["x" * 20, "  " + "x" * 18, "  " + "x" * 12]
    assert labelled("runbook", "https://r.example/x", 80) == "runbook    https://r.example/x"
