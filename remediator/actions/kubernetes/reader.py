"""Read-only Kubernetes calls for evidence, on threads of their own, as plain dicts.

Each call gets the time left of the snapshot's budget as its request
timeout, and runs on a small executor owned by the snapshot action, so a
slow API server holds those threads for at most the budget and never the
default pool the webhook's writer uses. Failures become `EvidenceError`
with the same wording as the actions' errors (status, verb, target; never
headers).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import urllib3
from kubernetes.client import ApiClient, AppsV1Api, AutoscalingV2Api, CoreV1Api
from kubernetes.client.exceptions import ApiException

from remediator.actions.kubernetes.client import Operation, api_error, transport_error
from remediator.evidence import revisions
from remediator.evidence.budget import Gathering


class EvidenceError(RuntimeError):
    """One read for evidence failed; the message names the call."""


class KubeReader:
    def __init__(self, api_client: ApiClient, executor: Executor) -> None:
        self._client = api_client
        self._executor = executor
        self.core = CoreV1Api(api_client)
        self.apps = AppsV1Api(api_client)
        self.autoscaling = AutoscalingV2Api(api_client)

    async def read(self, gathering: Gathering, operation: Operation,
                   request: Callable[[float], Any]) -> Any:
        """`request(timeout)` (called with `_preload_content=False`) in the executor.

        The raw answer is parsed here: JSON as plain dicts (camelCase keys, as
        the API server sends them), anything else as text (a log). Skipping
        the client's models keeps a snapshot from failing on a field the
        models do not know or require.
        """
        remaining = gathering.remaining()
        if remaining <= 0.05:
            raise EvidenceError(f"{operation}: out of time")
        loop = asyncio.get_running_loop()
        try:
            data, content_type = await loop.run_in_executor(
                self._executor, lambda: _fetch(request, remaining))
        except ApiException as error:
            raise EvidenceError(api_error(operation, error).message) from None
        except urllib3.exceptions.HTTPError as error:
            if gathering.remaining() <= 0.05:
                # The call's timeout was the budget's remainder: whichever of the two
                # fired first, the part ran out of the budget, and says so the same way.
                raise EvidenceError(gathering.timed_out()) from None
            raise EvidenceError(transport_error(operation, error, remaining).message) from None
        text = data.decode("utf-8", errors="replace")
        if "json" not in content_type:
            return text
        try:
            return json.loads(text)
        except ValueError:
            raise EvidenceError(f"{operation}: the API server sent invalid JSON") from None

    async def replicasets(self, gathering: Gathering, namespace: str,
                          deployment: dict[str, Any]) -> list[dict[str, Any]]:
        """The ReplicaSets that may belong to `deployment`: those its selector matches.

        At most `revisions.REPLICASET_LIMIT` of them (a namespace may hold
        thousands of others); `revisions.history` keeps the ones it owns. A
        longer list is refused as evidence, as `rollout_undo` refuses it:
        the oldest revisions shown could be the wrong ones.
        """
        name = str((deployment.get("metadata") or {}).get("name", ""))
        operation = Operation(verb="list", resource="replicasets", namespace=namespace,
                              name=name)
        selector = revisions.label_selector(deployment)
        if selector is None:
            raise EvidenceError(f"{operation}: the deployment has no selector")
        listed = await self.read(gathering, operation, lambda t: (
            self.apps.list_namespaced_replica_set(
                namespace, label_selector=selector, limit=revisions.REPLICASET_LIMIT,
                _request_timeout=t, _preload_content=False)))
        if not isinstance(listed, dict):
            raise EvidenceError(f"{operation}: the API server sent an unexpected answer")
        if revisions.truncated(listed):
            raise EvidenceError(f"{operation}: more than {revisions.REPLICASET_LIMIT} "
                                f"ReplicaSets match {selector!r}; history not shown")
        return list(listed.get("items") or [])


def _fetch(request: Callable[[float], Any], timeout: float) -> tuple[bytes, str]:
    """Call, read the whole body and give the connection back to the pool (in the thread)."""
    response = request(timeout)
    try:
        data: bytes = response.data
        return data, str(response.headers.get("Content-Type", ""))
    finally:
        response.release_conn()
