"""Build the engine's `Policy` from `Settings`.

Kept out of `policy.py` so the decision core imports no configuration:
the engine and guards see a small frozen value, never the environment.
"""

from __future__ import annotations

from remediator.policy import Policy
from remediator.settings import Settings


def policy_from_settings(settings: Settings, *,
                         executable: frozenset[str] | None = None) -> Policy:
    return Policy(
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
