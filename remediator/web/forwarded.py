"""Proxy trust, decided once and by us: which peers may speak for a client.

uvicorn rewrites the client address from `X-Forwarded-For` for the peers in
`forwarded_allow_ips`, which is 127.0.0.1 by default, before any code of ours
runs. Then anything reaching us over loopback (a mesh sidecar, `kubectl
port-forward`, a local user) could claim to come from a trusted proxy and,
with `X-Forwarded-User`, act as an operator. So `serve` runs uvicorn with its
forwarded handling off, and this middleware, outermost in the app, does it
instead, for the peers in `TRUSTED_PROXIES` only (empty: nobody, not even
loopback):

- a request whose TCP peer is a trusted proxy is marked with that peer
  (`trusted_proxy(request)`: only such requests may carry `X-Forwarded-User`)
  and its client address becomes the one the proxy forwarded (uvicorn's own
  `ProxyHeadersMiddleware`, restricted to the same list), so the audit
  names the person behind the proxy;
- any other request keeps its true peer address, whatever headers it sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

_PEER = "remediator.proxy_peer"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES` as networks; an entry that is neither address nor network is refused.

    Refused rather than skipped: a typo there would otherwise silently turn
    the operators behind the proxy into strangers (or, worse, a hostname
    would be read as trust in whatever it resolves to later).
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or "
                             "network") from None
    return tuple(networks)


class ForwardedFor:
    """Pure ASGI: trust `X-Forwarded-*` from the configured proxies' addresses only."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[str]) -> None:
        self._app = app
        self._networks = proxy_networks(trusted)
        self._rewrite = ProxyHeadersMiddleware(
            app, trusted_hosts=[str(net) for net in self._networks])  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = _peer(scope)
        if peer is None or not self._trusts(peer):
            await self._app(scope, receive, send)
            return
        scope[_PEER] = peer
        await self._rewrite(scope, receive, send)  # type: ignore[arg-type]

    def _trusts(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._networks)


def _peer(scope: Scope) -> str | None:
    if scope["type"] not in ("http", "websocket"):
        return None
    client = scope.get("client")
    return str(client[0]) if client else None


def trusted_proxy(connection: HTTPConnection) -> str | None:
    """The trusted proxy this request came through (its TCP peer), or None."""
    found = connection.scope.get(_PEER)
    return str(found) if found is not None else None
