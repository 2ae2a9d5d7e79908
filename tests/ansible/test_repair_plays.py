"""The repair plays of playbooks/repair/, run for real against localhost.

Disk clean-up runs for real inside a temporary directory. Services are
stand-ins (see conftest.FakeNode): the plays really call `systemctl`, `k3s
kubectl`, `k3s crictl` and `journalctl`, which record what they were asked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediator.actions.ansible.playbook import PlaybookRequest, PlaybookResult
from remediator.actions.ansible.runner import run_playbook
from tests.ansible.conftest import PLAYBOOKS, ROLES, FakeNode

pytestmark = pytest.mark.ansible

Inventory = Callable[..., dict[str, Any]]
DAY = 24 * 3600


def repair(playbook: str, hosts: dict[str, Any], *, check: bool = False,
           env: dict[str, str] | None = None, **extravars: Any) -> PlaybookResult:
    return run_playbook(PlaybookRequest(
        project_dir=PLAYBOOKS, playbook=f"repair/{playbook}", inventory=hosts,
        roles_path=[ROLES], check=check, envvars=env or {}, extravars=extravars, timeout=120))


def make_file(path: Path, size: int, age: float = 0) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if age:
        past = time.time() - age
        os.utime(path, (past, past))
    return size


@pytest.fixture
def scratch(tmp_path: Path) -> tuple[Path, int]:
    """A temporary directory with old files (to remove) and fresh ones (to keep)."""
    root = tmp_path / "scratch"
    old = (make_file(root / "old.log", 1000, 2 * DAY)
           + make_file(root / "deep" / "er" / "old.bin", 2345, 3 * DAY)
           + make_file(root / ".hidden-old", 7, 2 * DAY))
    make_file(root / "fresh.log", 500)
    make_file(root / "deep" / "fresh.bin", 11)
    return root, old


def disk_hosts(inventory: Inventory, root: Path, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "repair_disk_temp_paths": [{"path": str(root), "older_than_minutes": 60}],
        "repair_disk_vacuum_journal": False, "repair_disk_prune_images": False}
    return inventory("worker-1", **{**settings, **overrides})


def remaining(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_free_disk_check_mode_reports_and_removes_nothing(scratch: tuple[Path, int],
                                                          inventory: Inventory) -> None:
    root, old_bytes = scratch
    before = remaining(root)
    result = repair("free_disk.yml", disk_hosts(inventory, root), check=True)

    assert result.ok, result.tail
    assert remaining(root) == before
    assert result.stats["bytes_freed_temp"] == old_bytes  # what would be freed
    assert result.stats["files_removed"] == 3


def test_free_disk_removes_old_files_and_reports_bytes_freed(scratch: tuple[Path, int],
                                                             inventory: Inventory) -> None:
    root, old_bytes = scratch
    hosts = disk_hosts(inventory, root)
    result = repair("free_disk.yml", hosts, alert_mountpoint=str(root.parent))

    assert result.ok, result.tail
    assert remaining(root) == {"fresh.log", "deep/fresh.bin"}
    assert result.stats["bytes_freed_temp"] == old_bytes
    assert result.stats["bytes_freed"] == old_bytes
    assert result.stats["files_removed"] == 3
    assert result.stats["bytes_available_after"] > 0
    assert result.recap["worker-1"].changed == 1

    again = repair("free_disk.yml", hosts)  # idempotent: nothing left to remove
    assert again.ok
    assert again.recap["worker-1"].changed == 0
    assert again.stats["bytes_freed"] == 0


def test_free_disk_vacuums_the_journal_and_prunes_images(tmp_path: Path, fake_node: FakeNode,
                                                         inventory: Inventory) -> None:
    journal = fake_node.root / "journal"
    archived = make_file(journal / "system@1.journal~", 4096)
    make_file(journal / "system.journal", 1024)
    (fake_node.root / "images.used").write_text("1000\n")
    hosts = disk_hosts(inventory, tmp_path / "empty", repair_disk_vacuum_journal=True,
                       repair_disk_journal_dir=str(journal), repair_disk_prune_images=True)
    (tmp_path / "empty").mkdir()

    result = repair("free_disk.yml", hosts, env=fake_node.env())

    assert result.ok, result.tail
    assert "journalctl --vacuum-size=200M" in fake_node.calls
    assert "k3s crictl rmi --prune" in fake_node.calls
    assert result.stats["bytes_freed_journal"] == archived
    assert result.stats["bytes_freed_images"] == 600
    assert result.stats["bytes_freed"] == archived + 600


@pytest.mark.parametrize("path", ["/etc", "/var/lib/rancher/k3s/", "relative/dir",
                                  "/tmp/../etc", "/tmp/x'; reboot; '"])
def test_free_disk_refuses_protected_or_odd_paths(path: str, inventory: Inventory) -> None:
    hosts = inventory("worker-1", repair_disk_temp_paths=[{"path": path,
                                                           "older_than_minutes": 0}],
                      repair_disk_vacuum_journal=False, repair_disk_prune_images=False)
    result = repair("free_disk.yml", hosts)

    assert result.status == "failed"
    assert result.failures[0].task == "Check the paths to clean"


def test_restart_k3s_check_mode_restarts_nothing(fake_node: FakeNode,
                                                 inventory: Inventory) -> None:
    fake_node.install_unit("k3s-agent")
    hosts = inventory("worker-1", repair_service_unit_dirs=[str(fake_node.units)])
    result = repair("restart_k3s.yml", hosts, check=True, env=fake_node.env())

    assert result.ok, result.tail
    assert result.recap["worker-1"].changed == 1  # would restart
    assert not any(call.startswith(("systemctl start", "systemctl restart"))
                   for call in fake_node.calls)
    assert fake_node.state("k3s-agent") == "failed"


def test_restart_k3s_starts_the_agent_and_waits_for_ready(fake_node: FakeNode,
                                                          inventory: Inventory) -> None:
    fake_node.install_unit("k3s-agent")
    hosts = inventory("worker-1", repair_service_unit_dirs=[str(fake_node.units)],
                      repair_service_ready_delay=0)
    result = repair("restart_k3s.yml", hosts, env=fake_node.env())

    assert result.ok, result.tail
    assert fake_node.state("k3s-agent") == "active"
    probe = ("k3s kubectl get node worker-1 "
             "--output=jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")
    assert fake_node.calls == [probe, "systemctl show k3s-agent", "systemctl start k3s-agent",
                               probe]
    assert result.stats["repaired_units"] == ["worker-1:k3s-agent"]

    again = repair("restart_k3s.yml", hosts, env=fake_node.env())  # a Ready node: left alone
    assert again.ok
    assert again.recap["worker-1"].changed == 0
    assert again.stats["repaired_units"] == []


def test_restart_k3s_without_k3s_fails_clearly(fake_node: FakeNode,
                                               inventory: Inventory) -> None:
    hosts = inventory("worker-1", repair_service_unit_dirs=[str(fake_node.units)])
    result = repair("restart_k3s.yml", hosts, env=fake_node.env())

    assert result.status == "failed"
    assert "None of k3s, k3s-agent is installed on worker-1" in result.failures[0].message


def test_restart_container_runtime_prefers_containerd(fake_node: FakeNode,
                                                      inventory: Inventory) -> None:
    fake_node.install_unit("k3s")
    fake_node.install_unit("containerd")
    fake_node.set_state("k3s", "inactive")
    hosts = inventory("cp-1", repair_service_unit_dirs=[str(fake_node.units)],
                      repair_service_ready_delay=0)
    result = repair("restart_container_runtime.yml", hosts, env=fake_node.env())

    assert result.ok, result.tail
    assert "systemctl start containerd" in fake_node.calls
    assert fake_node.state("k3s") == "inactive"
    assert fake_node.calls[-1] == "k3s crictl info"

    again = repair("restart_container_runtime.yml", hosts, env=fake_node.env())
    assert again.recap["cp-1"].changed == 0
