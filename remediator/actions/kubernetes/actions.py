"""Kubernetes remediations: delete a pod, restart a rollout, scale, raise an HPA.

Every action talks to the API server through the official client with an
injected `ApiClient` (each app and each test brings its own), inside the time
budget of `request.timeout`. Read-modify-write actions send the
`resourceVersion` they read, so a concurrent edit makes the API server answer
409 (retried) instead of being overwritten. What they read is their premise
(`Observed`): the retry must find the same replicas or bounds, or it refuses
(`TargetChanged`) rather than step from numbers someone else set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kubernetes.client import ApiClient, AppsV1Api, AutoscalingV2Api, CoreV1Api, V1Scale

from remediator.actions.kubernetes.bounds import hpa_bounds, scale_target
from remediator.actions.kubernetes.bounds import int_param as _int
from remediator.actions.kubernetes.bounds import required_int as _required_int
from remediator.actions.kubernetes.client import (
    Deadline,
    KubeConfigError,
    Operation,
    call,
    close_api_client,
    load_api_client,
    namespace_of,
    with_resource_version,
    write,
)
from remediator.actions.kubernetes.exists import ExistsAction
from remediator.actions.kubernetes.gitops_owner import GitopsOwnerAction
from remediator.actions.kubernetes.gitops_suspend import GITOPS_SUSPEND_ACTION, GitopsSuspendAction
from remediator.actions.kubernetes.snapshot import SnapshotAction
from remediator.actions.kubernetes.target_check import EXISTS_ACTION
from remediator.actions.kubernetes.undo import RolloutUndoAction
from remediator.evidence.limits import SNAPSHOT_ACTION
from remediator.evidence.ownership import GITOPS_OWNER_ACTION
from remediator.model.abc import Action
from remediator.model.actions import (
    ActionError,
    ActionRequest,
    ActionResult,
    Observed,
    TargetChanged,
)

__all__ = [
    "DeletePodAction", "HpaPatchAction", "HpaRevertAction", "KubeConfigError",
    "RolloutRestartAction", "RolloutUndoAction", "ScaleAction", "close_api_client", "hpa_bounds",
    "kubernetes_actions", "load_api_client", "scale_target",
]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeletePodAction:
    """`kubernetes.delete_pod`: delete a pod so that its controller recreates it."""

    def __init__(self, api_client: ApiClient) -> None:
        self._core = CoreV1Api(api_client)

    async def run(self, request: ActionRequest) -> ActionResult:
        namespace, name = namespace_of(request), request.name
        grace = _int(request.params, "grace_period_seconds")
        operation = Operation(verb="delete", resource="pods", namespace=namespace, name=name)
        await call(operation, Deadline(request.timeout), lambda timeout: (
            self._core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace,
                                             _request_timeout=timeout)))
        return ActionResult(message=f"deleted pod {namespace}/{name}",
                            detail={"grace_period_seconds": grace})


class RolloutRestartAction:
    """`kubernetes.rollout_restart`: what `kubectl rollout restart` does.

    Changing the pod template's restartedAt annotation makes the controller roll
    every pod with its usual surge and disruption rules, unlike deleting pods.
    """

    def __init__(self, api_client: ApiClient, *, clock: Clock = _utcnow) -> None:
        apps = AppsV1Api(api_client)
        self._clock = clock
        self._patchers: dict[str, tuple[str, Callable[..., object]]] = {
            "deployment": ("deployments", apps.patch_namespaced_deployment),
            "statefulset": ("statefulsets", apps.patch_namespaced_stateful_set),
            "daemonset": ("daemonsets", apps.patch_namespaced_daemon_set),
        }

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.kind not in self._patchers:
            raise ActionError(f"cannot restart a {request.kind!r}")
        resource, patch = self._patchers[request.kind]
        namespace, name = namespace_of(request), request.name
        stamp = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        operation = Operation(verb="patch", resource=resource, namespace=namespace, name=name)
        await call(operation, Deadline(request.timeout),
                   lambda timeout: patch(name, namespace, body, _request_timeout=timeout))
        return ActionResult(message=f"restarted {request.kind} {namespace}/{name}",
                            detail={"restartedAt": stamp})


class ScaleAction:
    """`kubernetes.scale`: move replicas by `step` (or to `replicas`) within [min, max].

    It goes through the scale subresource, which needs narrower RBAC than the
    workload itself and is what `kubectl scale` and the HPA use.
    """

    def __init__(self, api_client: ApiClient) -> None:
        apps = AppsV1Api(api_client)
        self._calls: dict[str, tuple[str, Callable[..., V1Scale], Callable[..., V1Scale]]] = {
            "deployment": ("deployments/scale", apps.read_namespaced_deployment_scale,
                           apps.patch_namespaced_deployment_scale),
            "statefulset": ("statefulsets/scale", apps.read_namespaced_stateful_set_scale,
                            apps.patch_namespaced_stateful_set_scale),
        }

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.kind not in self._calls:
            raise ActionError(f"cannot scale a {request.kind!r}")
        resource, read, patch = self._calls[request.kind]
        namespace, name, deadline = namespace_of(request), request.name, Deadline(request.timeout)
        reading = Operation(verb="get", resource=resource, namespace=namespace, name=name)
        scale = await call(reading, deadline,
                           lambda timeout: read(name, namespace, _request_timeout=timeout))
        current: int = (scale.spec.replicas if scale.spec else None) or 0
        version = scale.metadata.resource_version if scale.metadata else None
        what = f"{request.kind} {namespace}/{name}"
        seen = Observed(values={"replicas": current}, resource_version=version)
        TargetChanged.unless_same(what, request.expected, seen)
        target = scale_target(current, request.params)
        detail = {"previous": current, "replicas": target}
        if target == current:
            return ActionResult(message=f"{what} already has {current} replicas; not changed",
                                detail={**detail, "changed": False}, observed=seen)
        body = with_resource_version(version, {"spec": {"replicas": target}})
        patching = Operation(verb="patch", resource=resource, namespace=namespace, name=name)
        await write(patching, deadline,
                    lambda timeout: patch(name, namespace, body, _request_timeout=timeout), seen)
        return ActionResult(message=f"scaled {what} from {current} to {target} replicas",
                            detail={**detail, "changed": True}, observed=seen)


class _HpaAction:
    """Shared reading and patching of one autoscaling/v2 HorizontalPodAutoscaler."""

    def __init__(self, api_client: ApiClient) -> None:
        self._api = AutoscalingV2Api(api_client)

    async def _read(self, namespace: str, name: str, deadline: Deadline) -> Observed:
        """Its bounds (`min_replicas`, `max_replicas`) and resourceVersion.

        An unset minimum defaults to 1.
        """
        operation = Operation(verb="get", resource="horizontalpodautoscalers",
                              namespace=namespace, name=name)
        hpa = await call(operation, deadline, lambda timeout: (
            self._api.read_namespaced_horizontal_pod_autoscaler(
                name, namespace, _request_timeout=timeout)))
        version = hpa.metadata.resource_version if hpa.metadata else None
        if hpa.spec is None:
            raise ActionError(f"hpa {namespace}/{name} has no spec")
        minimum = hpa.spec.min_replicas
        bounds = (1 if minimum is None else minimum, hpa.spec.max_replicas)
        return Observed(values=_bounds(bounds), resource_version=version)

    async def _patch(self, namespace: str, name: str, deadline: Deadline,
                     bounds: tuple[int, int], seen: Observed) -> None:
        spec = {"minReplicas": bounds[0], "maxReplicas": bounds[1]}
        body = with_resource_version(seen.resource_version, {"spec": spec})
        operation = Operation(verb="patch", resource="horizontalpodautoscalers",
                              namespace=namespace, name=name)
        await write(operation, deadline, lambda timeout: (
            self._api.patch_namespaced_horizontal_pod_autoscaler(
                name, namespace, body, _request_timeout=timeout)), seen)


def _bounds(bounds: tuple[int, int]) -> dict[str, int]:
    return {"min_replicas": bounds[0], "max_replicas": bounds[1]}


def _unpack(seen: Observed) -> tuple[int, int]:
    return int(seen.values["min_replicas"]), int(seen.values["max_replicas"])


class HpaPatchAction(_HpaAction):
    """`kubernetes.hpa_patch`: give an HPA more room, and optionally take it back later."""

    async def run(self, request: ActionRequest) -> ActionResult:
        namespace, name, deadline = namespace_of(request), request.name, Deadline(request.timeout)
        seen = await self._read(namespace, name, deadline)
        TargetChanged.unless_same(f"hpa {namespace}/{name}", request.expected, seen)
        old_min, old_max = old = _unpack(seen)
        new = hpa_bounds(old_min, old_max, request.params)
        detail = {"previous": _bounds(old), "new": _bounds(new)}
        if new == old:
            ceiling = request.params.get("ceiling")
            return ActionResult(message=f"hpa {namespace}/{name} already at min {old_min}, "
                                        f"max {old_max} (ceiling {ceiling}); not changed",
                                detail={**detail, "changed": False}, observed=seen)
        await self._patch(namespace, name, deadline, new, seen)
        followups = (self._revert(request, old, new),) if request.params.get("revert") else ()
        return ActionResult(message=f"raised hpa {namespace}/{name} from min {old_min}, "
                                    f"max {old_max} to min {new[0]}, max {new[1]}",
                            detail={**detail, "changed": True}, followups=followups,
                            observed=seen)

    @staticmethod
    def _revert(request: ActionRequest, old: tuple[int, int],
                new: tuple[int, int]) -> ActionRequest:
        params = {**_bounds(old), "expect_min": new[0], "expect_max": new[1]}
        return ActionRequest(type="kubernetes.hpa_revert", kind=request.kind,
                             namespace=request.namespace, name=request.name,
                             params=params, timeout=request.timeout)


class HpaRevertAction(_HpaAction):
    """`kubernetes.hpa_revert`: put an HPA's old bounds back, unless someone changed them.

    A human who retuned the HPA after us knows better; overwriting them
    with our stale values would be a second incident.
    """

    async def run(self, request: ActionRequest) -> ActionResult:
        namespace, name, deadline = namespace_of(request), request.name, Deadline(request.timeout)
        params = request.params
        old = (_required_int(params, "min_replicas"), _required_int(params, "max_replicas"))
        ours = (_required_int(params, "expect_min"), _required_int(params, "expect_max"))
        seen = await self._read(namespace, name, deadline)
        current_min, current_max = current = _unpack(seen)
        detail = {"original": _bounds(old), "ours": _bounds(ours), "found": _bounds(current)}
        if current != ours:
            return ActionResult(
                message=f"left hpa {namespace}/{name} alone: it has min {current_min}, max "
                        f"{current_max}, not the min {ours[0]}, max {ours[1]} we set",
                detail={**detail, "reverted": False})
        await self._patch(namespace, name, deadline, old, seen)
        return ActionResult(message=f"reverted hpa {namespace}/{name} to min {old[0]}, "
                                    f"max {old[1]}",
                            detail={**detail, "reverted": True}, observed=seen)


def kubernetes_actions(api_client: ApiClient, *, clock: Clock = _utcnow,
                       evidence_readers: int = 4) -> dict[str, Action]:
    """Every Kubernetes action type, all sharing one client (and its connection pool).

    `evidence_readers`: threads reading evidence before actions, as many as
    actions run at once (`WORKERS`), or the snapshots queue behind each other.
    """
    return {
        "kubernetes.delete_pod": DeletePodAction(api_client),
        "kubernetes.rollout_restart": RolloutRestartAction(api_client, clock=clock),
        "kubernetes.scale": ScaleAction(api_client),
        "kubernetes.hpa_patch": HpaPatchAction(api_client),
        "kubernetes.hpa_revert": HpaRevertAction(api_client),
        "kubernetes.rollout_undo": RolloutUndoAction(api_client, clock=clock),
        SNAPSHOT_ACTION: SnapshotAction(api_client, workers=evidence_readers),
        EXISTS_ACTION: ExistsAction(api_client),
        GITOPS_OWNER_ACTION: GitopsOwnerAction(api_client),
        GITOPS_SUSPEND_ACTION: GitopsSuspendAction(api_client),
    }
