"""playbooks/gpu_check.yml (the k3s_gpu role's readiness check) run for real against a fake fleet."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from remediator.actions.ansible.playbook import PlaybookRequest, PlaybookResult
from remediator.actions.ansible.runner import run_playbook
from remediator.cluster.provision import failure_summary
from tests.cluster.conftest import OLD, REPO, WriteInventory
from tests.cluster.fake_k3s import Fleet

pytestmark = pytest.mark.ansible

FAST = {"k3s_gpu_check_retries": 2, "k3s_gpu_check_delay": 0, "k3s_gpu_check_timeout": "5s"}


def check(inventory: Path, fleet: Fleet) -> PlaybookResult:
    return run_playbook(PlaybookRequest(
        project_dir=REPO / "playbooks", playbook="gpu_check.yml", inventory=inventory,
        roles_path=[REPO / "roles"], envvars=fleet.env(), timeout=120))


def gpu_inventory(fleet: Fleet, fleet_inventory: WriteInventory,
                  gpu_nodes: dict[str, Path | None]) -> Path:
    for node in ("cp-1", *gpu_nodes):
        fleet.add_node(node, OLD)
    host_vars = {node: {"k3s_gpu": True,
                        "k3s_gpu_nvidia_smi": str(smi or fleet.root / "absent" / "nvidia-smi")}
                 for node, smi in gpu_nodes.items()}
    return fleet_inventory(servers=["cp-1"], agents=list(gpu_nodes), host_vars=host_vars, **FAST)


def test_a_usable_gpu_is_advertised_and_runs_a_test_pod(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    fleet.root.joinpath("nodes", "gpu-1").mkdir(parents=True)
    smi = fleet.add_gpu("gpu-1")
    result = check(gpu_inventory(fleet, fleet_inventory, {"gpu-1": smi}), fleet)
    assert result.ok, failure_summary(result)
    pod = (fleet.root / "applied.yaml").read_text()
    assert "nodeName: gpu-1" in pod and "nvidia.com/gpu: 1" in pod
    assert "runtimeClassName: nvidia" in pod
    assert any(call.startswith("kubectl delete --namespace=kube-system pod/gpu-check-gpu-1")
               for call in fleet.calls)
    assert result.recap["cp-1"].failed == 0


def test_a_node_without_a_gpu_says_no_gpu_at_once(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    inventory = gpu_inventory(fleet, fleet_inventory, {"gpu-1": None})
    started = time.monotonic()
    result = check(inventory, fleet)
    assert not result.ok
    [failure] = result.failures
    assert failure.host == "gpu-1"
    assert failure.message.startswith("no GPU: gpu-1 has k3s_gpu set but nvidia-smi finds no GPU")
    assert not any(call.startswith(("kubectl apply", "kubectl get node")) for call in fleet.calls)
    assert time.monotonic() - started < 60


def test_a_gpu_not_advertised_names_the_device_plugin(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    fleet.root.joinpath("nodes", "gpu-1").mkdir(parents=True)
    smi = fleet.add_gpu("gpu-1", advertised=False)
    result = check(gpu_inventory(fleet, fleet_inventory, {"gpu-1": smi}), fleet)
    [failure] = result.failures
    assert "does not advertise nvidia.com/gpu" in failure.message
    assert "nvidia-device-plugin" in failure.message


def test_a_pod_that_cannot_use_the_gpu_fails_within_the_timeout_and_is_removed(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    fleet.root.joinpath("nodes", "gpu-1").mkdir(parents=True)
    smi = fleet.add_gpu("gpu-1")
    (fleet.root / "nodes" / "gpu-1" / "pod-fails").touch()
    result = check(gpu_inventory(fleet, fleet_inventory, {"gpu-1": smi}), fleet)
    [failure] = result.failures
    assert "GPU not usable from pods on gpu-1" in failure.message
    assert "timed out" in failure.message
    assert any(call.startswith("kubectl delete --namespace=kube-system pod/gpu-check-gpu-1")
               for call in fleet.calls)


def test_an_inventory_without_gpu_nodes_says_so(
        fleet: Fleet, fleet_inventory: WriteInventory) -> None:
    fleet.add_node("cp-1", OLD)
    result = check(fleet_inventory(servers=["cp-1"], agents=[]), fleet)
    assert result.ok
    assert any("no GPU: no node of the inventory has k3s_gpu: true" in line
               for line in result.tail), result.tail
