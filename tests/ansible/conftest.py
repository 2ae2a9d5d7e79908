"""Fixtures for real ansible-runner runs against localhost (ansible_connection: local).

Nothing here touches the host outside pytest's temporary directories: plays
write into `tmp_path`, and services are stand-ins (`systemctl`, `k3s`,
`journalctl` scripts put first in the PATH of the run) that record their
arguments and keep their state in a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
ROLES = REPO / "roles"
PROJECT = Path(__file__).resolve().parent / "project"
VENV_BIN = Path(sys.executable).parent


def tool_env(home: Path) -> dict[str, str]:
    """Environment for ansible-lint, molecule, ansible-playbook run as subprocesses."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "MOLECULE_", "REMEDIATOR_"))}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", os.defpath)])
    env["HOME"] = str(home)
    env["ANSIBLE_NOCOLOR"] = "1"
    env["NO_COLOR"] = "1"
    env["ANSIBLE_LOCAL_TEMP"] = str(home / "ansible-tmp")
    env["ANSIBLE_REMOTE_TEMP"] = str(home / "ansible-tmp")
    return env


@pytest.fixture
def inventory(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Build an inventory of local hosts: inventory("worker-1", repair_x=...)."""
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()

    def build(*names: str, groups: dict[str, list[str]] | None = None,
              **host_vars: Any) -> dict[str, Any]:
        base = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "ansible_become": False, "ansible_remote_tmp": str(remote_tmp)}
        hosts = {name: {**base, **host_vars} for name in names or ("localhost",)}
        children = {group: {"hosts": {name: {} for name in members}}
                    for group, members in (groups or {}).items()}
        return {"all": {"hosts": hosts, "children": children}}

    return build


@dataclass
class FakeNode:
    """Stand-ins for systemctl, k3s (kubectl, crictl) and journalctl, with their state."""

    root: Path
    bin: Path
    units: Path

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def state(self, unit: str) -> str:
        path = self.root / f"{unit}.state"
        return path.read_text().strip() if path.exists() else "failed"

    def set_state(self, unit: str, state: str) -> None:
        (self.root / f"{unit}.state").write_text(state + "\n")

    def install_unit(self, unit: str) -> None:
        (self.units / f"{unit}.service").write_text("[Service]\nExecStart=/bin/true\n")

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(self.bin), str(VENV_BIN), os.environ.get("PATH", os.defpath)])
        return {"PATH": path, "FAKE_NODE_DIR": str(self.root)}


_SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl: records its arguments; one state file per unit.
dir="${FAKE_NODE_DIR:?}"
echo "systemctl $*" >> "$dir/calls.log"
case "$1" in
  show)
    state=$(cat "$dir/$2.state" 2>/dev/null || echo failed)
    printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=%s\\nSubState=%s\\n' "$2" "$state" "$state"
    ;;
  start|restart) echo active > "$dir/$2.state" ;;
  stop) echo inactive > "$dir/$2.state" ;;
esac
exit 0
"""

_K3S = """#!/bin/sh
# Stand-in for k3s: `kubectl get node` answers True once a k3s unit is active;
# `crictl info` answers once a runtime unit is active; images are measured in a file.
dir="${FAKE_NODE_DIR:?}"
echo "k3s $*" >> "$dir/calls.log"
active() { for unit in "$@"; do
  [ "$(cat "$dir/$unit.state" 2>/dev/null)" = active ] && return 0; done; return 1; }
case "$1 $2" in
  "kubectl get")
    if active k3s k3s-agent; then echo True; else echo False; fi ;;
  "crictl info")
    active containerd k3s k3s-agent || { echo "runtime not ready" >&2; exit 1; }
    echo '{"status": {"conditions": []}}' ;;
  "crictl imagefsinfo")
    used=$(cat "$dir/images.used" 2>/dev/null || echo 0)
    printf '{"status": {"imageFilesystems": [{"usedBytes": {"value": "%s"}}]}}\\n' "$used" ;;
  "crictl rmi")
    echo "Deleted: docker.io/library/old:1"; echo 400 > "$dir/images.used" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""

_JOURNALCTL = """#!/bin/sh
# Stand-in for journalctl --vacuum-size: removes the archived journal files of the test.
dir="${FAKE_NODE_DIR:?}"
echo "journalctl $*" >> "$dir/calls.log"
rm -f "$dir"/journal/*.journal~
echo "Vacuuming done, freed 1.0K of archived journals." >&2
"""


@pytest.fixture
def fake_node(tmp_path: Path) -> FakeNode:
    root = tmp_path / "fake-node"
    node = FakeNode(root=root, bin=root / "bin", units=root / "units")
    node.bin.mkdir(parents=True)
    node.units.mkdir()
    for name, script in (("systemctl", _SYSTEMCTL), ("k3s", _K3S),
                         ("journalctl", _JOURNALCTL)):
        path = node.bin / name
        path.write_text(script)
        path.chmod(0o755)
    return node


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie left for an absent init to reap counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
