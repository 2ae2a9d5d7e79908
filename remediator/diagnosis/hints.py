"""The hints, one pure function each, over an evidence document and the firing alerts.

Every hint answers from what the evidence and the alerts table say; a hint
that lacks the facts it needs stays silent rather than guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from remediator.evidence.revisions import parse_time

HINT_NAMES = ("recent_rollout", "oom_killed", "node_not_ready", "co_firing",
              "dependency_down", "image_pull", "gitops_managed")
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                "ErrImageNeverPull", "RegistryUnavailable"})
_MAX_NAMED = 10


@dataclass(frozen=True)
class FiringAlert:
    alertname: str
    labels: Mapping[str, str]
    fingerprint: str = ""
    starts_at: datetime | None = None

    def describe(self) -> str:
        scope = ", ".join(f"{k}={self.labels[k]}" for k in ("namespace", "node", "service",
                                                             "pod", "deployment")
                          if self.labels.get(k))
        return f"{self.alertname}{{{scope}}}" if scope else self.alertname


@dataclass(frozen=True)
class Related:
    """The labels a firing alert must share with this one for a hint to look at it.

    `co_firing` and `node_not_ready` look at alerts on the same node or in the
    same namespace, `dependency_down` at alerts of the services this one depends
    on; nothing else. Reading only these keeps the worker's pre-flight cheap in
    a storm, when thousands of alerts are firing.
    """

    node: str | None = None
    namespace: str | None = None
    services: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.node or self.namespace or self.services)


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the hints may look at."""

    labels: Mapping[str, str]
    starts_at: datetime
    fingerprint: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    firing: Sequence[FiringAlert] = ()
    firing_capped: bool = False
    """`firing` holds only the first of very many related alerts (a storm)."""
    rollout_window: timedelta = timedelta(minutes=30)
    dependency_label: str = "depends_on"

    def node(self) -> str | None:
        """The pod's node, from the evidence, else from the alert's `node` label."""
        pod = self.evidence.get("pod") or {}
        return pod.get("node") or self.labels.get("node") or None

    def dependencies(self) -> list[str]:
        """The services this one depends on, from the configurable label (comma list)."""
        return [s.strip() for s in self.labels.get(self.dependency_label, "").split(",")
                if s.strip()]

    def related(self) -> Related:
        """Which firing alerts any hint could use: the store reads only those."""
        return Related(node=self.node(), namespace=self.labels.get("namespace") or None,
                       services=tuple(self.dependencies()))

    def others(self) -> list[FiringAlert]:
        """Firing alerts other than this one."""
        return [a for a in self.firing
                if not (a.fingerprint and a.fingerprint == self.fingerprint)
                and not (a.alertname == self.labels.get("alertname")
                         and dict(a.labels) == dict(self.labels))]


@dataclass(frozen=True)
class Hint:
    name: str
    explanation: str
    facts: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "explanation": self.explanation, "facts": dict(self.facts)}


def recent_rollout(ctx: Context) -> Hint | None:
    rollout = ctx.evidence.get("rollout") or {}
    rolled = parse_time(rollout.get("rolledOutAt"))
    if rolled is None or rollout.get("revision") is None:
        return None
    before = ctx.starts_at - rolled
    if not timedelta(0) <= before <= ctx.rollout_window:
        return None
    minutes = before.total_seconds() / 60
    return Hint("recent_rollout",
                f"deployment {rollout.get('name')} rolled out revision {rollout['revision']} "
                f"{minutes:.0f}m before the alert started",
                {"deployment": rollout.get("name"), "revision": rollout["revision"],
                 "rolled_out_at": rolled.isoformat(), "alert_started_at":
                 ctx.starts_at.isoformat(), "previous_revision": rollout.get("previousRevision"),
                 "window_minutes": ctx.rollout_window.total_seconds() / 60})


def _terminations(ctx: Context) -> list[tuple[str, Mapping[str, Any], int]]:
    found = []
    for container in ctx.evidence.get("containers") or []:
        for key in ("state", "lastTermination"):
            state = container.get(key) or {}
            if state.get("state") == "terminated":
                found.append((str(container.get("name")), state,
                              int(container.get("restartCount") or 0)))
    return found


def oom_killed(ctx: Context) -> Hint | None:
    killed = [(name, state, restarts) for name, state, restarts in _terminations(ctx)
              if state.get("reason") == "OOMKilled"]
    if not killed:
        return None
    name, state, restarts = killed[0]
    return Hint("oom_killed",
                f"container {name} was OOMKilled (exit code {state.get('exitCode')}, "
                f"{restarts} restarts): it needs more memory or leaks",
                {"containers": [{"name": n, "reason": s.get("reason"),
                                 "exit_code": s.get("exitCode"), "restarts": r,
                                 "finished_at": s.get("finishedAt")}
                                for n, s, r in killed]})


