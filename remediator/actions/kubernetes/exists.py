"""`kubernetes.exists`: read the target once; a 404 is `TargetGone` (see `target_check`)."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client import ApiClient, AppsV1Api, AutoscalingV2Api, CoreV1Api

from remediator.actions.kubernetes.client import Deadline, Operation, call
from remediator.model.actions import ActionError, ActionRequest, ActionResult


class ExistsAction:
    """Read-only: get the pod, workload or HPA an action would act on."""

    def __init__(self, api_client: ApiClient) -> None:
        core, apps = CoreV1Api(api_client), AppsV1Api(api_client)
        autoscaling = AutoscalingV2Api(api_client)
        self._readers: dict[str, tuple[str, Callable[..., object]]] = {
            "pod": ("pods", core.read_namespaced_pod),
            "deployment": ("deployments", apps.read_namespaced_deployment),
            "statefulset": ("statefulsets", apps.read_namespaced_stateful_set),
            "daemonset": ("daemonsets", apps.read_namespaced_daemon_set),
            "hpa": ("horizontalpodautoscalers",
                    autoscaling.read_namespaced_horizontal_pod_autoscaler),
        }

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.kind not in self._readers or request.namespace is None:
            raise ActionError(f"cannot check a {request.kind!r} target")
        resource, read = self._readers[request.kind]
        name, namespace = request.name, request.namespace
        operation = Operation(verb="get", resource=resource, namespace=namespace, name=name)
        await call(operation, Deadline(request.timeout),
                   lambda timeout: read(name, namespace, _request_timeout=timeout))
        return ActionResult(message=f"{request.target} exists")
