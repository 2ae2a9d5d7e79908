"""Action implementations by type: what the worker runs and the app lists as executable.

Beside the implementations, not in the shared vocabulary: the registry knows
deferred groups (`remediator.actions.deferred`), and the decision core needs
none of it, only the set of executable types the app gives the policy.
"""

from __future__ import annotations

from collections.abc import Mapping

from remediator.actions.deferred import DeferredActions
from remediator.model.abc import Action


class ActionRegistry:
    """Action implementations by type; each app and each test builds its own."""

    def __init__(self, actions: Mapping[str, Action] | None = None) -> None:
        self._actions: dict[str, Action] = dict(actions or {})
        self._deferred: list[DeferredActions] = []

    def register(self, type_: str, action: Action) -> None:
        self._actions[type_] = action

    def register_deferred(self, group: DeferredActions) -> None:
        """Register a group's types now; their implementations arrive when it is built."""
        self._actions.update(group.proxies())
        self._deferred.append(group)

    def loaded(self) -> bool:
        """Whether every deferred group is built (True when there is none)."""
        return all(group.loaded for group in self._deferred)

    async def ready(self) -> bool:
        """Wait until every deferred group is built; False if one could not be."""
        for group in self._deferred:
            try:
                await group.wait()
            except Exception:  # reported by the group (serve stops on it)
                return False
        return True

    def get(self, type_: str) -> Action | None:
        return self._actions.get(type_)

    def __contains__(self, type_: object) -> bool:
        return type_ in self._actions

    def types(self) -> list[str]:
        return sorted(self._actions)
