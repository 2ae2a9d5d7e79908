"""`remediator audit` without typer: the same options, settings and answers as typer's path.

`remediator.cli.audit.parse` reads `audit`'s options itself and gives up (None,
typer answers) on anything it does not know; `store_location.from_environment`
finds the database as `Settings` does, or gives up. Both are held here to
typer's and pydantic-settings' answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from remediator.app.settings import load_settings
from remediator.cli import app
from remediator.cli.audit import AuditOptions, parse
from remediator.store.location import STORE_SETTINGS, StoreLocation, from_environment

ROOT = Path(__file__).resolve().parents[2]


def _typer_options(argv: list[str]) -> AuditOptions:
    group = typer.main.get_command(app).commands["audit"]  # type: ignore[attr-defined]
    with group.make_context("audit", list(argv)) as ctx:
        return AuditOptions(**ctx.params)


@pytest.mark.parametrize("argv", [
    pytest.param([], id="defaults"),
    pytest.param(["--since", "1h"], id="since"),
    pytest.param(["--since=2d", "--until=30m"], id="equals"),
    pytest.param(["--json", "-f", "--limit", "007"], id="flags-and-leading-zeros"),
    pytest.param(["--follow", "--limit", "10000"], id="largest-limit"),
    pytest.param(["--rule", "r", "--outcome", "executed", "--alertname", "A",
                  "--namespace", "apps-web", "--database-url", "sqlite:///x.db",
                  "--config", "c.yml"], id="every-option"),
    pytest.param(["--rule", "a", "--rule", "b"], id="last-wins"),
    pytest.param(["--server", "https://r.example.org", "--token-file", "t",
                  "--ca-file=ca.pem"], id="server-options"),
    pytest.param(["--since", ""], id="empty-value"),
    pytest.param(["--since=-1h"], id="dash-after-equals"),
])
def test_options_are_read_as_typer_reads_them(argv: list[str]) -> None:
    assert parse(argv) == _typer_options(argv)


@pytest.mark.parametrize("argv", [
    pytest.param(["--help"], id="help"),
    pytest.param(["verify"], id="subcommand"),
    pytest.param(["--database-url", "sqlite:///x.db", "verify"], id="options-then-verify"),
    pytest.param(["--limit", "0"], id="limit-below-range"),
    pytest.param(["--limit", "10001"], id="limit-above-range"),
    pytest.param(["--limit", "ten"], id="limit-not-a-number"),
    pytest.param(["--limit", "٣"], id="limit-non-ascii-digit"),
    pytest.param(["--since"], id="missing-value"),
    pytest.param(["--since", "-1h"], id="dash-value"),
    pytest.param(["--json=yes"], id="flag-with-value"),
    pytest.param(["--sinse", "1h"], id="typo"),
    pytest.param(["-fj"], id="short-flags-together"),
    pytest.param(["--", "--json"], id="end-of-options"),
    pytest.param(["--config", ""], id="empty-path"),
    pytest.param(["--token-file", ""], id="empty-token-file"),
    pytest.param(["--ca-file="], id="empty-ca-file"),
])
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


def test_the_options_are_typers() -> None:
    group = typer.main.get_command(app).commands["audit"]  # type: ignore[attr-defined]
    declared = {opt for param in group.params for opt in param.opts}
    from remediator.cli import audit

    assert declared == set(audit._VALUED) | set(audit._FLAGS)
    assert {f for f in AuditOptions.__dataclass_fields__} == {p.name for p in group.params}


STORE_ENV = [
    pytest.param({}, None, id="default"),
    pytest.param({}, "sqlite:///flag.db", id="flag"),
    pytest.param({"REMEDIATOR_DATABASE_URL": "sqlite:///env.db"}, None, id="env"),
    pytest.param({"REMEDIATOR_DATABASE_URL": "sqlite:///env.db"}, "sqlite:///flag.db",
                 id="flag-over-env"),
    pytest.param({"remediator_database_url": "postgres://u@h/db"}, None,
                 id="lower-case-and-scheme"),
    pytest.param({"REMEDIATOR_STATE_DIR": "/var/lib/r",
                  "REMEDIATOR_AUDIT_KEY_FILE": "/etc/r/key"}, "sqlite:///d/r.db",
                 id="audit-files"),
    pytest.param({"REMEDIATOR_DATABASE_URL_FILE": "{url_file}"}, "sqlite:///flag.db",
                 id="url-file-wins"),
]


@pytest.mark.parametrize(("env", "flag"), STORE_ENV)
def test_the_store_is_where_settings_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         env: dict[str, str], flag: str | None) -> None:
    url_file = tmp_path / "url"
    url_file.write_text("postgresql://me@db/remediator\n")
    env = {k: v.format(url_file=url_file) for k, v in env.items()}
    _only_these(monkeypatch, env)
    found = from_environment(flag)
    settings = load_settings(None, database_url=flag)
    assert isinstance(found, StoreLocation)
    assert found.database_url == settings.database_url
    assert found.audit_files() == settings.audit_files()


@pytest.mark.parametrize("env", [
    pytest.param({"REMEDIATOR_DRY_RUN": "yes"}, id="another-setting"),
    pytest.param({"REMEDIATOR_DATABASE_URL": "mysql://h/db"}, id="bad-scheme"),
    pytest.param({"REMEDIATOR_DATABASE_URL": ""}, id="empty"),
    pytest.param({"REMEDIATOR_DATABASE_URL_FILE": "/nonexistent/url"}, id="unreadable-file"),
])
def test_settings_decide_anything_else(monkeypatch: pytest.MonkeyPatch,
                                       env: dict[str, str]) -> None:
    _only_these(monkeypatch, env)
    assert from_environment(None) is None


def test_a_config_file_is_read_by_settings(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from remediator.app.settings import Settings
    from remediator.cli.store import store_settings

    _only_these(monkeypatch, {})
    config = tmp_path / "remediator.yml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'c.db'}\nstate_dir: {tmp_path}\n")
    found = store_settings(config, None)
    assert isinstance(found, Settings)
    assert found.audit_files()[0] == tmp_path / "c.db.audit-key"


def test_store_settings_are_settings_fields() -> None:
    from remediator.app.settings import Settings

    assert set(Settings.model_fields) >= STORE_SETTINGS


def _only_these(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in os.environ:
        if name.lower().startswith("remediator_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


TYPER_ONLY = "import sys; from remediator.cli import app; sys.argv[0] = 'remediator'; app()"


@pytest.mark.parametrize("argv", [
    pytest.param(["--since", "1h"], id="table"),
    pytest.param(["--json"], id="json"),
    pytest.param(["--since", "1h", "--json", "--outcome", "denied"], id="filtered"),
    pytest.param(["--outcome", "bogus"], id="unknown-outcome"),
    pytest.param(["--since", "yesterday"], id="bad-time"),
    pytest.param(["--until", "1h", "-f"], id="follow-until"),
])
def test_a_process_answers_as_typer_does(filled_db: str, argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env |= {"PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    args = ["audit", *argv, "--database-url", filled_db]
    fast, typed = (subprocess.run([sys.executable, *how, *args], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60, check=False)
                   for how in (["-m", "remediator"], ["-c", TYPER_ONLY]))
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typed.returncode, typed.stdout, typed.stderr)
    if "--json" in argv:
        assert json.loads(fast.stdout)
