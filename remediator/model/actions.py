"""What a worker hands to an action and gets back (the `Action` interface is in `abc`).

An action receives a fully rendered, validated `ActionRequest` (never a raw
label) and either returns an `ActionResult` or raises one of the errors
below. The error class carries the retry policy, as kopf's do: the worker
does not guess from exception text whether trying again is safe.

A retry carries what the first attempt saw (`Observed`, kept with the job):
a read-modify-write whose premise changed meanwhile is refused
(`TargetChanged`), never re-derived from the new state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ActionRequest:
    """A concrete action on one target, JSON-serialisable for the job table."""

    type: str
    kind: str
    name: str
    namespace: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 60.0
    expected: Observed | None = None
    """What an earlier attempt saw of the target (set by the worker on a retry, from
    the job; not part of the stored request): the action refuses if it moved."""

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
    observed: Observed | None = None
    """What the action saw of its target before it wrote."""


@dataclass(frozen=True, kw_only=True)
class Observed:
    """What a read-modify-write saw of its target: the premise a retry must still find.

    `values` are compared (a revision and a digest of the pod template, the
    replicas, an HPA's bounds); the resourceVersion is carried and shown but
    not compared: status updates move it, and after a 409 it has moved by
    definition.
    """

    values: Mapping[str, Any]
    resource_version: str | None = None

    def changes(self, now: Observed) -> list[str]:
        """What moved since, as "key old -> new" (empty when the premise holds)."""
        return [f"{key} {value} -> {now.values.get(key)}" for key, value in self.values.items()
                if now.values.get(key) != value]

    def to_json(self) -> dict[str, Any]:
        return {"values": dict(self.values), "resourceVersion": self.resource_version}

    @classmethod
    def from_json(cls, data: object) -> Observed | None:
        """None for nothing (or anything malformed): the job table is JSON, check it."""
        if not isinstance(data, Mapping) or not isinstance(data.get("values"), Mapping):
            return None
        version = data.get("resourceVersion")
        return cls(values=dict(data["values"]),
                   resource_version=version if isinstance(version, str) else None)


class ActionError(Exception):
    """The action failed. `transient` errors are retried with backoff.

    `observed`: what the action had seen of its target when it failed; a
    retry is then held to it (`ActionRequest.expected`).
    """

    def __init__(self, message: str, *, transient: bool = False,
                 retry_after: float | None = None,
                 detail: Mapping[str, Any] | None = None,
                 observed: Observed | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after
        self.detail = dict(detail or {})
        self.observed = observed


class TargetGone(ActionError):
    """The target no longer exists (404): nothing to remediate, not a failure."""


class TargetChanged(ActionError):
    """A retry found its target no longer as the first attempt saw it: refused, not retried.

    Someone shipped a fix, rescaled or retuned it meanwhile; acting on the
    new state would undo their work (a rollback to the broken revision).
    """

    def __init__(self, what: str, expected: Observed, found: Observed) -> None:
        super().__init__(
            f"refused: target changed since the decision: {', '.join(expected.changes(found))}"
            f" ({what} left as it is)", observed=expected,
            detail={"expected": expected.to_json(), "found": found.to_json()})

    @classmethod
    def unless_same(cls, what: str, expected: Observed | None, found: Observed) -> None:
        """Raise when `expected` (an earlier attempt's view) differs from `found` now."""
        if expected is not None and expected.changes(found):
            raise cls(what, expected, found)
