"""The global guard settings the engine needs, separated from `Settings`.

The engine is pure: it receives this small frozen value instead of the whole
configuration, so tests build one in a line and nothing reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, kw_only=True)
class Policy:
    dry_run: bool = False
    allowed_namespaces: frozenset[str] = field(default_factory=frozenset)
    denied_namespaces: frozenset[str] = frozenset({"kube-system"})
    global_rate_max: int = 60
    global_rate_per: timedelta = timedelta(minutes=10)
    breaker_max_actions: int = 100
    breaker_max_failures: int = 5
    breaker_window: timedelta = timedelta(minutes=30)
    breaker_cooldown: timedelta = timedelta(minutes=30)
    executable: frozenset[str] | None = None
    """Action types that can really run here (None: all). Others become dry-runs,
    e.g. Kubernetes actions when no cluster is configured."""
    inventory_hosts: frozenset[str] | None = None
    """The hosts of the Ansible inventory (None: no inventory is configured). A
    play's `limit` taken from alert labels must name one of them."""

    def missing_capability(self, action_type: str) -> str | None:
        """Why `action_type` cannot really run here, or None when it can.

        The text starts every reason of a dry-run forced by it, so nobody
        mistakes it for shadow mode.
        """
        if self.executable is None or action_type in self.executable:
            return None
        if action_type.startswith("kubernetes."):
            return "no Kubernetes connection"
        if action_type.startswith("ansible."):
            return "no Ansible inventory"
        return f"no implementation of {action_type}"

    def capabilities_missing(self) -> list[str]:
        """The capabilities whose actions all run as dry-runs (for `/api/v1/status`)."""
        if self.executable is None:
            return []
        missing = []
        if not any(t.startswith("kubernetes.") for t in self.executable):
            missing.append("kubernetes")
        if "ansible.playbook" not in self.executable:
            missing.append("ansible")
        return missing
