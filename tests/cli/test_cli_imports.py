"""What a CLI command imports, as a whole process: on-call runs `remediator ...` in a shell.

Each heavy library costs tens to hundreds of milliseconds at every
invocation; `--help` and `audit` should not pay for the web stack, the
Kubernetes client or the migration tool they never use (issue 11: a CLI
command in < 0.5 s). The command runs in a child interpreter (`-c` harness),
which prints the top-level packages it ended up with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HARNESS = """
import json, runpy, sys
sys.argv = ["remediator", *json.loads(sys.argv[1])]
try:
    runpy.run_module("remediator", run_name="__main__")
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""

WEB_AND_CLUSTER = {"kubernetes", "fastapi", "starlette", "uvicorn", "alembic", "jinja2",
                   "ansible_runner", "apscheduler", "prometheus_client", "httpx"}


def _imported(*argv: str) -> tuple[object, set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(argv)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


@pytest.mark.parametrize("argv", [
    pytest.param(["--help"], id="help"),
    pytest.param(["audit", "--help"], id="audit-help"),
    pytest.param(["serve", "--help"], id="serve-help"),
    pytest.param(["--version"], id="version"),
])
def test_help_imports_neither_the_store_nor_the_web_stack(argv: list[str]) -> None:
    code, modules = _imported(*argv)
    assert code in (0, None)
    heavy = WEB_AND_CLUSTER | {"sqlalchemy"}
    assert not modules & heavy, modules & heavy


def test_help_does_not_build_pydantic_models() -> None:
    _, modules = _imported("--help")
    assert not modules & {"pydantic", "pydantic_settings", "sqlalchemy", "yaml"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    from remediator.store import Database

    database = tmp_path / "r.db"
    Database(f"sqlite:///{database}").migrate()
    return f"sqlite:///{database}"


def test_audit_reads_the_database_without_the_web_stack(database_url: str) -> None:
    code, modules = _imported("audit", "--since", "1h", "--database-url", database_url)
    assert code == 0
    assert "sqlalchemy" in modules  # it did read the log
    assert not modules & WEB_AND_CLUSTER, modules & WEB_AND_CLUSTER


# `audit` is what on-call runs over and over: after SQLAlchemy, pydantic (typer's
# per-option adapters, pydantic-settings) and typer itself were most of its time.
NOT_FOR_AUDIT = {"typer", "click", "pydantic", "pydantic_settings", "pydantic_core", "yaml"}


@pytest.mark.parametrize("argv", [
    pytest.param(["--since", "1h"], id="table"),
    pytest.param(["--json", "--limit", "5", "--rule=restart-crashlooping-pod"], id="json"),
    pytest.param(["--since", "2h", "--until", "1h", "--outcome", "executed",
                  "--alertname", "KubePodCrashLooping", "--namespace", "apps-web"],
                 id="filters"),
])
def test_audit_reads_without_typer_or_pydantic(database_url: str, argv: list[str]) -> None:
    code, modules = _imported("audit", *argv, "--database-url", database_url)
    assert code == 0
    assert not modules & NOT_FOR_AUDIT, modules & NOT_FOR_AUDIT


def test_the_audit_table_with_its_ids_needs_no_pydantic(tmp_path: Path) -> None:
    """The id column (issue 23) is drawn from the entries themselves, not the read model."""
    from tests.cli.conftest import decided
    from tests.support.payloads import crashloop

    url = f"sqlite:///{tmp_path / 'r.db'}"
    decisions = decided(url, [crashloop(pod="web-1")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="80")
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(
        ["audit", "--database-url", url])], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True)
    *table, last = done.stdout.strip().splitlines()
    assert decisions[0]["remediation_id"][:8] in "\n".join(table)
    assert not set(json.loads(last)["modules"]) & NOT_FOR_AUDIT


def test_audit_with_other_settings_in_the_environment_validates_them(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another REMEDIATOR_ variable: the full Settings decide, as before (slower, same answer).
    monkeypatch.setenv("REMEDIATOR_WORKERS", "many")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "remediator", "audit", "--database-url",
                           database_url], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("invalid settings: workers: "), done.stderr


def test_an_unreachable_database_is_still_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "remediator", "audit", "--database-url",
         "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("the database is unavailable: "), done.stderr
    assert "Traceback" not in done.stderr
