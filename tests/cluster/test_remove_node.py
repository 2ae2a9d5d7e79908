"""`remediator cluster remove-node`: playbooks/remove_node.yml run for real against a fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from remediator.cluster import inventory as inv
from remediator.cluster.cli import app
from tests.cluster.conftest import OLD, REPO, WriteInventory
from tests.cluster.fake_k3s import Fleet

pytestmark = pytest.mark.ansible

runner = CliRunner()
# An address where nothing listens: ssh to it is refused, so Ansible finds the host unreachable.
UNREACHABLE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9,
               "ansible_ssh_common_args": "-o ConnectTimeout=2 -o BatchMode=yes"}


def build(fleet: Fleet, fleet_inventory: WriteInventory,
          host_vars: dict[str, dict[str, object]] | None = None) -> Path:
    for node in ("cp-1", "worker-1", "worker-2"):
        fleet.add_node(node, OLD)
    return fleet_inventory(servers=["cp-1"], agents=["worker-1", "worker-2"],
                           host_vars=host_vars)


def remove(inventory: Path, *more: str) -> tuple[int, str]:
    result = runner.invoke(app, ["remove-node", "worker-1", "--inventory", str(inventory),
                                 "--playbook-dir", str(REPO / "playbooks"), *more])
    return result.exit_code, " ".join(result.output.split())


def hosts(path: Path) -> set[str]:
    return set(inv.hosts(path.read_text()))


def test_remove_node_drains_uninstalls_deletes_and_edits_the_inventory(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    inventory = build(fleet, fleet_inventory)
    code, output = remove(inventory, "--drain-timeout", "90s")
    assert code == 0, output
    calls = fleet.calls
    drain = calls.index("kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data "
                        "--timeout=90s")
    uninstall = calls.index("uninstall worker-1 k3s-agent-uninstall.sh")
    delete = calls.index("kubectl delete node worker-1 --ignore-not-found")
    assert drain < uninstall < delete
    assert fleet.deleted("worker-1") and not fleet.installed("worker-1")
    assert fleet.installed("worker-2") and not fleet.deleted("worker-2")
    assert hosts(inventory) == {"cp-1", "worker-2"}
    assert "removed worker-1" in output


def test_a_drain_blocked_by_a_disruption_budget_removes_nothing_unless_forced(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    inventory = build(fleet, fleet_inventory)
    (fleet.bin_dir("worker-1").parent / "drain-blocked").touch()
    code, output = remove(inventory)
    assert code == 1
    assert "The drain of worker-1 did not finish" in output
    assert "disruption budget" in output and "--force" in output
    assert fleet.installed("worker-1") and not fleet.deleted("worker-1")
    assert "worker-1" in hosts(inventory)

    code, output = remove(inventory, "--force")
    assert code == 0, output
    assert fleet.deleted("worker-1") and not fleet.installed("worker-1")
    assert "worker-1" not in hosts(inventory)


def test_an_unreachable_node_is_named_and_kept_unless_forced(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    inventory = build(fleet, fleet_inventory, host_vars={"worker-1": UNREACHABLE})
    code, output = remove(inventory)
    assert code == 1
    assert "worker-1 is unreachable" in output
    assert not fleet.deleted("worker-1") and "worker-1" in hosts(inventory)

    code, output = remove(inventory, "--force")
    assert code == 0, output
    assert fleet.deleted("worker-1")
    assert fleet.installed("worker-1")  # never reached: K3s is still there
    assert "worker-1" not in hosts(inventory)


def test_the_last_server_is_not_removed(fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    inventory = build(fleet, fleet_inventory)
    result = runner.invoke(app, ["remove-node", "cp-1", "--inventory", str(inventory),
                                 "--playbook-dir", str(REPO / "playbooks")])
    assert result.exit_code == 1
    assert "cp-1 is the last server" in " ".join(result.output.split())
    assert fleet.calls == [] and "cp-1" in hosts(inventory)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["worker-9"], "not in the inventory", id="unknown"),
    pytest.param(["worker-1", "--drain-timeout", "5 minutes"], "not a duration", id="timeout"),
])
def test_bad_input_is_refused_before_any_play(fleet: Fleet, fleet_inventory: WriteInventory,
                                              args: list[str], message: str) -> None:
    inventory = build(fleet, fleet_inventory)
    before = inventory.read_text()
    result = runner.invoke(app, ["remove-node", *args, "--inventory", str(inventory)])
    assert result.exit_code == 1 and message in result.output
    assert fleet.calls == [] and inventory.read_text() == before
    assert yaml.safe_load(before)
