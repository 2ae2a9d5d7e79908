"""Who owns an object: Argo CD, Flux, or nobody (and "unknown" when we cannot tell).

Read before every action on a Kubernetes workload (`execute.gitops_gate`):
an object that a GitOps controller reconciles from git must not be changed
behind its back without saying so, since with self-heal on the controller
undoes the change within minutes. The markers are the controllers' own:

- Argo CD: the annotation `argocd.argoproj.io/tracking-id`
  (`<app>:<group>/<kind>:<ns>/<name>`, `<app>` is `<ns>_<name>` for
  applications outside Argo CD's namespace) or the tracking label
  (default `app.kubernetes.io/instance`). Helm sets that label too, so a
  label alone counts only when its `Application` exists.
- Flux: the labels `kustomize.toolkit.fluxcd.io/name|namespace` or
  `helm.toolkit.fluxcd.io/name|namespace`.

The object and its controller chain (Pod -> ReplicaSet -> Deployment) are
read through `get(path)`, so this module holds no client: the Kubernetes
action `kubernetes.gitops_owner` passes one. A 403/404 on a controller's
resource degrades to "unknown" with a note; nothing here raises past
`read_ownership` except the target itself being gone (`Gone`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from remediator.evidence.revisions import images

GITOPS_OWNER_ACTION = "kubernetes.gitops_owner"
"""The read-only action that answers `read_ownership` (registered with a cluster)."""
GITOPS_SUSPEND_ACTION = "kubernetes.gitops_suspend"
"""Suspends or resumes a Flux Kustomization (`suspend_while_proposed`)."""
TRACKING_ID = "argocd.argoproj.io/tracking-id"
FLUX_KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
FLUX_HELM = "helm.toolkit.fluxcd.io"
ARGO_APPS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}"
KUSTOMIZATIONS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations/{name}"
HELMRELEASES = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/{ns}/helmreleases/{name}"
GITREPOSITORIES = "/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/gitrepositories/{name}"
_PATHS = {
    "pod": "/api/v1/namespaces/{ns}/pods/{name}",
    "replicaset": "/apis/apps/v1/namespaces/{ns}/replicasets/{name}",
    "deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "statefulset": "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
    "daemonset": "/apis/apps/v1/namespaces/{ns}/daemonsets/{name}",
    "hpa": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}",
}
_CHAIN_DEPTH = 3
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
"""A Kubernetes object name: what a label's or annotation's value must be before it
becomes part of an API path (an empty name would read a list)."""


class Unreadable(Exception):
    """`get` could not read a path: `status` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Get = Callable[[str], Mapping[str, Any] | None]
"""Reads one API path as a dict; None on 404; `Unreadable` on anything else."""


@dataclass(frozen=True, kw_only=True)
class Ownership:
    """The `gitops` section of the evidence: who reconciles the target, from where."""

    controller: str | None = None
    """`argocd`, `flux`, or None (not managed, or unknown: see `unknown`)."""
    app: str | None = None
    """`<namespace>/<name>` of the Application, Kustomization or HelmRelease."""
    app_kind: str | None = None
    repo: str | None = None
    path: str | None = None
    revision: str | None = None
    helm: bool = False
    """The source is a Helm chart: a change goes into a values file."""
    self_heal: bool = False
    """The controller puts git's state back on its own (Argo selfHeal, Flux not suspended)."""
    sync_status: str | None = None
    suspended: bool = False
    owner: str | None = None
    """`<kind>/<name>` of the object in the chain that carries the marker."""
    unknown: bool = False
    notes: tuple[str, ...] = ()
    live: Mapping[str, Any] = field(default_factory=dict)
    """The target's fields the actions change (replicas, HPA bounds), as read now."""

    @property
    def managed(self) -> bool:
        return self.controller is not None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["live"] = dict(self.live)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ownership:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["notes"] = tuple(known.get("notes") or ())
        known["live"] = dict(known.get("live") or {})
        return cls(**known)


