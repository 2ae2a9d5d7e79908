"""The inventory's hosts as Ansible's own parser reads them (groups are not hosts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.actions.ansible.inventory import InventoryUnreadable, inventory_hosts
from tests.ansible.conftest import PLAYBOOKS


def test_the_example_inventory_lists_hosts_not_groups() -> None:
    hosts = inventory_hosts(PLAYBOOKS / "inventory" / "hosts.example.yml")
    assert "worker-1" in hosts
    assert not hosts & {"all", "server", "agent", "ungrouped", "localhost"}


def test_an_ini_inventory_and_a_mapping_read_the_same(tmp_path: Path) -> None:
    ini = tmp_path / "hosts.ini"
    ini.write_text("[workers]\nworker-1\nworker-2 ansible_host=10.0.0.2\n[db]\ndb-1\n")
    mapping = {"all": {"children": {"workers": {"hosts": {"worker-1": {}, "worker-2": {}}},
                                    "db": {"hosts": {"db-1": {}}}}}}
    assert inventory_hosts(ini) == inventory_hosts(mapping) == {"worker-1", "worker-2", "db-1"}


def test_a_missing_inventory_is_an_error_that_names_it(tmp_path: Path) -> None:
    with pytest.raises(InventoryUnreadable, match="does not exist"):
        inventory_hosts(tmp_path / "nope.yml")
