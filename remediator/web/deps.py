"""Typed dependencies: the services object, who is asking, and what they may do.

A request proves who it is with, in this order:
- a bearer token: the webhook token acts, the read-only API token reads;
- a console session cookie (see `session.py`): a session stored in the
  database, which remembers which of the two tokens signed it in;
- `X-Forwarded-User` / `X-Forwarded-Email` from a trusted proxy address
  (oauth2-proxy); such users read unless listed in `PROXY_OPERATORS`.
No webhook token configured means `--dev`: everyone acts.

A reader on an acting endpoint gets 403 saying why, not 401. Tokens are
compared in constant time. Sessions and proxy users must send the CSRF token
with every POST (form field `csrf` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from remediator.app.services import Services
from remediator.store.readmodel import ReadModel
from remediator.web.forwarded import trusted_proxy
from remediator.web.metrics import web_metrics
from remediator.web.session import COOKIE, Expiry, Principal, Sessions, csrf_matches
from remediator.web.unauthenticated import RefusalSampler

log = logging.getLogger(__name__)

READ_ONLY = "this token may only read"
WEBHOOK_ACTOR = "webhook-token"
API_ACTOR = "api-token"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_reads(request: Request) -> ReadModel:
    """The read model the services hold: every read of the console and the API."""
    return get_services(request).reads


ReadsDep = Annotated[ReadModel, Depends(get_reads)]


def sessions(request: Request) -> Sessions:
    """The app's sessions (built on first use from the settings and the session store)."""
    state = request.app.state
    found: Sessions | None = getattr(state, "sessions", None)
    if found is None:
        services = get_services(request)
        settings = services.settings
        key = settings.resolved_session_key()
        found = state.sessions = Sessions(
            key, store=services.sessions, operators=services.operator_store,
            expiry=Expiry(ttl=settings.session_ttl, idle=settings.session_idle_timeout))
    return found


def _sampler(request: Request) -> RefusalSampler:
    found: RefusalSampler | None = getattr(request.app.state, "refusals", None)
    if found is None:
        found = request.app.state.refusals = RefusalSampler()
    return found


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def matches_token(presented: str | None, expected: str | None) -> bool:
    if presented is None or expected is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


class Unauthorized(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


def token_principal(request: Request) -> Principal | str | None:
    """The bearer token's principal, a reason it is refused, or None without one."""
    presented = _presented(request)
    if presented is None:
        return None
    if matches_token(presented, request.app.state.webhook_token):
        return Principal(actor=WEBHOOK_ACTOR, can_act=True, via="token")
    if matches_token(presented, request.app.state.api_token):
        return Principal(actor=API_ACTOR, can_act=False, via="token")
    return "invalid bearer token"


def _proxy_principal(request: Request, services: Services) -> Principal | None:
    trusted = services.settings.trusted_proxies
    user = (request.headers.get("x-forwarded-user")
            or request.headers.get("x-forwarded-email") or "").strip()
    if not trusted or not user or trusted_proxy(request) is None:
        return None
    email = request.headers.get("x-forwarded-email", "").strip()
    operators = set(services.settings.proxy_operators)
    user = user[:200]
    return Principal(actor=user, can_act=user in operators or (email in operators and bool(email)),
                     via="proxy", csrf=sessions(request).proxy_csrf(user))


async def identify(request: Request, services: Services) -> Principal | str:
    """Who is asking, or why nobody is (bearer, session, proxy, then dev mode).

    A session is read from the database on every request (in a worker
    thread): a revocation on any replica holds at the next request.
    """
    found = token_principal(request)
    if found is not None:
        return found
    cookie = request.cookies.get(COOKIE)
    if cookie:
        principal = await run_in_threadpool(sessions(request).read, cookie[:4096],
                                            services.clock())
        if principal is not None:
            return principal
    proxied = _proxy_principal(request, services)
    if proxied is not None:
        return proxied
    if request.app.state.webhook_token is None:
        return Principal(actor="dev", can_act=True, via="dev")
    return "missing bearer token" if not cookie else "session expired or signed out"


def auth_failure(request: Request, services: Services, *, read_only: bool) -> str | None:
    """Why a bearer-token request is not authorised (None when it is); the webhook's check.

    Only tokens count here: Alertmanager never holds a session.
    """
    if request.app.state.webhook_token is None and (
            request.app.state.api_token is None or not read_only):
        return None  # --dev without tokens
    found = token_principal(request)
    if found is None:
        return "missing bearer token"
    if isinstance(found, str):
        return found
    if not read_only and not found.can_act:
        return READ_ONLY
    return None


def note_refusal(request: Request, services: Services, reason: str) -> int | None:
    """Count a refused request; the number of unrecorded earlier ones when it is sampled.

    Returns None when this refusal is neither logged nor audited (the
    client was already sampled in this window).
    """
    route = request.scope.get("route")
    endpoint = getattr(route, "path", "") or "other"
    web_metrics(request).unauthenticated_requests.labels(endpoint=endpoint).inc()
    sample = _sampler(request).note(client_address(request), services.clock())
    if sample is None:
        return None
    log.warning("refused %s %s from %s: %s (%d more from this client unlogged before)",
                request.method, endpoint, client_address(request), reason, sample.suppressed)
    return sample.suppressed


async def csrf_refusal(request: Request, principal: Principal) -> str | None:
    """Why a POST from a session or proxy user lacks a valid CSRF token (None if fine)."""
    if principal.via not in ("session", "proxy") or request.method in ("GET", "HEAD"):
        return None
    presented = request.headers.get("x-csrf-token")
    if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        presented = value if isinstance(value, str) else None
    if csrf_matches(principal.csrf, presented):
        return None
    return "missing or wrong CSRF token: reload the page and try again"


def acting_refusal(principal: Principal) -> str | None:
    """Why this principal may not act (None when it may)."""
    if principal.can_act:
        return None
    if principal.via == "session":
        return "this session may only read: sign in with the webhook token to act"
    if principal.via == "proxy":
        return f"{principal.actor} may only read (not in PROXY_OPERATORS)"
    return READ_ONLY


async def require_reader(request: Request, services: ServicesDep) -> Principal:
    found = await identify(request, services)
    if isinstance(found, str):
        note_refusal(request, services, found)
        raise Unauthorized(found)
    return found


async def require_operator(request: Request, services: ServicesDep) -> Principal:
    principal = await require_reader(request, services)
    refusal = acting_refusal(principal) or await csrf_refusal(request, principal)
    if refusal:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    return principal


Operator = Depends(require_operator)
Reader = Depends(require_reader)
ReaderDep = Annotated[Principal, Depends(require_reader)]
OperatorDep = Annotated[Principal, Depends(require_operator)]
