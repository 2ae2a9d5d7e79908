"""The `remediator` command line, as on-call people and CI use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remediator.cli import app
from tests.support.payloads import alert, crashloop, payload

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_rules_check_passes_on_the_shipped_rules() -> None:
    result = runner.invoke(app, ["rules", "check", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output
    assert "OK:" in result.output


def test_rules_check_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: x\n    matchers: ['a=\"b\"']\n"
                   "    action: {type: kubernetes.scale, namespace: a, name: b}\n")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: rules[0].action.max: Field required" in result.output


@pytest.mark.parametrize("test_file", sorted((ROOT / "rules").glob("*.test.yml")),
                         ids=lambda p: p.name)
def test_every_shipped_rule_file_has_passing_tests(test_file: Path) -> None:
    result = runner.invoke(app, ["rules", "test", str(test_file)])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_every_rule_file_ships_with_a_test_file() -> None:
    for rules in (ROOT / "rules").glob("*.yml"):
        if not rules.name.endswith(".test.yml"):
            assert rules.with_suffix(".test.yml").exists(), f"{rules.name} has no tests"


def test_rules_test_reports_a_wrong_expectation(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text((ROOT / "rules" / "workloads.yml").read_text())
    (tmp_path / "r.test.yml").write_text(
        "rule_files: [r.yml]\ntests:\n  - name: wrong\n    alerts:\n"
        "      - labels: {alertname: KubePodCrashLooping, namespace: apps-a, pod: p}\n"
        "    expect:\n      - {outcome: dry_run}\n")
    result = runner.invoke(app, ["rules", "test", str(tmp_path / "r.test.yml")])
    assert result.exit_code == 1
    assert "outcome is 'executed', expected 'dry_run'" in result.output


def test_simulate_prints_decisions_and_executes_nothing(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.json"
    alerts.write_text(json.dumps(payload(crashloop(), alert("Unrelated"))))
    result = runner.invoke(app, ["simulate", str(alerts), "--rules", str(ROOT / "rules"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    decisions = json.loads(result.output)
    assert [d["outcome"] for d in decisions] == ["executed", "no_match"]
    assert not list(tmp_path.glob("*.db"))


def test_simulate_rejects_a_bad_file_clearly(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.json"
    alerts.write_text('[{"labels": {"alertname": "x"}}]')
    result = runner.invoke(app, ["simulate", str(alerts), "--rules", str(ROOT / "rules")])
    assert result.exit_code == 2
    assert "alerts.json: 0.status: Field required" in result.output


def test_audit_lists_recent_entries_as_json(filled_db: str) -> None:
    result = runner.invoke(app, ["audit", "--database-url", filled_db, "--json",
                                 "--outcome", "denied"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["outcome"] for e in entries] == ["denied"]


def test_audit_table_for_on_call(filled_db: str) -> None:
    result = runner.invoke(app, ["audit", "--database-url", filled_db, "--since", "1h"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "executed" in result.output and "denied" in result.output


def test_audit_verify_detects_tampering(filled_db: str) -> None:
    assert runner.invoke(app, ["audit", "--database-url", filled_db, "verify"]).exit_code == 0
    import sqlite3

    with sqlite3.connect(filled_db.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE audit SET outcome = 'succeeded' WHERE id = 1")
    result = runner.invoke(app, ["audit", "--database-url", filled_db, "verify"])
    assert result.exit_code == 1
    assert "broken at entry 1" in result.output


def test_pause_resume_and_breaker_reset_act_on_the_store(filled_db: str) -> None:
    for command in (["pause", "--reason", "maintenance"], ["resume"], ["breaker", "reset"]):
        result = runner.invoke(app, [*command, "--database-url", filled_db])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [["audit"], ["audit", "verify"], ["breaker", "reset"],
                                     ["pause"], ["resume"]])
def test_a_wrong_database_path_is_an_error_not_a_new_file(tmp_path: Path,
                                                         command: list[str]) -> None:
    missing = tmp_path / "nope.db"
    url = ["--database-url", f"sqlite:///{missing}"]
    # `audit` takes its options before `verify`; the other verbs after their name.
    args = [command[0], *url, *command[1:]] if command[0] == "audit" else [*command, *url]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no database at" in result.output
    assert not missing.exists()
