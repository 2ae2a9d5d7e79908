"""Connections that end: header, body and idle deadlines, and a cap below the descriptor limit.

uvicorn's h11 protocol closes an idle keep-alive connection, but a client
that connects and sends nothing, or sends headers or a body a byte at a
time, holds a descriptor for ever; 1,100 of them under `ulimit -n 1024`
starved `/-/healthy` and the webhook. Here each connection must deliver its
request headers within `header_timeout` and its body within `body_timeout`
(else 408 and close), and connections beyond `max_connections` get an
immediate 503 and close, so the process never runs out of descriptors
(which made asyncio log "socket.accept() out of system resource" in a tight
loop).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_RESERVED_DESCRIPTORS = 128
"""Kept free for the database, log files, Kubernetes and Alertmanager clients, plays."""

_408 = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: 24\r\n\r\nrequest not sent in time")
_503 = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"retry-after: 1\r\nconnection: close\r\ncontent-length: 20\r\n\r\n"
        b"too many connections")


def raise_descriptor_limit(wanted: int = 65536) -> int:
    """Raise the soft RLIMIT_NOFILE towards the hard limit; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("cannot raise the descriptor limit from %d to %d: %s", soft, target,
                        error)
    return soft if soft != resource.RLIM_INFINITY else wanted


def connection_cap(max_connections: int, descriptor_limit: int) -> int:
    """`max_connections`, but always below the descriptors the process may open."""
    return max(1, min(max_connections, descriptor_limit - _RESERVED_DESCRIPTORS))


@dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """The deadlines (seconds) and the cap one server's connections live under."""

    header_timeout: float
    body_timeout: float
    max_connections: int


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, ending connections that break `limits` (408 or 503)."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            self._refuse(_503)
            return
        self._arm(self.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        waiting = self.conn.their_state is h11.IDLE
        if waiting and self._deadline is None:  # the next request on a kept-alive connection
            self._arm(self.limits.header_timeout)
        super().data_received(data)
        state = self.conn.their_state
        if waiting and state is h11.SEND_BODY:
            self._arm(self.limits.body_timeout)
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        started = self.cycle is not None and self.cycle.response_started
        self._refuse(b"" if started else _408)

    def _refuse(self, response: bytes) -> None:
        if self.transport.is_closing():
            return
        if response:
            self.transport.write(response)
        self.transport.close()


def guarded_protocol(*, header_timeout: float, body_timeout: float,
                     max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with these deadlines and cap (pass as `Config(http=...)`).

    uvicorn builds the protocol itself, one per connection, so the limits ride
    on a subclass rather than on a constructor argument.
    """
    configured = ConnectionLimits(header_timeout=header_timeout, body_timeout=body_timeout,
                                  max_connections=max_connections)

    class Configured(GuardedH11Protocol):
        limits = configured

    return Configured