def node_not_ready(ctx: Context) -> Hint | None:
    node = ctx.node()
    facts: dict[str, Any] = {"node": node}
    reasons = []
    evidence_node = ctx.evidence.get("node") or {}
    ready = next((c for c in evidence_node.get("conditions") or [] if c.get("type") == "Ready"),
                 None)
    if ready is not None and ready.get("status") != "True":
        facts["ready"] = ready
        reasons.append(f"node {node} is Ready={ready.get('status')}")
    if node:
        alerts = [a.describe() for a in ctx.others()
                  if a.labels.get("node") == node and "node" in a.alertname.lower()]
        if alerts:
            facts["alerts"] = alerts[:_MAX_NAMED]
            reasons.append(f"node alerts firing: {', '.join(alerts[:3])}")
    if not reasons:
        return None
    return Hint("node_not_ready", "; ".join(reasons), facts)


def co_firing(ctx: Context) -> Hint | None:
    node, namespace = ctx.node(), ctx.labels.get("namespace")
    same = [a for a in ctx.others()
            if (node and a.labels.get("node") == node)
            or (namespace and a.labels.get("namespace") == namespace)]
    if not same:
        return None
    names = sorted({a.describe() for a in same})
    scope = " or ".join(filter(None, [f"node {node}" if node else "",
                                      f"namespace {namespace}" if namespace else ""]))
    count = f"at least {len(names)}" if ctx.firing_capped else str(len(names))
    facts = {"alerts": names[:_MAX_NAMED], "count": len(names), "node": node,
             "namespace": namespace}
    if ctx.firing_capped:
        facts["count_is_a_lower_bound"] = True
    return Hint("co_firing",
                f"{count} other alert(s) firing on {scope}: {', '.join(names[:3])}"
                + (" ..." if len(names) > 3 else ""), facts)


def dependency_down(ctx: Context) -> Hint | None:
    wanted = ctx.dependencies()
    if not wanted:
        return None
    down = sorted({a.describe() for a in ctx.others() if a.labels.get("service") in wanted})
    if not down:
        return None
    return Hint("dependency_down",
                f"a service this one depends on has alerts firing: {', '.join(down[:3])}",
                {"depends_on": wanted, "alerts": down[:_MAX_NAMED],
                 "label": ctx.dependency_label})


def image_pull(ctx: Context) -> Hint | None:
    failing = [{"container": c.get("name"), "image": c.get("image"),
                "reason": (c.get("state") or {}).get("reason")}
               for c in ctx.evidence.get("containers") or []
               if (c.get("state") or {}).get("reason") in IMAGE_PULL_REASONS]
    events = [e.get("message") for e in ctx.evidence.get("events") or []
              if e.get("reason") in ("Failed", "ErrImagePull", "BackOff")
              and "pull" in str(e.get("message", "")).lower()]
    if not failing and not events:
        return None
    what = (f"container {failing[0]['container']} ({failing[0]['image']}) is "
            f"{failing[0]['reason']}" if failing else f"events say: {events[0]}")
    return Hint("image_pull", f"the image could not be pulled: {what}",
                {"containers": failing, "events": events[:3]})


def gitops_managed(ctx: Context) -> Hint | None:
    """Argo CD or Flux reconciles the target from git (`evidence.ownership`)."""
    owner = ctx.evidence.get("gitops") or {}
    if not owner.get("controller"):
        return None
    name = {"argocd": "Argo CD", "flux": "Flux"}.get(owner["controller"], owner["controller"])
    heal = "self-heal on" if owner.get("self_heal") else "no self-heal"
    return Hint("gitops_managed",
                f"{name} manages it ({owner.get('app_kind')} {owner.get('app')}, {heal}): "
                "a change on the cluster alone does not last",
                {key: owner.get(key) for key in ("controller", "app", "repo", "path",
                                                  "revision", "self_heal")})


HINTS: tuple[Callable[[Context], Hint | None], ...] = (
    recent_rollout, oom_killed, node_not_ready, co_firing, dependency_down, image_pull,
    gitops_managed)


def diagnose(ctx: Context) -> list[Hint]:
    """Every hint that applies, in a fixed order."""
    return [hint for hint in (check(ctx) for check in HINTS) if hint is not None]
