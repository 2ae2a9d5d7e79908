"""`remediator cluster discover`: real facts of this machine, and the labels proposed from facts."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from remediator.cluster import discover, inventory
from remediator.cluster.cli import app
from tests.cluster.conftest import REPO

runner = CliRunner()


@pytest.mark.parametrize(("facts", "labels", "gpu"), [
    pytest.param(discover.NodeFacts(name="a", architecture="x86_64", vcpus=2, memory_mb=4096),
                 ["remediator.io/arch=amd64", "remediator.io/cpu=small",
                  "remediator.io/memory=small"], "no GPU", id="small-amd64"),
    pytest.param(discover.NodeFacts(name="b", architecture="aarch64", vcpus=8,
                                    memory_mb=16384),
                 ["remediator.io/arch=arm64", "remediator.io/cpu=medium",
                  "remediator.io/memory=medium"], "no GPU", id="arm64"),
    pytest.param(discover.NodeFacts(name="c", architecture="armv7l", vcpus=32,
                                    memory_mb=131072,
                                    gpus=("NVIDIA RTX A4000, 16376 MiB",) * 2),
                 ["remediator.io/arch=arm", "remediator.io/cpu=large",
                  "remediator.io/memory=large", "workload=gpu"], "2 x NVIDIA RTX A4000", id="gpu"),
    pytest.param(discover.NodeFacts(name="d", architecture="riscv64", vcpus=4, memory_mb=8192,
                                    nvidia_pci_devices=1),
                 ["remediator.io/cpu=medium", "remediator.io/memory=medium", "workload=gpu"],
                 "1 NVIDIA (no driver)", id="gpu-without-driver"),
])
def test_labels_proposed_from_facts(facts: discover.NodeFacts, labels: list[str],
                                    gpu: str) -> None:
    assert discover.propose_labels(facts) == labels
    assert discover.gpu_summary(facts) == gpu
    for label in labels:
        inventory.node_label(label)  # every proposal is a valid Kubernetes label


def test_facts_files_with_odd_values_are_read_safely(tmp_path: Path) -> None:
    (tmp_path / "n-1.json").write_text('{"architecture": "x86_64", "vcpus": "x", "gpus": [" "]}')
    assert discover.read_facts(tmp_path) == [
        discover.NodeFacts(name="n-1", architecture="x86_64", vcpus=0, memory_mb=0)]


@pytest.mark.ansible
def test_discover_gathers_the_facts_of_the_inventory_hosts(tmp_path: Path) -> None:
    inventory_path = tmp_path / "hosts.yml"
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "ansible_become": False}
    inventory_path.write_text(yaml.safe_dump({"all": {"children": {"k3s_cluster": {
        "vars": local, "children": {"server": {"hosts": {"cp-1": None}},
                                    "agent": {"hosts": {"worker-1": None}}}}}}}))
    result = runner.invoke(app, ["discover", "-i", str(inventory_path),
                                 "--playbook-dir", str(REPO / "playbooks")],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    arch = discover.ARCHES[platform.machine()]
    table = result.output.split("discovered")[-1]
    for host in ("cp-1", "worker-1"):
        line = next(line for line in table.splitlines() if f" {host} " in line)
        assert platform.machine() in line and f"remediator.io/arch={arch}" in line
        assert "no GPU" in line  # no NVIDIA GPU on the test machines

    applied = runner.invoke(app, ["discover", "--apply", "-i", str(inventory_path),
                                  "--playbook-dir", str(REPO / "playbooks")])
    assert applied.exit_code == 0, applied.output
    labels = inventory.hosts(inventory_path.read_text())["cp-1"]["k3s_node_labels"]
    assert f"remediator.io/arch={arch}" in labels


def test_applied_labels_keep_the_operators_own_and_the_comments() -> None:
    text = ("all:\n  children:\n    agent:\n      hosts:\n        w-1:\n"
            "          ansible_host: 10.0.0.1  # the attic box\n          k3s_node_labels:\n"
            "            - remediator.io/cpu=large\n        # next\n        w-2:\n")
    edited = inventory.add_labels_text(text, "w-1", ("remediator.io/arch=arm64",
                                                     "remediator.io/cpu=small"))
    assert edited == text.replace("- remediator.io/cpu=large\n",
                                  "- remediator.io/cpu=large\n"
                                  "            - remediator.io/arch=arm64\n")
    assert inventory.add_labels_text(edited, "w-1", ("remediator.io/arch=arm64",)) == edited
    added = inventory.add_labels_text(text, "w-2", ("workload=gpu",))
    assert yaml.safe_load(added)["all"]["children"]["agent"]["hosts"]["w-2"] == {
        "k3s_node_labels": ["workload=gpu"]}
    assert "# next" in added and "# the attic box" in added
