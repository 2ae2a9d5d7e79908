"""Sign in and out from a browser: a token in, a server-side session out.

- Sign-in is CSRF-protected (double submit): `GET /login` puts a random
  pre-session token in a `SameSite=Strict` cookie and in the form; `POST
  /login` needs both, equal. Another site's form carries neither, so it
  cannot sign a browser into a session of the attacker's choosing. A
  browser that says the request is cross-site (`Sec-Fetch-Site`) is refused
  outright.
- Sign-in is throttled per client address and for everyone (`throttle`,
  counted in the database every replica shares): 429 with `Retry-After`.
  A throttled flood only reads; an attempt that may go ahead first takes
  its failure slot in one serialised transaction (given back when the token
  is right), so replicas together never judge more guesses than the limits.
  Failures are counted in `remediator_login_failures_total` and sampled
  into the audit log like every refused request.
- The session cookie is `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS,
  and holds a signed random id; the session is in the database (`session`).
- `POST /logout` (with the session's CSRF token) revokes the session on
  every replica. `GET /logout` only shows a button for it: a link or image
  on another site cannot sign anyone out.
"""

from __future__ import annotations

import contextlib
import secrets
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from remediator.app.services import Services
from remediator.operate import sessions as session_admin
from remediator.operate.operator_log import Actor
from remediator.store import StoreUnavailable
from remediator.store.sessions import SessionStore
from remediator.web.deps import (
    API_ACTOR,
    WEBHOOK_ACTOR,
    ServicesDep,
    client_address,
    csrf_refusal,
    identify,
    matches_token,
    note_refusal,
    sessions,
)
from remediator.web.metrics import web_metrics
from remediator.web.page import console_mode, render
from remediator.web.session import COOKIE, Principal
from remediator.web.throttle import LoginLimits, Verdict, wait

router = APIRouter(include_in_schema=False, dependencies=[Depends(console_mode)])

LOGIN_COOKIE = "remediator_login"
"""The pre-session CSRF token of the sign-in form."""
LOGIN_COOKIE_AGE = 3600
UNKNOWN_CREDENTIAL = "That token is neither the webhook token nor the API token."
FORM_EXPIRED = "The sign-in form expired or came from another site: sign in again."


def _safe_next(target: str) -> str:
    """Only a path of this site: never `//evil.example` or `https://...`."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:2000]


def _secure(request: Request, services: Services) -> bool:
    external = services.settings.external_url or ""
    return request.url.scheme == "https" or external.startswith("https://")


def _form_token(request: Request) -> str:
    """The browser's pre-session token, or a new one (several tabs share one)."""
    found = request.cookies.get(LOGIN_COOKIE, "")
    if 30 <= len(found) <= 64 and all(c.isalnum() or c in "-_" for c in found):
        return found
    return secrets.token_urlsafe(32)


def _login_page(request: Request, services: Services, status: int = 200, *,
                viewer: Principal | None = None, next: str = "/", error: str = "",
                headers: dict[str, str] | None = None) -> HTMLResponse:
    token = _form_token(request)
    response = render("login.html", status, viewer=viewer, next=_safe_next(next),
                      error=error, login_csrf=token)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_COOKIE_AGE, httponly=True,
                        samesite="strict", path="/login", secure=_secure(request, services))
    response.headers.update(headers or {})
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    found = await identify(request, services)
    viewer = None if isinstance(found, str) or found.via == "dev" else found
    return _login_page(request, services, viewer=viewer, next=next)


