"""`kubernetes.gitops_suspend`: suspend or resume a Flux Kustomization (`spec.suspend`).

Used by `gitops: {mode: propose, also_act: true, suspend_while_proposed: true}`:
Flux would otherwise apply git again over the change on the cluster before
the pull request merges. The resume is a timed follow-up of the same
remediation (`GITOPS_SUSPEND_TIMEOUT`, or earlier when the pull request is
merged or declined: app/prwatch.py), audited as the service's own change. A
resume reads first and leaves a Kustomization that is not suspended alone.
The names come from the target's Flux labels: checked as DNS labels before use.
"""

from __future__ import annotations

import re
from typing import Any

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
        deadline = Deadline(request.timeout)
        what = f"Flux Kustomization {namespace}/{name}"
        if not suspend and not await self._suspended(namespace, name, deadline):
            return ActionResult(message=f"{what} is not suspended (resumed already); left "
                                        "alone", detail={"kustomization": f"{namespace}/{name}",
                                                         "suspend": False, "changed": False})
        operation = Operation(verb="patch", resource="kustomizations", namespace=namespace,
                              name=name)
        await call(operation, deadline,
                   lambda timeout: self._custom.patch_namespaced_custom_object(
                       "kustomize.toolkit.fluxcd.io", "v1", namespace, "kustomizations", name,
                       {"spec": {"suspend": suspend}}, _request_timeout=timeout,
                       _content_type="application/merge-patch+json"))
        verb = "suspended" if suspend else "resumed"
        return ActionResult(message=f"{verb} {what}",
                            detail={"kustomization": f"{namespace}/{name}", "suspend": suspend})

    async def _suspended(self, namespace: str, name: str, deadline: Deadline) -> bool:
        """Whether the Kustomization is suspended now: a resume leaves one that is not
        alone (resumed already, or by its owner), so resuming twice changes nothing."""
        reading = Operation(verb="get", resource="kustomizations", namespace=namespace,
                            name=name)
        found: Any = await call(reading, deadline,
                           lambda timeout: self._custom.get_namespaced_custom_object(
                               "kustomize.toolkit.fluxcd.io", "v1", namespace,
                               "kustomizations", name, _request_timeout=timeout))
        spec = found.get("spec") if isinstance(found, dict) else None
        return isinstance(spec, dict) and spec.get("suspend") is True
