"""A test-side GitOps controller: on `reconcile`, put git's fields back, as self-heal does.

`desired` is what git holds for each object; `reconcile` writes those fields
into the emulator's stored objects, like Argo CD's self-heal (or Flux's
reconciliation) applying the manifest again.
"""

from __future__ import annotations

from typing import Any

from tests.gitops_ownership.conftest import World


class SelfHeal:
    def __init__(self, world: World) -> None:
        self.world = world
        self.desired: dict[tuple[str, str, str], dict[str, Any]] = {}

    def holds(self, resource: str, namespace: str, name: str, **spec: Any) -> None:
        """Git says these `spec` fields for the object."""
        self.desired[resource, namespace, name] = spec

    def reconcile(self) -> int:
        """Put git's values back; the number of objects changed."""
        changed = 0
        for (resource, namespace, name), spec in self.desired.items():
            stored = self.world.get(resource, namespace, name)
            live = {key: stored["spec"][key] for key in spec}
            if live != spec:
                body = _plain(stored)
                body["spec"].update(spec)
                self.world.add(resource, body)
                changed += 1
        return changed


def _plain(value: Any) -> Any:
    if hasattr(value, "keys"):
        return {key: _plain(value[key]) for key in value.keys()}  # noqa: SIM118
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
