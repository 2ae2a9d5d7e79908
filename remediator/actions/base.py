"""The action extension point: what a worker hands to an action and gets back.

An action receives a fully rendered, validated `ActionRequest` (never a raw
label) and either returns an `ActionResult` or raises one of the errors
below. The error class carries the retry policy, as kopf's do: the worker
does not guess from exception text whether trying again is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from remediator.actions.deferred import DeferredActions


@dataclass(frozen=True, kw_only=True)
class ActionRequest:
    """A concrete action on one target, JSON-serialisable for the job table."""

    type: str
    kind: str
    name: str
    namespace: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 60.0

    @property
    def target(self) -> str:
        """`kind/namespace/name` (or `kind/name`): the unit cooldowns apply to."""
        if self.namespace is None:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "params": dict(self.params),
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ActionRequest:
        return cls(
            type=data["type"],
            kind=data["kind"],
            name=data["name"],
            namespace=data.get("namespace"),
            params=data.get("params", {}),
            timeout=float(data.get("timeout", 60.0)),
        )


@dataclass(frozen=True, kw_only=True)
class ActionResult:
    """What an action did: a one-line message and details kept in the audit log."""

    message: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    followups: tuple[ActionRequest, ...] = ()
    """Actions to run when the alert resolves (an HPA revert, for instance)."""


class ActionError(Exception):
    """The action failed. `transient` errors are retried with backoff."""

    def __init__(self, message: str, *, transient: bool = False,
                 retry_after: float | None = None,
                 detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after
        self.detail = dict(detail or {})


class TargetGone(ActionError):
    """The target no longer exists (404): nothing to remediate, not a failure."""


class Action(Protocol):
    """One action type, e.g. `kubernetes.delete_pod`."""

    async def run(self, request: ActionRequest) -> ActionResult: ...


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
