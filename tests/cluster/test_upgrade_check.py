"""`remediator cluster upgrade --check`: the per-node plan, from upgrade.yml in check mode.

The play runs for real against the fake fleet (fake_k3s.py); the current
versions come from the cluster API, kmock's emulator behind a kubeconfig.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import kmock
import pytest
from typer.testing import CliRunner

from remediator.cluster.cli import app
from tests.cluster.conftest import NEW, OLD, REPO, WriteInventory
from tests.cluster.fake_k3s import Fleet
from tests.cluster.test_status import NODES, kubeconfig, node

pytestmark = pytest.mark.ansible

runner = CliRunner()
NEWER = "v1.33.0+k3s1"


def check(inventory: Path, *more: str) -> tuple[int, str]:
    result = runner.invoke(app, ["upgrade", "--version", NEW, "--check", "--inventory",
                                 str(inventory), "--playbook-dir", str(REPO / "playbooks"),
                                 *more], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def plan(output: str) -> dict[str, list[str]]:
    """The plan table's rows by node: step, node, role, current, target, action, reason."""
    start = output.index("upgrade plan to")
    rows = {}
    for line in output[start:].splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 7 and cells[1] not in ("", "node"):
            rows[cells[1]] = cells
    return rows


async def test_the_plan_names_each_node_its_versions_and_action_in_order(
        kmock: kmock.KubernetesEmulator, fleet: Fleet, fleet_inventory: WriteInventory,
        tmp_path: Path) -> None:
    for name, version in (("cp-1", OLD), ("worker-1", NEW), ("worker-2", OLD),
                          ("worker-3", NEWER)):
        fleet.add_node(name, version)
        kmock.objects[NODES, None, name] = node(name, version=version, server=name == "cp-1")
    fleet.publish(NEW)
    inventory = fleet_inventory(servers=["cp-1"], agents=["worker-1", "worker-2", "worker-3"])
    config = kubeconfig(tmp_path, str(kmock.url).rstrip("/"))

    code, output = await asyncio.to_thread(check, inventory, "--kubeconfig", str(config))

    assert code == 0, output
    assert f"upgrade plan to {NEW}: servers first, then agents, one node at a time" in output
    assert f"cluster API via {config}" in " ".join(output.split())
    assert list(plan(output).values()) == [
        ["1", "cp-1", "server", OLD, NEW, "upgrade", ""],
        ["-", "worker-1", "agent", NEW, NEW, "already at target", ""],
        ["2", "worker-2", "agent", OLD, NEW, "upgrade", ""],
        ["3", "worker-3", "agent", NEWER, NEW, "upgrade",
         "a downgrade: the node runs a newer release"]]
    assert [fleet.running(name) for name in ("cp-1", "worker-1", "worker-2", "worker-3")] == [
        OLD, NEW, OLD, NEWER]
    assert not any(call.startswith(("kubectl drain", "systemctl")) for call in fleet.calls)


def test_without_the_api_the_plan_still_says_what_happens_and_limit_skips(
        fleet: Fleet, fleet_inventory: WriteInventory, tmp_path: Path) -> None:
    for name, version in (("cp-1", OLD), ("cp-2", NEW), ("worker-1", OLD)):
        fleet.add_node(name, version)
    fleet.publish(NEW)
    inventory = fleet_inventory(servers=["cp-1", "cp-2"], agents=["worker-1"])

    code, output = check(inventory, "--kubeconfig", str(tmp_path / "absent"),
                         "--limit", "cp-2,worker-1")

    assert code == 0, output
    assert "no kubeconfig at" in output
    assert list(plan(output).values()) == [
        ["-", "cp-1", "server", "?", NEW, "skipped", "not in --limit"],
        ["-", "cp-2", "server", NEW, NEW, "already at target", ""],
        ["1", "worker-1", "agent", "?", NEW, "upgrade", ""]]
    assert fleet.running("worker-1") == OLD


def test_a_node_that_cannot_be_upgraded_is_skipped_with_the_reason(
        fleet: Fleet, fleet_inventory: WriteInventory, tmp_path: Path) -> None:
    """worker-1 was never provisioned: the check stops there and says why; exit 1."""
    fleet.add_node("cp-1", OLD)
    fleet.add_node("worker-2", OLD)
    fleet.publish(NEW)
    inventory = fleet_inventory(servers=["cp-1"], agents=["worker-1", "worker-2"])

    code, output = check(inventory, "--kubeconfig", str(tmp_path / "absent"))

    assert code == 1
    rows = plan(output)
    assert rows["cp-1"][5] == "upgrade" and rows["cp-1"][0] == "1"
    assert rows["worker-1"][5] == "skipped"
    assert rows["worker-1"][6].startswith("failed at 'Check that K3s was staged by k3s_prereq'")
    assert rows["worker-2"][5:] == ["skipped", "not reached: the run stopped at an earlier node"]
    assert "check of the upgrade to" in output and fleet.running("cp-1") == OLD
