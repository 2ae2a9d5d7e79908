"""The global guard settings the engine needs, separated from `Settings`.

The engine is pure: it receives this small frozen value instead of the whole
configuration, so tests build one in a line and nothing reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from remediator.settings import Settings


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

    @classmethod
    def from_settings(cls, settings: Settings, *,
                      executable: frozenset[str] | None = None) -> Policy:
        return cls(
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
