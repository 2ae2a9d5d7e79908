"""`kubernetes.gitops_owner`: who reconciles the target from git (`evidence.ownership`).

Read-only. Every path is a plain GET through the shared client (one
attempt, the request's time budget as its timeout), answered as a dict;
a 404 is "not there", any other failure `Unreadable`, which the ownership
walk turns into "unknown" with a note. Only the status and path reach a
note, never the response headers. With `params.field` the action instead
reads one live value of the target (verification: did the controller put
git's value back?).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from remediator.evidence.ownership import Gone, Tracking, Unreadable, read_ownership
from remediator.model.actions import ActionError, ActionRequest, ActionResult, TargetGone


class GitopsOwnerAction:
    def __init__(self, api_client: ApiClient) -> None:
        self._client = api_client

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.namespace is None:
            raise ActionError(f"cannot check a {request.kind!r} target without a namespace")
        tracking = Tracking(
            label=str(request.params.get("tracking_label") or Tracking.label),
            argocd_namespace=str(request.params.get("argocd_namespace")
                                 or Tracking.argocd_namespace))
        end = time.monotonic() + request.timeout
        namespace, name = request.namespace, request.name

        def walk() -> dict[str, Any]:
            return read_ownership(lambda path: self._get(path, end), request.kind,
                                  namespace, name, tracking).to_json()

        try:
            detail = await asyncio.to_thread(walk)
        except Gone as gone:
            raise TargetGone(str(gone)) from None
        return ActionResult(message=f"ownership of {request.target}", detail=detail)

    def _get(self, path: str, end: float) -> Mapping[str, Any] | None:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise Unreadable(0, "out of time")
        method, url, headers, body, post = self._client.param_serialize(
            "GET", path, header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"])
        data: bytes | None = None
        try:
            response = self._client.call_api(method, url, headers, body, post,
                                             _request_timeout=remaining)
            data = _read(response)
        except ApiException as error:
            status = int(error.status or 0)
        except urllib3.exceptions.HTTPError as error:
            raise Unreadable(0, f"no answer on GET {path}: {type(error).__name__}") from None
        else:
            status = int(response.status)
        if status == 404:
            return None
        if not 200 <= status < 300:
            raise Unreadable(status, f"HTTP {status} on GET {path}")
        parsed = json.loads(data or b"null")
        return parsed if isinstance(parsed, dict) else None


def _read(response: Any) -> bytes | None:
    """The body of a `RESTResponse` (its `read` is untyped)."""
    response.read()
    body: bytes | None = response.data
    return body
