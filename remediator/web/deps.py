"""Typed dependencies: the services object and the two levels of bearer auth.

- `Operator`: the webhook token. Triggers and controls remediation.
- `Reader`: the webhook token or the read-only API token. Reads the log.
Tokens are compared in constant time; no token configured means `--dev`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from remediator.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def _matches(presented: str | None, expected: str | None) -> bool:
    if presented is None or expected is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class Unauthorized(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


def auth_failure(request: Request, services: Services, *, read_only: bool) -> str | None:
    """Why this request is not authorised (None when it is)."""
    webhook_token = request.app.state.webhook_token
    api_token = request.app.state.api_token
    if webhook_token is None and (api_token is None or not read_only):
        return None  # --dev without tokens
    presented = _presented(request)
    if presented is None:
        return "missing bearer token"
    if _matches(presented, webhook_token):
        return None
    if read_only and _matches(presented, api_token):
        return None
    return "invalid bearer token"


def require_operator(request: Request, services: ServicesDep) -> None:
    failure = auth_failure(request, services, read_only=False)
    if failure:
        raise Unauthorized(failure)


def require_reader(request: Request, services: ServicesDep) -> None:
    failure = auth_failure(request, services, read_only=True)
    if failure:
        raise Unauthorized(failure)


Operator = Depends(require_operator)
Reader = Depends(require_reader)