@dataclass(frozen=True)
class Tracking:
    """Where to look: the Argo CD label key and the namespace of its Applications."""

    label: str = "app.kubernetes.io/instance"
    argocd_namespace: str = "argocd"


class Gone(Exception):
    """The target itself does not exist (404)."""


def read_ownership(get: Get, kind: str, namespace: str, name: str,
                   tracking: Tracking = Tracking()) -> Ownership:
    """Walk the target and its controllers; the first marker found decides."""
    path = _PATHS.get(kind)
    if path is None:
        return Ownership(notes=(f"{kind} objects are not checked for GitOps ownership",))
    try:
        target = get(path.format(ns=namespace, name=name))
    except Unreadable as error:
        return Ownership(unknown=True, notes=(f"cannot read {kind} {namespace}/{name}: "
                                              f"{error}",))
    if target is None:
        raise Gone(f"{kind} {namespace}/{name} not found")
    live = _live(target)
    notes: list[str] = []
    current: Mapping[str, Any] | None = target
    current_kind = kind
    for _ in range(_CHAIN_DEPTH + 1):
        if current is None:
            break
        found = _marked(get, current, current_kind, namespace, tracking, notes)
        if found is not None:
            return _with(found, live=live, notes=(*found.notes, *notes))
        current, current_kind = _controller(get, current, namespace, notes)
    unknown = any(n.startswith("cannot read") for n in notes)
    return Ownership(unknown=unknown, notes=tuple(notes), live=live)


def _with(found: Ownership, **changes: Any) -> Ownership:
    return Ownership(**{**found.__dict__, **changes})


