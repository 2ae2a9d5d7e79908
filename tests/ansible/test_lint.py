"""Static checks of roles/ and playbooks/: linters, syntax, role structure, no secrets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ansible.conftest import PLAYBOOKS, REPO, ROLES, VENV_BIN, tool_env

ROLE_DIRS = sorted(path for path in ROLES.iterdir() if (path / "tasks").is_dir())
PLAYS = sorted(PLAYBOOKS.glob("*.yml")) + sorted((PLAYBOOKS / "repair").glob("*.yml"))
REPAIR_ALERTS = {"restart_k3s.yml": "K3sServiceDown", "free_disk.yml": "NodeFilesystemAlmostFull",
                 "restart_container_runtime.yml": "ContainerRuntimeDown"}


def run_tool(args: list[str], home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=tool_env(home), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.ansible
def test_yamllint_is_clean(tmp_path: Path) -> None:
    rule_files = [str(p) for p in sorted((REPO / "rules").glob("node-repairs*.yml"))]
    done = run_tool([str(VENV_BIN / "yamllint"), "--strict", "roles", "playbooks", *rule_files],
                    tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.ansible
@pytest.mark.slow
def test_ansible_lint_production_profile_is_clean(tmp_path: Path) -> None:
    done = run_tool([str(VENV_BIN / "ansible-lint"), "--profile", "production", "--offline",
                     "--nocolor", "roles", "playbooks"], tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]


@pytest.mark.ansible
def test_every_playbook_passes_syntax_check(tmp_path: Path) -> None:
    done = run_tool([str(VENV_BIN / "ansible-playbook"), "--syntax-check",
                     "-i", str(PLAYBOOKS / "inventory" / "hosts.example.yml"),
                     *map(str, PLAYS)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for play in PLAYS:
        assert f"playbook: {play}" in done.stdout


def test_skips_in_ansible_lint_config_give_a_reason() -> None:
    config = yaml.safe_load((REPO / ".ansible-lint").read_text())
    assert config["profile"] == "production"
    text = (REPO / ".ansible-lint").read_text()
    for rule in config.get("skip_list") or []:
        assert re.search(rf"- {re.escape(rule)}\s+#\s*\S", text), f"{rule} has no reason"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_role_has_defaults_argument_specs_and_readme(role: Path) -> None:
    for part in ("defaults/main.yml", "meta/main.yml", "meta/argument_specs.yml", "README.md"):
        assert (role / part).is_file(), f"{role.name} lacks {part}"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_argument_specs_cover_every_default(role: Path) -> None:
    defaults = _load(role / "defaults" / "main.yml") or {}
    options = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults), "argument specs and defaults differ"
    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("default") == value, f"{name}: spec default differs from defaults/main.yml"
        assert name.startswith(role.name + "_")


@pytest.mark.parametrize("play", sorted(REPAIR_ALERTS), ids=str)
def test_repair_play_header_names_its_alert(play: str) -> None:
    header = (PLAYBOOKS / "repair" / play).read_text().split("\n- name:")[0]
    assert f"Answers alert: {REPAIR_ALERTS[play]}" in header
    assert "Check mode" in header and "Idempotent" in header


def test_no_literal_tokens_or_keys_in_the_repository() -> None:
    secret_names = re.compile(
        r"^\s*(k3s_token|vault_k3s_token|k3s_\w*token|\w*authkey|\w*private_key)\s*:\s*(.*)$")
    for path in [*ROLES.rglob("*.yml"), *PLAYBOOKS.rglob("*.yml")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = secret_names.match(line)
            if not match or not match.group(2):
                continue
            value = match.group(2).strip().strip("\"'")
            assert value in ("", ">-") or value.startswith("{{"), (
                f"{path.relative_to(REPO)}:{number} sets {match.group(1)} to a literal")


def test_tasks_handling_secrets_are_no_log() -> None:
    for path in ROLES.rglob("tasks/*.yml"):
        for task in _tasks(_load(path) or []):
            text = yaml.safe_dump(task)
            if re.search(r"_(token|authkey|private_key)\b", text) and (
                    "ansible.builtin.copy" in task or "ansible.builtin.slurp" in task):
                assert task.get("no_log") is True, f"{path}: {task['name']} must be no_log"


def _tasks(items: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        found.append(item)
        for key in ("block", "rescue", "always"):
            found.extend(_tasks(item.get(key) or []))
    return found
