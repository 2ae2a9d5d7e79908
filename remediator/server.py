"""`remediator serve`: logging, the app, uvicorn."""

from __future__ import annotations

import logging
import sys

import uvicorn

from remediator import logs
from remediator.rules import RuleLoadError
from remediator.settings import Settings
from remediator.web.app import ConfigurationError, create_app

log = logging.getLogger("remediator")


def serve(settings: Settings) -> None:
    logs.setup(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except ConfigurationError as error:
        log.error("%s", error)
        sys.exit(2)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=15)
    server = uvicorn.Server(config)
    try:
        server.run()
    except RuleLoadError as error:
        log.error("refusing to start: invalid rules\n%s", error)
        sys.exit(2)
    if not server.started:
        sys.exit(1)
