"""`remediator cluster upgrade`: playbooks/upgrade.yml run for real against a fake fleet."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from remediator.cluster.cli import app
from tests.cluster.conftest import NEW, OLD, REPO, WriteInventory
from tests.cluster.fake_k3s import Fleet

pytestmark = pytest.mark.ansible

runner = CliRunner()
NODES = ("cp-1", "worker-1", "worker-2")


@pytest.fixture
def three_nodes(fleet: Fleet, fleet_inventory: WriteInventory) -> list[str]:
    for node in NODES:
        fleet.add_node(node, OLD)
    fleet.publish(NEW)
    inventory = fleet_inventory(servers=["cp-1"], agents=["worker-1", "worker-2"])
    return ["--inventory", str(inventory), "--playbook-dir", str(REPO / "playbooks")]


def upgrade(args: list[str], *more: str) -> tuple[int, str]:
    result = runner.invoke(app, ["upgrade", "--version", NEW, *args, *more])
    return result.exit_code, result.output


def steps(fleet: Fleet) -> list[str]:
    """The drains, restarts and uncordons in the order they happened."""
    keep = re.compile(r"^(kubectl (drain|uncordon) \S+|systemctl restart \S+)")
    return [match.group(0) for call in fleet.calls if (match := keep.match(call))]


def test_upgrade_goes_node_by_node_and_a_second_run_changes_nothing(
        fleet: Fleet, three_nodes: list[str]) -> None:
    code, output = upgrade(three_nodes)
    assert code == 0, output
    assert steps(fleet) == [
        "kubectl drain cp-1", "systemctl restart k3s", "kubectl uncordon cp-1",
        "kubectl drain worker-1", "systemctl restart k3s-agent", "kubectl uncordon worker-1",
        "kubectl drain worker-2", "systemctl restart k3s-agent", "kubectl uncordon worker-2"]
    assert all(fleet.running(node) == NEW for node in NODES)
    assert "kubectl get --raw /readyz/etcd" in fleet.calls  # the server's etcd gate
    assert "recap: successful" in output

    before = len(fleet.calls)
    code, output = upgrade(three_nodes)
    assert code == 0, output
    assert steps(fleet)[9:] == [] and len(fleet.calls) == before
    assert re.search(r"cp-1\s+│\s+\d+\s+│\s+0\s+│", output), output  # changed=0


def test_a_node_failing_its_health_gate_is_rolled_back_and_the_run_stops(
        fleet: Fleet, three_nodes: list[str]) -> None:
    fleet.break_version("worker-1", NEW)
    code, output = upgrade(three_nodes)
    assert code == 1
    assert fleet.running("cp-1") == NEW
    assert fleet.running("worker-1") == OLD  # the previous binary is back
    assert fleet.running("worker-2") == OLD  # never reached
    assert steps(fleet)[3:] == [
        "kubectl drain worker-1", "systemctl restart k3s-agent",  # the new binary
        "systemctl restart k3s-agent", "kubectl uncordon worker-1"]  # the old one again
    assert "worker-1: failed at task 'Stop the upgrade before the next node'" in output
    assert f"Rolled back to k3s-{OLD}" in " ".join(output.split())
    assert "drain worker-2" not in " ".join(fleet.calls)


def test_a_drain_blocked_by_a_disruption_budget_stops_before_the_swap(
        fleet: Fleet, three_nodes: list[str]) -> None:
    (fleet.bin_dir("cp-1").parent / "drain-blocked").touch()
    code, output = upgrade(three_nodes)
    assert code == 1
    assert fleet.running("cp-1") == OLD
    assert "disruption budget" in " ".join(output.split())
    assert not any(call.startswith("kubectl drain worker") for call in fleet.calls)


def test_check_mode_says_what_would_change_and_changes_nothing(
        fleet: Fleet, three_nodes: list[str]) -> None:
    code, output = upgrade(three_nodes, "--check")
    assert code == 0, output
    assert all(fleet.running(node) == OLD for node in NODES)
    assert steps(fleet) == []
    for step, node in enumerate(NODES, start=1):  # the plan, not a row of 'skipped'
        assert re.search(rf"│ {step}\s+│ {node}\s+│.*│ upgrade\s+│", output), output


@pytest.mark.parametrize("version", ["latest", "v1.32", "v1.32.1; reboot", "../v1.2.3"])
def test_a_bad_version_is_refused_before_any_play(fleet: Fleet, three_nodes: list[str],
                                                  version: str) -> None:
    result = runner.invoke(app, ["upgrade", "--version", version, *three_nodes])
    assert result.exit_code == 2
    assert "is not a K3s release" in result.output
    assert fleet.calls == []
