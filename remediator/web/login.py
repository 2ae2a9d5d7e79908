"""Sign in from a browser: a token in, a signed session cookie out.

The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other
site's form carries it), `Secure` when the console is served over HTTPS, and
expires with `SESSION_TTL`. It remembers whether the webhook token (acts) or
the read-only API token (reads) signed it in, never the token itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from remediator.web.deps import (
    API_ACTOR,
    WEBHOOK_ACTOR,
    ServicesDep,
    identify,
    matches_token,
    note_refusal,
    sessions,
)
from remediator.web.page import render
from remediator.web.session import COOKIE

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only a path of this site: never `//evil.example` or `https://...`."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:2000]


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    found = identify(request, services)
    viewer = None if isinstance(found, str) or found.via == "dev" else found
    return render("login.html", viewer=viewer, next=_safe_next(next), error="")


@router.post("/login", response_model=None)
async def login(request: Request, services: ServicesDep,
                token: Annotated[str, Form(max_length=4096)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    state = request.app.state
    presented = token.strip()
    if matches_token(presented, state.webhook_token):
        actor, can_act = WEBHOOK_ACTOR, True
    elif matches_token(presented, state.api_token):
        actor, can_act = API_ACTOR, False
    else:
        note_refusal(request, services, "wrong token at sign-in")
        return render("login.html", 401, viewer=None, next=_safe_next(next),
                      error="That token is neither the webhook token nor the API token.")
    value, _ = sessions(request).issue(actor=actor, can_act=can_act)
    response = RedirectResponse(_safe_next(next), status_code=303)
    external = services.settings.external_url or ""
    response.set_cookie(COOKIE, value, max_age=int(services.settings.session_ttl.total_seconds()),
                        httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https" or external.startswith("https://"))
    return response


@router.post("/logout", response_model=None)
@router.get("/logout", response_model=None)
async def logout() -> Response:
    """Forget the session cookie (harmless to trigger from anywhere, so GET works too)."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