def _cross_site(request: Request, presented: str) -> bool:
    """Whether the form lacks the pre-session token of this browser, or the browser
    itself says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    expected = request.cookies.get(LOGIN_COOKIE, "")
    return not (expected and presented and secrets.compare_digest(
        expected.encode(), presented.encode()))


def limits(services: Services) -> LoginLimits:
    settings = services.settings
    return LoginLimits(per_client=settings.login_max_failures,
                       overall=settings.login_max_failures_global,
                       window=settings.login_failure_window)


def throttled(services: Services, store: SessionStore, client: str) -> Verdict:
    """Whether this client may try now (blocking: one read of two index ranges)."""
    now, bounds = services.clock(), limits(services)
    client_nth, overall_nth = store.nth_failures(
        since=now - bounds.window, client=client, per_client=bounds.per_client,
        overall=bounds.overall)
    return wait(bounds, now, client_nth=client_nth, overall_nth=overall_nth)


def _reserve(services: Services, store: SessionStore, client: str) -> int | None:
    bounds, now = limits(services), services.clock()
    return store.reserve_attempt(client, at=now, since=now - bounds.window,
                                 per_client=bounds.per_client, overall=bounds.overall)


async def _throttled(request: Request, services: Services, verdict: Verdict,
                     next: str) -> HTMLResponse:
    retry = max(verdict.retry_after, 1)
    await _refused(request, services, f"too many failed sign-ins ({verdict.scope or 'busy'})",
                   429, "throttled")
    return _login_page(request, services, 429, next=next,
                       error=f"Too many failed sign-ins: try again in {retry} seconds.",
                       headers={"Retry-After": str(retry)})


async def _refused(request: Request, services: Services, reason: str, status: int,
                   metric: str) -> None:
    """Count a refused sign-in; sample it into the log and the audit (`unauthenticated`)."""
    web_metrics(request).login_failures.labels(reason=metric).inc()
    suppressed = note_refusal(request, services, reason)
    if suppressed is not None:
        detail = {"status": status, "client": client_address(request), "endpoint": "/login",
                  "unrecorded_before": suppressed}
        with contextlib.suppress(StoreUnavailable):
            await run_in_threadpool(services.intake.reject, reason=f"sign-in refused: {reason}",
                                    detail=detail)


@router.post("/login", response_model=None)
async def login(request: Request, services: ServicesDep,
                token: Annotated[str, Form(max_length=4096)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/",
                csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    if _cross_site(request, csrf):
        return _login_page(request, services, 403, next=next, error=FORM_EXPIRED)
    client = client_address(request)
    store = sessions(request).store
    verdict = await run_in_threadpool(throttled, services, store, client)
    attempt = None if not verdict.allowed else await run_in_threadpool(
        _reserve, services, store, client)
    if attempt is None:  # throttled (the read said so, or a concurrent attempt took the slot)
        if verdict.allowed:
            verdict = await run_in_threadpool(throttled, services, store, client)
        return await _throttled(request, services, verdict, next)
    state = request.app.state
    presented = token.strip()
    if matches_token(presented, state.webhook_token):
        actor, can_act = WEBHOOK_ACTOR, True
    elif matches_token(presented, state.api_token):
        actor, can_act = API_ACTOR, False
    else:  # the reserved attempt stays counted as the failure it was
        await _refused(request, services, "wrong token at sign-in", 401, "wrong_token")
        return _login_page(request, services, 401, next=next, error=UNKNOWN_CREDENTIAL)
    await run_in_threadpool(store.release, attempt)
    value, _ = await run_in_threadpool(partial(
        sessions(request).issue, actor=actor, can_act=can_act, now=services.clock(),
        client=client, user_agent=request.headers.get("user-agent", "")))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, value, max_age=int(services.settings.session_ttl.total_seconds()),
                        httponly=True, samesite="strict", path="/",
                        secure=_secure(request, services))
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")
    return response


def _signed_out() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request, services: ServicesDep) -> Response:
    """Revoke this browser's session (CSRF-checked) on every replica, and forget the cookie."""
    found = await identify(request, services)
    if isinstance(found, str) or found.via != "session":
        return _signed_out()  # nothing of ours to revoke: only forget the cookie
    refusal = await csrf_refusal(request, found)
    if refusal is not None:
        return render("error.html", 403, viewer=found, status=403, message=refusal, back="/")
    actor = Actor(name=found.actor, via="session", client=client_address(request))
    await run_in_threadpool(partial(session_admin.signed_out, services.operator_store,
                                    found.session,
                                    actor=actor, now=services.clock()))
    return _signed_out()


@router.get("/logout", response_model=None)
async def logout_page(request: Request, services: ServicesDep) -> Response:
    """A page with the sign-out button; GET itself changes nothing."""
    found = await identify(request, services)
    if isinstance(found, str) or found.via != "session":
        return RedirectResponse("/login", status_code=303)
    return render("logout.html", viewer=found)
