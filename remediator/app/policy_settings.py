"""Build the engine's `Policy` from `Settings`.

Kept out of `policy.py` so the decision core imports no configuration:
the engine and guards see a small frozen value, never the environment.
"""

from __future__ import annotations

import logging

from remediator.app.settings import Settings
from remediator.model.policy import Policy

log = logging.getLogger(__name__)


def policy_from_settings(settings: Settings, *, executable: frozenset[str] | None = None,
                         inventory_hosts: frozenset[str] | None = None) -> Policy:
    return Policy(
        inventory_hosts=inventory_hosts,
        dry_run=settings.dry_run,
        executable=executable,
        allowed_namespaces=frozenset(settings.allowed_namespaces),
        denied_namespaces=frozenset(settings.denied_namespaces),
        global_rate_max=settings.global_rate_max,
        global_rate_per=settings.global_rate_per,
        breaker_max_actions=settings.breaker_max_actions,
        breaker_max_failures=settings.breaker_max_failures,
        breaker_window=settings.breaker_window,
        breaker_cooldown=settings.breaker_cooldown,
    )


def read_inventory_hosts(settings: Settings) -> frozenset[str] | None:
    """The inventory's hosts (None: no inventory). An unreadable inventory
    gives no hosts, so every limit from labels is denied, with a warning."""
    if settings.ansible_inventory is None:
        return None
    from remediator.actions.ansible.inventory import InventoryUnreadable, inventory_hosts

    try:
        return inventory_hosts(settings.ansible_inventory)
    except InventoryUnreadable as error:
        log.warning("%s: plays with a limit from labels will be denied", error)
        return frozenset()
