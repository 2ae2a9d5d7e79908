"""`remediator backtest` as a process: what it imports, and its one-line refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remediator.cli.commands import app
from tests.backtest.history import RULES

ROOT = Path(__file__).resolve().parents[2]
# Runs the CLI with some packages made unimportable (None in sys.modules), then
# says which top-level modules were loaded.
HARNESS = """
import json, runpy, sys
argv, missing = json.loads(sys.argv[1])
for name in missing:
    sys.modules[name] = None
sys.argv = ["remediator", *argv]
try:
    runpy.run_module("remediator", run_name="__main__")
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules
                                                   if sys.modules[m] is not None})}))
"""

WIDE = CliRunner(env={"COLUMNS": "300"})  # a long tmp path stays on one line of stderr


def cli(*argv: str, missing: tuple[str, ...] = ()) -> tuple[object, set[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="200")
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps([argv, missing])],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"]), done.stderr


@pytest.mark.parametrize("argv", [["--help"], ["backtest", "--help"]])
def test_help_does_not_load_the_analysis_client(argv: list[str]) -> None:
    code, modules, _ = cli(*argv)
    assert code in (0, None)
    assert not modules & {"prometheus_api_client", "requests", "dateparser"}


@pytest.mark.parametrize("command", [["backtest", "--rules", "{rules}"],
                                     ["report", "rightsizing", "--namespace", "apps"]])
def test_without_the_extra_it_says_what_to_install(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "rules.yml").write_text(RULES, encoding="utf-8")
    argv = [a.format(rules=tmp_path / "rules.yml") for a in command]
    code, _, stderr = cli(*argv, "--prometheus-url", "http://127.0.0.1:9",
                          missing=("prometheus_api_client",))
    assert code == 2
    assert "install remediator[analysis]" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(("extra", "message"), [
    (["--since", "last tuesday"], "invalid time 'last tuesday'"),
    (["--step", "fast"], "fast"),
    (["--since", "1h", "--until", "2h"], "empty range"),
    (["--prometheus-token-file", "{token}"], "the token must be one non-empty word"),
])
def test_bad_input_is_one_line_naming_it(tmp_path: Path, extra: list[str],
                                         message: str) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    token = tmp_path / "token"
    token.write_text("two words\n", encoding="utf-8")
    argv = ["backtest", "--rules", str(rules), "--prometheus-url", "http://127.0.0.1:9",
            *(a.format(token=token) for a in extra)]
    result = WIDE.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())


def test_a_bad_rule_file_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - name: x\n    matchers: [oops\n", encoding="utf-8")
    result = WIDE.invoke(app, ["backtest", "--rules", str(rules),
                                      "--prometheus-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert f"{rules.name}:4: invalid YAML" in " ".join(result.stderr.split())


def test_an_unreachable_prometheus_names_the_chunk(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    result = WIDE.invoke(app, ["backtest", "--rules", str(rules), "--since", "2h",
                                      "--prometheus-url", "http://127.0.0.1:9", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "could not be asked for chunk 1/1" in message and "ConnectionError" in message
