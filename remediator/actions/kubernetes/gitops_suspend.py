"""`kubernetes.gitops_suspend`: suspend or resume a Flux Kustomization (`spec.suspend`).

Used by `gitops: {mode: propose, also_act: true, suspend_while_proposed: true}`:
Flux would otherwise apply git again over the change on the cluster before
the pull request merges. The resume is a timed follow-up of the same
remediation (`GITOPS_SUSPEND_TIMEOUT`), audited as the service's own change.
The names come from the target's Flux labels: checked as DNS labels before use.
"""

from __future__ import annotations

import re

from kubernetes.client import ApiClient, CustomObjectsApi

from remediator.actions.kubernetes.client import Deadline, Operation, call
from remediator.evidence.ownership import GITOPS_SUSPEND_ACTION as GITOPS_SUSPEND_ACTION
from remediator.model.actions import ActionError, ActionRequest, ActionResult

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class GitopsSuspendAction:
    def __init__(self, api_client: ApiClient) -> None:
        self._custom = CustomObjectsApi(api_client)

    async def run(self, request: ActionRequest) -> ActionResult:
        namespace, name = request.namespace or "", request.name
        if request.kind != "kustomization" or not (_NAME.match(namespace)
                                                   and _NAME.match(name)):
            raise ActionError(f"cannot suspend {request.kind} {namespace}/{name}")
        suspend = request.params.get("suspend") is True
        operation = Operation(verb="patch", resource="kustomizations", namespace=namespace,
                              name=name)
        await call(operation, Deadline(request.timeout),
                   lambda timeout: self._custom.patch_namespaced_custom_object(
                       "kustomize.toolkit.fluxcd.io", "v1", namespace, "kustomizations", name,
                       {"spec": {"suspend": suspend}}, _request_timeout=timeout,
                       _content_type="application/merge-patch+json"))
        verb = "suspended" if suspend else "resumed"
        return ActionResult(message=f"{verb} Flux Kustomization {namespace}/{name}",
                            detail={"kustomization": f"{namespace}/{name}", "suspend": suspend})
