"""kmock's emulator with the API server's optimistic concurrency.

kmock applies every PATCH, whatever resourceVersion it carries (and even when
a test reaction answers it with an error). The API server refuses an update
whose `metadata.resourceVersion` is not the stored one, with 409 and nothing
applied, and gives every accepted change a new resourceVersion. A retry after
a conflict can only be tested against that.

`between` holds what other clients do between our read and our next write (a
controller's status update, a person shipping a fix): each runs once, just
before the next update is checked, so the conflict is real and needs no
timing. Use it with `pytestmark = pytest.mark.kmock(cls=OptimisticEmulator)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock

Key = tuple[Any, str | None, str]


@attrs.define(kw_only=True)
class OptimisticEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    between: list[Callable[[], None]] = attrs.field(factory=list, init=False)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.action != kmock.action.UPDATE or not request.name:
            return await super()._handle(request)
        if self.between:
            self.between.pop(0)()
        key: Key = (request.resource, request.namespace, request.name)
        sent = ((request.data or {}).get("metadata") or {}).get("resourceVersion")
        stored = self.version(key)
        if sent is not None and stored is not None and sent != stored:
            raise kmock.KubernetesError(
                status=409, reason="Conflict",
                message=(f"Operation cannot be fulfilled on {request.name}: the object has "
                         "been modified; please apply your changes to the latest version "
                         "and try again"))
        response = await super()._handle(request)
        self.touch(key)
        return response

    def version(self, key: Key) -> str | None:
        if key not in self.objects or self.objects[key].deleted:
            return None
        value = (self.objects[key].get("metadata") or {}).get("resourceVersion")
        return None if value is None else str(value)

    def touch(self, key: Key, change: dict[str, Any] | None = None) -> None:
        """Apply `change` (or nothing) as another writer would: with a new resourceVersion."""
        number = int(self.version(key) or 0) + 1
        self.objects[key].patch({**(change or {}), "metadata": {
            **((change or {}).get("metadata") or {}), "resourceVersion": str(number)}})
