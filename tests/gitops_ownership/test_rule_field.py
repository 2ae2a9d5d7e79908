"""`gitops:` in a rule: shorthand, long form, and `rules check` naming file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from remediator.cli import app

runner = CliRunner()
HEAD = ("rules:\n  - name: x\n    matchers: ['a=\"b\"']\n"
        "    action: {type: kubernetes.scale, namespace: a, name: b, max: 5}\n")


def check(tmp_path: Path, gitops: str) -> tuple[int, str, Path]:
    path = tmp_path / "r.yml"
    path.write_text(HEAD + gitops)
    result = runner.invoke(app, ["rules", "check", str(path)])
    return result.exit_code, result.output, path


@pytest.mark.parametrize("gitops", [
    "    gitops: act\n", "    gitops: refuse\n", "    gitops: propose\n",
    "    gitops: {mode: propose, also_act: true, push_to: main}\n",
    "    gitops:\n      mode: propose\n      values: {file: values-prod.yaml, key: web.replicas}\n",
    "    gitops: {mode: propose, also_act: true, suspend_while_proposed: true}\n",
], ids=["act", "refuse", "propose", "long", "helm-values", "suspend"])
def test_valid_forms(tmp_path: Path, gitops: str) -> None:
    code, output, _ = check(tmp_path, gitops)
    assert code == 0, output


@pytest.mark.parametrize(("gitops", "where", "message"), [
    ("    gitops: sync\n", "5: rules[0].gitops",
     "unknown gitops mode 'sync'; one of act, propose, refuse"),
    ("    gitops: {mode: sync}\n", "5: rules[0].gitops.mode",
     "Input should be 'act', 'propose' or 'refuse'"),
    ("    gitops:\n      mode: propose\n      branch: x\n", "7: rules[0].gitops.branch",
     "Extra inputs are not permitted"),
    ("    gitops: {mode: act, also_act: true}\n", "5: rules[0].gitops",
     "only apply to mode: propose"),
    ("    gitops: {mode: propose, suspend_while_proposed: true}\n", "5: rules[0].gitops",
     "suspend_while_proposed needs also_act: true"),
    ("    gitops:\n      mode: propose\n      values: {file: ../secrets.yaml, key: a}\n",
     "7: rules[0].gitops.values.file", "no leading / and no .."),
    ("    gitops: {mode: propose, push_to: 'main; rm -rf'}\n", "5: rules[0].gitops.push_to",
     "String should match pattern"),
], ids=["unknown-mode", "unknown-long-mode", "unknown-key", "act-with-propose-keys",
        "suspend-alone", "values-escape", "push-to-garbage"])
def test_rules_check_names_file_line_and_field(tmp_path: Path, gitops: str, where: str,
                                               message: str) -> None:
    code, output, path = check(tmp_path, gitops)
    assert code == 1
    assert f"{path}:{where}: " in output and message in output, output
