"""The FastAPI application: `create_app(settings)` with everything injectable.

Lifespan builds the services (migrations, rules: bad rules refuse to start),
starts the scheduler, and on shutdown lets running actions finish.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from remediator import __version__
from remediator.app.chat import chat_problem
from remediator.app.scheduler import build_scheduler
from remediator.app.services import Services
from remediator.app.settings import Settings
from remediator.store import StoreUnavailable
from remediator.web import api, chat, chat_mattermost, login, ops, page, sessions_api, webhook
from remediator.web.forwarded import ForwardedFor, proxy_networks
from remediator.web.graph import Grapher
from remediator.web.headers import SecurityHeaders, swagger_page
from remediator.web.metrics import WebMetrics

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
"""The console's stylesheet: no inline style, so the page's CSP needs no exception."""


class ConfigurationError(Exception):
    """Settings that cannot run safely (e.g. no webhook token outside --dev)."""


def check_settings(settings: Settings) -> str | None:
    """The webhook token; raise ConfigurationError when the service must not run."""
    webhook_token = settings.resolved_webhook_token()
    try:
        proxy_networks(settings.trusted_proxies)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    chat = chat_problem(settings)
    if chat is not None:
        raise ConfigurationError(chat)
    if webhook_token is None and not settings.dev:
        raise ConfigurationError("no webhook token: set REMEDIATOR_WEBHOOK_TOKEN or "
                                 "REMEDIATOR_WEBHOOK_TOKEN_FILE, or run with --dev")
    return webhook_token


def create_app(settings: Settings, *, scheduler: bool = True, services: Services | None = None,
               **inject: Any) -> FastAPI:
    """The app; `inject` goes to `Services.build` (database, metrics, clock, actions...).

    `serve` builds `services` before uvicorn starts, so start-up errors (rules,
    database, cluster) are one line of ours rather than a lifespan traceback.
    """
    webhook_token = check_settings(settings)
    if webhook_token is None:
        log.warning("DEV MODE: no webhook token configured; anyone who can reach %s can "
                    "trigger remediations", settings.listen)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = services if services is not None else Services.build(settings, **inject)
        app.state.services = built
        app.state.metrics = WebMetrics.of(built.metrics)
        app.state.grapher = Grapher(built.prometheus.client.config
                                    if built.prometheus is not None else None)
        built.writer.start()
        jobs = build_scheduler(built) if scheduler else None
        if jobs is not None:
            jobs.start()
        built.start()  # the Kubernetes client loads while we serve; the worker waits for it
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
            await built.writer.stop()
            await built.worker.stop()
            await built.aclose()
            app.state.grapher.close()

    app = FastAPI(title="remediator", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.add_api_route("/api/docs", _docs, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.webhook_token = webhook_token
    app.state.api_token = settings.resolved_api_token()
    for module in (webhook, chat, chat_mattermost, api, sessions_api, ops, page, login):
        app.include_router(module.router)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_middleware(SecurityHeaders)
    # Added last, so outermost: every layer below sees the client address we decided.
    app.add_middleware(ForwardedFor, trusted=settings.trusted_proxies)
    return app


async def _docs() -> HTMLResponse:
    return swagger_page(openapi_url="/openapi.json", title="remediator API")


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": f"store unavailable: {error}"}, status_code=503,
                        headers={"Retry-After": "5"})


async def _bad_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"loc": ".".join(map(str, e["loc"])), "msg": e["msg"]} for e in error.errors()]
    return JSONResponse({"error": "invalid request", "details": errors}, status_code=400)
