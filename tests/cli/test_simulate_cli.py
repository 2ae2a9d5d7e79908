"""`remediator simulate` for a rule author at a terminal: every value in full (issue 23),
and README's example runs as written against the payload shipped in examples/."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remediator.cli import app
from tests.support.payloads import alert, payload

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

LONG = {"namespace": "apps-checkout-payments-gateway-eu-west-1",
        "pod": "checkout-payments-gateway-api-canary-7d9f8b6c5d-x2kq9",
        "deployment": "checkout-payments-gateway-api-canary"}


@pytest.fixture
def long_labels(tmp_path: Path) -> Path:
    alerts = tmp_path / "alerts.json"
    alerts.write_text(json.dumps(payload(alert("KubePodCrashLooping", namespace=LONG["namespace"],
                                               pod=LONG["pod"],
                                               deployment=LONG["deployment"]),
                                         alert("KubePodCrashLooping", namespace="kube-system",
                                               pod="coredns-5d78c9869d-abcde"))))
    return alerts


def simulate(alerts: Path, columns: int, *extra: str) -> Any:
    return runner.invoke(app, ["simulate", str(alerts), "--rules", str(ROOT / "rules"),
                               *extra], env={"COLUMNS": str(columns)})


def _unshown(output: str, value: str, room: int) -> list[str]:
    """The words of `value` not shown in full: a word that fits in `room` columns must
    stand whole on one line; a longer one may only be folded, its pieces in order."""
    lines = [re.split(r"[\s│┃]+", line) for line in output.splitlines()]
    whole = {w.rstrip(":") for line in lines for w in line if w}
    run_together = "".join(w for line in lines for w in line)
    return [w for w in value.split()
            if (w not in whole) if len(w) <= room or w not in run_together]


@pytest.mark.parametrize("columns", [80, 200])
def test_long_label_values_are_shown_in_full(long_labels: Path, columns: int) -> None:
    decisions = json.loads(simulate(long_labels, columns, "--json").output)
    result = simulate(long_labels, columns)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert all(len(line) <= columns for line in result.output.splitlines()), result.output
    # The list's values start at column 10; a table cell is narrower, so more is folded.
    room = 70 if columns == 80 else 20
    for d in decisions:
        for value in (d["alertname"], d["rule"] or "", d["outcome"], d["target"] or "",
                      d["reason"]):
            assert not _unshown(result.output, value, room), (value, result.output)


def test_the_list_is_one_paragraph_per_decision(long_labels: Path) -> None:
    output = simulate(long_labels, 80).output
    paragraphs = output.strip().split("\n\n")
    assert [p.splitlines()[0] for p in paragraphs] == [
        "KubePodCrashLooping: executed", "KubePodCrashLooping: no_match"]
    assert "  rule    restart-crashlooping-pod\n" in paragraphs[0]
    assert "  reason  kubernetes.delete_pod on pod/" in paragraphs[0]


def _readme_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in readme.splitlines() if line.startswith("remediator simulate ")]
    return shlex.split(line, comments=True)


def test_the_readme_simulate_example_runs_as_written() -> None:
    """README's command, run from the repository root as a reader would."""
    command = _readme_command()
    assert command[:2] == ["remediator", "simulate"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="80")
    done = subprocess.run([sys.executable, "-m", "remediator", *command[1:]], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("KubePodCrashLooping: executed"), done.stdout
    as_json = subprocess.run([sys.executable, "-m", "remediator", *command[1:], "--json"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                             check=True)
    (decision,) = json.loads(as_json.stdout)
    assert decision["rule"] == "restart-crashlooping-pod"
    assert decision["target"] == "pod/apps-shop/cart-7d9f8b6c5d-x2kq9"
