"""`remediator cluster status`: the inventory, joined with the cluster API (kmock's emulator)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml
from typer.testing import CliRunner

from remediator.cluster import status
from remediator.cluster.cli import app

EXAMPLE = (Path(__file__).resolve().parents[2] / "playbooks" / "inventory"
           / "hosts.example.yml").read_text()
NODES = "v1/nodes"
runner = CliRunner()


def node(name: str, *, ready: bool = True, version: str = "v1.31.4+k3s1", gpus: int = 0,
         server: bool = False, cordoned: bool = False) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name}
    if server:
        labels |= {"node-role.kubernetes.io/control-plane": "true",
                   "node-role.kubernetes.io/etcd": "true"}
    allocatable = {"cpu": "4"} | ({"nvidia.com/gpu": str(gpus)} if gpus else {})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "resourceVersion": "1"},
            "spec": {"unschedulable": True} if cordoned else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "nodeInfo": {"kubeletVersion": version}, "allocatable": allocatable}}


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(EXAMPLE)
    return path


def kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "k3s",
        "clusters": [{"name": "k3s", "cluster": {"server": server}}],
        "users": [{"name": "admin", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "k3s", "context": {"cluster": "k3s", "user": "admin"}}]}))
    return path


def status_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["status", "--json", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in report["nodes"]}


async def test_status_joins_the_inventory_with_the_cluster_api(
        kmock: kmock.KubernetesEmulator, inventory_file: Path, tmp_path: Path) -> None:
    for obj in (node("cp-1", server=True), node("cp-2", server=True),
                node("cp-3", server=True, ready=False),
                node("worker-1", version="v1.32.1+k3s1", cordoned=True),
                node("gpu-1", gpus=2), node("stray-9")):
        kmock.objects[NODES, None, obj["metadata"]["name"]] = obj
    config = kubeconfig(tmp_path, str(kmock.url).rstrip("/"))
    report = await asyncio.to_thread(status_json, "--inventory", str(inventory_file),
                                     "--kubeconfig", str(config))
    assert report["source"] == f"cluster API via {config}"
    found = rows(report)
    assert list(found) == ["cp-1", "cp-2", "cp-3", "worker-1", "workstation-1", "gpu-1",
                           "stray-9"]
    assert found["cp-1"]["role"] == "server"
    assert found["cp-1"]["address"] == "100.64.0.1" and found["cp-1"]["ready"] is True
    assert found["cp-3"]["ready"] is False
    assert found["worker-1"]["version"] == "v1.32.1+k3s1" and found["worker-1"]["cordoned"]
    assert found["gpu-1"]["gpus"] == 2 and found["gpu-1"]["gpu_wanted"]
    assert found["workstation-1"]["in_cluster"] is False
    assert found["stray-9"]["in_inventory"] is False and found["stray-9"]["role"] == "agent"


async def test_status_table_names_what_needs_attention(
        kmock: kmock.KubernetesEmulator, inventory_file: Path, tmp_path: Path) -> None:
    kmock.objects[NODES, None, "gpu-1"] = node("gpu-1", ready=False)
    config = kubeconfig(tmp_path, str(kmock.url).rstrip("/"))
    result = await asyncio.to_thread(runner.invoke, app, [
        "status", "--inventory", str(inventory_file), "--kubeconfig", str(config)],
        env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "gpu-1" in line)
    assert "NotReady" in line and "k3s_gpu set, no nvidia.com/gpu" in line
    assert "not in the cluster" in next(line for line in result.output.splitlines()
                                        if "cp-1" in line)


def test_status_without_a_kubeconfig_shows_the_inventory(inventory_file: Path,
                                                         tmp_path: Path) -> None:
    report = status_json("--inventory", str(inventory_file),
                         "--kubeconfig", str(tmp_path / "absent"))
    assert report["source"].startswith("no kubeconfig at")
    found = rows(report)
    assert found["gpu-1"] == {"name": "gpu-1", "role": "agent", "address": "100.64.0.21",
                              "gpu_wanted": True, "in_inventory": True, "in_cluster": None,
                              "ready": None, "version": None, "gpus": None, "cordoned": None}


def test_status_with_an_api_that_does_not_answer_says_so(inventory_file: Path,
                                                         tmp_path: Path) -> None:
    config = kubeconfig(tmp_path, "https://127.0.0.1:1")
    report = status_json("--inventory", str(inventory_file), "--kubeconfig", str(config))
    assert report["source"].startswith(f"cluster API not reachable via {config}")
    assert len(report["nodes"]) == 6


def test_api_node_reads_the_client_dict_shape() -> None:
    parsed = status.api_node({"metadata": {"name": "n", "labels": {
        "node-role.kubernetes.io/control-plane": "true"}},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                   "node_info": {"kubelet_version": "v1.31.4+k3s1"},
                   "allocatable": {"nvidia.com/gpu": "x"}}})
    assert parsed == status.ApiNode(name="n", ready=False, version="v1.31.4+k3s1",
                                    roles=("control-plane",), gpus=0)


def test_status_without_an_inventory_says_to_copy_the_example(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first `cluster status` in a fresh checkout: there is only the example."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert ("inventory playbooks/inventory/hosts.yml not found: copy "
            "playbooks/inventory/hosts.example.yml to playbooks/inventory/hosts.yml") in message
    assert "Traceback" not in result.output