def _live(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an action may set: replicas, HPA bounds, the pod template's images."""
    spec = obj.get("spec") or {}
    live: dict[str, Any] = {key: spec[key] for key in ("replicas", "minReplicas", "maxReplicas")
                            if isinstance(spec.get(key), int)}
    running = images(spec.get("template") or {})
    if running:
        live["images"] = running
    return live


def _controller(get: Get, obj: Mapping[str, Any], namespace: str,
                notes: list[str]) -> tuple[Mapping[str, Any] | None, str]:
    """The object's controlling owner (ReplicaSet, Deployment, StatefulSet), if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        kind = str(ref.get("kind", "")).lower()
        if ref.get("controller") and kind in _PATHS:
            path = _PATHS[kind].format(ns=namespace, name=ref.get("name", ""))
            try:
                return get(path), kind
            except Unreadable as error:
                notes.append(f"cannot read {kind} {ref.get('name')}: {error}")
    return None, ""


def _marked(get: Get, obj: Mapping[str, Any], kind: str, namespace: str, tracking: Tracking,
            notes: list[str]) -> Ownership | None:
    metadata = obj.get("metadata") or {}
    labels: Mapping[str, str] = metadata.get("labels") or {}
    annotations: Mapping[str, str] = metadata.get("annotations") or {}
    owner = f"{kind}/{metadata.get('name', '')}"
    if TRACKING_ID in annotations:
        app = str(annotations[TRACKING_ID]).partition(":")[0]
        app_ns, _, app_name = app.rpartition("_")
        return _argo(get, app_ns or tracking.argocd_namespace, app_name, owner, notes,
                     required=True)
    for group, reader in ((FLUX_KUSTOMIZE, _kustomization), (FLUX_HELM, _helmrelease)):
        if f"{group}/name" in labels:
            flux_ns = labels.get(f"{group}/namespace") or namespace
            return reader(get, flux_ns, labels[f"{group}/name"], owner)
    if tracking.label in labels:
        return _argo(get, tracking.argocd_namespace, labels[tracking.label], owner, notes,
                     required=False)
    return None


def _read(get: Get, template: str, ns: str, name: str,
          kind: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """The resource, or None and the note why not (404: missing, 403: no RBAC, a name
    that is not a Kubernetes name: never asked)."""
    what = f"{kind} {ns}/{name}"
    if not (_NAME.match(ns) and _NAME.match(name)):
        return None, f"{kind} {(ns + '/' + name)[:120]!r}: not a valid object name"
    try:
        found = get(template.format(ns=ns, name=name))
    except Unreadable as error:
        hint = (" (RBAC: enable the chart's rbac.gitops)" if error.status == 403 else "")
        return None, f"cannot read {what}: {error}{hint}"
    return (found, None) if found is not None else (None, f"{what} not found")


def _argo(get: Get, app_ns: str, app: str, owner: str, notes: list[str], *,
          required: bool) -> Ownership | None:
    found, problem = _read(get, ARGO_APPS, app_ns, app, "Argo CD Application")
    base = Ownership(controller="argocd", app=f"{app_ns}/{app}", app_kind="Application",
                     owner=owner)
    if found is None:
        if not required and problem is not None and not problem.startswith("cannot read"):
            notes.append(f"{owner}: tracking label present but {problem}; not Argo CD's")
            return None
        return _with(base, unknown=True, notes=(str(problem),))
    spec = found.get("spec") or {}
    source: Mapping[str, Any] = (spec.get("source")
                                 or next(iter(spec.get("sources") or ()), None) or {})
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return _with(base, repo=source.get("repoURL"),
                 path=source.get("path") or source.get("chart"),
                 revision=source.get("targetRevision"),
                 helm=bool(source.get("chart") or source.get("helm")),
                 self_heal=isinstance(automated, Mapping) and bool(automated.get("selfHeal")),
                 sync_status=((found.get("status") or {}).get("sync") or {}).get("status"))


def _kustomization(get: Get, ns: str, name: str, owner: str) -> Ownership:
    found, problem = _read(get, KUSTOMIZATIONS, ns, name, "Flux Kustomization")
    base = Ownership(controller="flux", app=f"{ns}/{name}", app_kind="Kustomization",
                     owner=owner)
    if found is None:
        return _with(base, unknown=True, notes=(str(problem),))
    spec = found.get("spec") or {}
    suspended = bool(spec.get("suspend"))
    repo, revision, notes = _git_repository(get, spec.get("sourceRef") or {}, ns)
    return _with(base, repo=repo, revision=revision, path=spec.get("path") or ".",
                 suspended=suspended, self_heal=not suspended,
                 sync_status=_ready(found), notes=notes)


def _helmrelease(get: Get, ns: str, name: str, owner: str) -> Ownership:
    found, problem = _read(get, HELMRELEASES, ns, name, "Flux HelmRelease")
    base = Ownership(controller="flux", app=f"{ns}/{name}", app_kind="HelmRelease",
                     owner=owner, helm=True)
    if found is None:
        return _with(base, unknown=True, notes=(str(problem),))
    spec = found.get("spec") or {}
    chart = ((spec.get("chart") or {}).get("spec") or {})
    suspended = bool(spec.get("suspend"))
    drift = ((spec.get("driftDetection") or {}).get("mode")) == "enabled"
    repo, revision, notes = _git_repository(get, chart.get("sourceRef") or {}, ns)
    return _with(base, repo=repo, revision=revision, path=chart.get("chart"),
                 suspended=suspended, self_heal=drift and not suspended,
                 sync_status=_ready(found), notes=notes)


def _git_repository(get: Get, ref: Mapping[str, Any],
                    ns: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    if ref.get("kind") != "GitRepository":
        return None, None, (f"source is a {ref.get('kind') or 'missing'} source, not git",)
    ref_ns, name = ref.get("namespace") or ns, str(ref.get("name", ""))
    found, problem = _read(get, GITREPOSITORIES, ref_ns, name, "Flux GitRepository")
    if found is None:
        return None, None, (str(problem),)
    spec = found.get("spec") or {}
    return spec.get("url"), (spec.get("ref") or {}).get("branch") or "HEAD", ()


def _ready(obj: Mapping[str, Any]) -> str | None:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return "Ready" if condition.get("status") == "True" else "NotReady"
    return None
