"""The cluster token never shows in Ansible's output, even with --diff and -vv."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ansible.conftest import REPO, VENV_BIN, tool_env

pytestmark = pytest.mark.ansible

PLAY = """---
- name: Render the server and agent configuration
  hosts: all
  gather_facts: false
  roles:
    - role: "{{ role_under_test }}"
"""


@pytest.mark.parametrize("role", ["k3s_server", "k3s_agent"])
def test_token_is_never_printed(role: str, tmp_path: Path) -> None:
    token = secrets.token_hex(24)
    config_dir = tmp_path / "etc" / "rancher" / "k3s"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "ansible_become": False, "k3s_prereq_node_address": "100.64.0.1",
            "k3s_token": token, f"{role}_manage_service": False,
            f"{role}_config_dir": str(config_dir)}
    inventory = {"all": {"children": {"server": {"hosts": {"cp-1": host}},
                                      "agent": {"hosts": {}}}}}
    if role == "k3s_agent":
        inventory["all"]["children"]["agent"]["hosts"] = {"cp-1": host}
    (tmp_path / "hosts.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY)
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(tmp_path / "hosts.json"),
               str(tmp_path / "play.yml"), "--diff", "-vv", "-e", f"role_under_test={role}"]
    env = {**tool_env(tmp_path), "ANSIBLE_ROLES_PATH": str(REPO / "roles")}

    runs = [subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                           check=False) for _ in range(2)]

    for done in runs:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert token not in done.stdout + done.stderr
    assert (config_dir / "cluster-token").read_text() == token + "\n"
    assert token not in (config_dir / "config.yaml").read_text()
    assert "changed=0" in runs[1].stdout  # idempotent
