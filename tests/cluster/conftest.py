"""A fake fleet of local hosts (see fake_k3s.py) and an inventory file for it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.fake_k3s import Fleet, make_fleet

OLD = "v1.31.4+k3s1"
NEW = "v1.32.1+k3s1"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The fleet's stand-ins first in the PATH that ansible-runner passes on to the plays."""
    built = make_fleet(tmp_path / "fleet")
    for key, value in built.env().items():
        monkeypatch.setenv(key, value)
    return built


WriteInventory = Callable[..., Path]


@pytest.fixture
def fleet_inventory(tmp_path: Path, fleet: Fleet) -> WriteInventory:
    """inventory(servers=[...], agents=[...], host_vars={...}, **vars): local hosts of the fleet."""

    def write(servers: list[str], agents: list[str],
              host_vars: dict[str, dict[str, Any]] | None = None, **group_vars: Any) -> Path:
        remote_tmp = tmp_path / "remote-tmp"
        remote_tmp.mkdir(exist_ok=True)
        variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "ansible_become": False, "ansible_remote_tmp": str(remote_tmp),
                     "k3s_release_url": fleet.mirror,
                     "k3s_install_script_url": f"{fleet.mirror}/install.sh",
                     "k3s_upgrade_ready_retries": 2, "k3s_upgrade_ready_delay": 0,
                     **group_vars}

        def hosts(names: list[str]) -> dict[str, Any]:
            return {name: {"k3s_upgrade_bin_dir": str(fleet.bin_dir(name)),
                           "k3s_prereq_bin_dir": str(fleet.bin_dir(name)),
                           "k3s_bin_dir": str(fleet.bin_dir(name)),
                           **(host_vars or {}).get(name, {})} for name in names}

        inventory = {"all": {"children": {"k3s_cluster": {
            "vars": variables,
            "children": {"server": {"hosts": hosts(servers)},
                         "agent": {"hosts": hosts(agents)}}}}}}
        path = tmp_path / "hosts.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return path

    return write
