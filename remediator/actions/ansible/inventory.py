"""The hosts of an Ansible inventory, as Ansible itself reads it.

A `limit` rendered from an alert label must name exactly one host of the
inventory: `all`, a group, `localhost` (when not in the inventory) or a
pattern would run a repair play on more than the alert is about. Asking
Ansible's own inventory parser (not a hostname regex) means every inventory
format Ansible accepts (YAML, INI, directories, plugins) gives the same
answer as the play will see.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class InventoryUnreadable(ValueError):
    """The inventory cannot be parsed; the message says why."""


def inventory_hosts(source: Path | Mapping[str, Any]) -> frozenset[str]:
    """Every host name in the inventory file, directory or mapping."""
    if isinstance(source, Mapping):
        with tempfile.TemporaryDirectory(prefix="remediator-inventory-") as directory:
            path = Path(directory) / "inventory.yml"
            path.write_text(json.dumps(dict(source)), encoding="utf-8")  # JSON is YAML
            return _parse(path)
    return _parse(Path(source))


def _parse(path: Path) -> frozenset[str]:
    if not path.exists():
        raise InventoryUnreadable(f"inventory {path} does not exist")
    from ansible.inventory.manager import (  # type: ignore[import-untyped]  # ~0.3 s
        InventoryManager,
    )
    from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]

    try:
        manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
    except Exception as error:  # Ansible raises its own error types for every format
        raise InventoryUnreadable(f"inventory {path}: {error}") from None
    hosts: dict[str, Any] = manager.hosts
    return frozenset(str(name) for name in hosts)
