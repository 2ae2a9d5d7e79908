"""`remediator cluster ...` through typer's test runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from remediator.cluster.cli import app

EXAMPLE = (Path(__file__).resolve().parents[2] / "playbooks" / "inventory"
           / "hosts.example.yml").read_text()

SITE = """---
- name: Provision (test stand-in)
  hosts: all
  gather_facts: false
  tasks:
    - name: Prepare the node
      ansible.builtin.debug:
        msg: preparing
    - name: Join the cluster
      ansible.builtin.fail:
        msg: cannot join
      when: inventory_hostname == fail_on | default('')
    - name: Tagged step
      ansible.builtin.copy:
        content: done
        dest: "{{ out_dir }}/{{ inventory_hostname }}.done"
        mode: "0644"
      tags: [join]
"""

runner = CliRunner()


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(EXAMPLE)
    return path


def test_add_node_then_remove_node(inventory_file: Path) -> None:
    added = runner.invoke(app, ["add-node", "worker-7", "--ip", "100.64.0.77", "--role", "agent",
                                "--gpu", "--label", "workload=gpu", "--label", "tier=batch",
                                "--taint", "nvidia.com/gpu=present:NoSchedule",
                                "--inventory", str(inventory_file)])
    assert added.exit_code == 0, added.output
    assert "added agent worker-7 (100.64.0.77)" in added.output
    agent = yaml.safe_load(inventory_file.read_text())["all"]["children"]["k3s_cluster"][
        "children"]["agent"]["hosts"]
    assert agent["worker-7"] == {"ansible_host": "100.64.0.77", "k3s_gpu": True,
                                 "k3s_node_labels": ["workload=gpu", "tier=batch"],
                                 "k3s_node_taints": ["nvidia.com/gpu=present:NoSchedule"]}

    removed = runner.invoke(app, ["remove-node", "worker-7", "--inventory-only",
                                  "--inventory", str(inventory_file)])
    assert removed.exit_code == 0, removed.output
    assert "removed worker-7 (100.64.0.77)" in removed.output
    assert inventory_file.read_text() == EXAMPLE


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["x'; reboot; '", "--ip", "10.1.1.1", "--role", "agent"], "not a valid",
                 id="bad-name"),
    pytest.param(["worker-8", "--ip", "10.1.1.300", "--role", "agent"], "not an IP address",
                 id="bad-ip"),
    pytest.param(["worker-1", "--ip", "10.1.1.1", "--role", "agent"], "already in the inventory",
                 id="duplicate-name"),
    pytest.param(["worker-8", "--ip", "100.64.0.11", "--role", "agent"], "already the address",
                 id="duplicate-ip"),
    pytest.param(["worker-8", "--ip", "10.1.1.1", "--role", "agent", "--taint", "x=y"],
                 "Effect", id="bad-taint"),
])
def test_add_node_refusals_leave_the_file_untouched(inventory_file: Path, args: list[str],
                                                    message: str) -> None:
    result = runner.invoke(app, ["add-node", *args, "--inventory", str(inventory_file)])
    assert result.exit_code == 1
    assert message in result.output
    assert inventory_file.read_text() == EXAMPLE


def test_add_node_refuses_an_unknown_role(inventory_file: Path) -> None:
    result = runner.invoke(app, ["add-node", "w-9", "--ip", "10.1.1.1", "--role", "master",
                                 "--inventory", str(inventory_file)])
    assert result.exit_code == 2
    assert inventory_file.read_text() == EXAMPLE


def test_second_server_warns_about_etcd_quorum(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  children:\n    server:\n      hosts:\n        cp-1:\n"
                    "          ansible_host: 10.0.0.1\n    agent:\n      hosts: {}\n")
    result = runner.invoke(app, ["add-node", "cp-2", "--ip", "10.0.0.2", "--role", "server",
                                 "--inventory", str(path)])
    assert result.exit_code == 0
    assert "2 servers" in result.output


def test_remove_unknown_node_fails(inventory_file: Path) -> None:
    result = runner.invoke(app, ["remove-node", "worker-99", "--inventory", str(inventory_file)])
    assert result.exit_code == 1
    assert "not in the inventory" in result.output
    assert inventory_file.read_text() == EXAMPLE


def test_provision_without_inventory_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["provision", "--inventory", str(tmp_path / "missing.yml")])
    assert result.exit_code == 1
    assert "not found" in result.output
    assert "hosts.example.yml" in result.output


def write_project(tmp_path: Path, **group_vars: str) -> tuple[Path, Path]:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "site.yml").write_text(SITE)
    variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "out_dir": str(tmp_path), **group_vars}
    inventory = {"all": {"vars": variables,
                         "children": {"server": {"hosts": {"cp-1": None}},
                                      "agent": {"hosts": {"worker-1": None}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return playbooks, path


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    return write_project(tmp_path)


@pytest.mark.ansible
def test_provision_shows_progress_and_recap(project: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    playbooks, inventory = project
    result = runner.invoke(app, ["provision", "--inventory", str(inventory),
                                 "--playbook-dir", str(playbooks)])
    assert result.exit_code == 0, result.output
    assert "recap: successful" in result.output
    for host in ("cp-1", "worker-1"):
        assert host in result.output
        assert (tmp_path / f"{host}.done").exists()


@pytest.mark.ansible
def test_provision_check_mode_and_tags(project: tuple[Path, Path], tmp_path: Path) -> None:
    playbooks, inventory = project
    result = runner.invoke(app, ["provision", "--inventory", str(inventory), "--check",
                                 "--tags", "join", "--playbook-dir", str(playbooks)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "cp-1.done").exists()


@pytest.mark.ansible
def test_provision_failure_names_host_and_task(tmp_path: Path) -> None:
    playbooks, inventory = write_project(tmp_path, fail_on="worker-1")
    result = runner.invoke(app, ["provision", "--inventory", str(inventory),
                                 "--playbook-dir", str(playbooks)])
    assert result.exit_code == 1
    assert "provisioning failed" in result.output
    assert "worker-1: failed at task 'Join the cluster': cannot join" in result.output
