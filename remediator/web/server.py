"""`remediator serve`: logging, the socket, the services, the app, uvicorn.

The order is what an operator sees: a port in use, invalid rules, an
unreachable database or a broken cluster configuration are each ONE line
and a non-zero exit, before anything is served. The socket is bound first,
so "Application startup complete" can never precede "address already in use",
and rules load before the database is touched.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import uvicorn

from remediator.app import logs
from remediator.app.heap import freeze_long_lived
from remediator.app.settings import Settings
from remediator.evidence import detectors
from remediator.rules.model import RuleLoadError
from remediator.web.connections import connection_cap, guarded_protocol, raise_descriptor_limit

log = logging.getLogger("remediator")

NO_FORWARDED: dict[str, Any] = {"proxy_headers": False, "forwarded_allow_ips": []}
"""uvicorn must not read `X-Forwarded-*` (it would for loopback peers by default):
the app's `ForwardedFor` middleware does, for `TRUSTED_PROXIES` only."""


def serve(settings: Settings, *, kube_environ: Mapping[str, str] | None = None,
          on_listening: Callable[[str], None] | None = None) -> None:
    """Serve until stopped. `kube_environ` and `on_listening` are the demo's hooks: the
    Kubernetes configuration to load instead of the environment's, and a callback
    given the base URL once the socket is served."""
    logs.setup(settings.log_level, settings.log_format)
    from remediator.app.services import Services
    from remediator.web.app import check_settings, create_app

    try:
        check_settings(settings)
        settings.read_secret_files()
    except Exception as error:
        _refuse(one_line(error), 2)
    sock = _listen_or_exit(settings)
    try:
        services = Services.build(settings, kube_environ=kube_environ)
        app = create_app(settings, services=services)
    except RuleLoadError as error:
        _refuse(f"invalid rules: {describe_rule_errors(error)}", 2)
    except Exception as error:
        log.debug("start-up failed", exc_info=True)
        _refuse(one_line(error), 2 if isinstance(error, ValueError) else 1)
    descriptors = raise_descriptor_limit()
    cap = connection_cap(settings.max_connections, descriptors)
    log.info("accepting %d connections at most (descriptor limit %d)", cap, descriptors)
    limits = connection_limits(settings.model_copy(update={"max_connections": cap}))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=15, **limits, **NO_FORWARDED)
    server = _Server(config, announce=listening(sock, settings), on_listening=on_listening)
    freeze_long_lived("start-up")
    refused: list[str] = []
    if services.kubernetes is not None:
        services.kubernetes.on_failure = lambda error: _stop(server, refused, error)
        services.kubernetes.on_loaded = _kubernetes_loaded
    server.run(sockets=[sock])
    if refused:
        sys.exit(1)
    if not server.started:
        sys.exit(1)


class _Server(uvicorn.Server):
    """uvicorn, saying where it listens once it does (it says nothing when given a socket)."""

    def __init__(self, config: uvicorn.Config, *, announce: str,
                 on_listening: Callable[[str], None] | None = None) -> None:
        super().__init__(config)
        self._announce = announce
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("%s", self._announce)
            if self._on_listening is not None and sockets:
                self._on_listening(base_url(sockets[0]))


def listening(sock: socket.socket, settings: Settings) -> str:
    """Where to point Alertmanager and a browser: the address really bound (port 0
    becomes the port the system chose), the webhook's path and the console's URL."""
    base = base_url(sock)
    console = settings.external_url or f"{base}/"
    return f"listening on {base}: webhook {base}/webhook/alertmanager, console {console}"


def base_url(sock: socket.socket) -> str:
    """`http://HOST:PORT` of a bound socket (an IPv6 host in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _kubernetes_loaded() -> None:
    """In the loading thread, once the client is in: what evidence needs, then freeze.

    The secret detectors (redaction of evidence, about a second to import)
    load here, after the client and not beside it: both import `requests`,
    and two threads importing it at once fail with a partial import.
    """
    detectors.detectors()
    freeze_long_lived("the Kubernetes client")


def _stop(server: uvicorn.Server, refused: list[str], error: BaseException) -> None:
    """The Kubernetes client failed to load after the configuration was read: stop.

    Called from the loading thread, before the worker has claimed anything:
    the same one line as a configuration refused at start-up, then a clean
    shutdown and exit status 1; queued actions wait for the next start.
    """
    log.debug("loading the Kubernetes client failed", exc_info=error)
    refused.append(one_line(error))
    log.error("refusing to start: %s", refused[0])
    server.should_exit = True


def connection_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn options bounding each connection's time and their number."""
    return {
        "http": guarded_protocol(header_timeout=settings.header_timeout.total_seconds(),
                                 body_timeout=settings.body_timeout.total_seconds(),
                                 max_connections=settings.max_connections),
        "timeout_keep_alive": max(1, round(settings.keepalive_timeout.total_seconds())),
        "limit_concurrency": settings.max_connections + 1,  # ours answers 503 first
        "h11_max_incomplete_event_size": 64 * 1024,  # request line and headers
    }


def _listen_or_exit(settings: Settings) -> socket.socket:
    try:
        return bind(settings.host, settings.port)
    except OSError as error:
        _refuse(f"cannot listen on {settings.listen}: {error.strerror or error}", 1)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket for host:port (IPv4 or IPv6), bound now."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def describe_rule_errors(error: RuleLoadError) -> str:
    first = str(error.errors[0]) if error.errors else "no rules"
    more = f" (and {len(error.errors) - 1} more: run `remediator rules check`)" \
        if len(error.errors) > 1 else ""
    return first + more


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def _refuse(message: str, code: int) -> NoReturn:
    log.error("refusing to start: %s", message)
    sys.exit(code)
