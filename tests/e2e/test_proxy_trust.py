"""Proxy trust through a real `remediator serve` (uvicorn) over loopback.

uvicorn trusts `X-Forwarded-For` from 127.0.0.1 by default; an attacker on
loopback (a sidecar, `kubectl port-forward`) then claimed the address of the
oauth2-proxy and its `X-Forwarded-User`, and acted as an operator. Here the
server trusts 10.9.9.9 (the issue's proxy) and 127.0.0.2 (a proxy we can
really connect from: Linux routes all of 127/8 to loopback).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.edge.serving import Server, run_once, running

pytestmark = pytest.mark.slow

TOKEN = "proxy-test-webhook-token"
ALICE = {"X-Forwarded-User": "alice"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("proxy"), REMEDIATOR_WEBHOOK_TOKEN=TOKEN,
                 REMEDIATOR_TRUSTED_PROXIES="10.9.9.9,127.0.0.2",
                 REMEDIATOR_PROXY_OPERATORS="alice") as served:
        yield served


def _client(server: Server, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10, follow_redirects=False,
                        transport=httpx.HTTPTransport(local_address=source))


def _audit(server: Server, **params: str) -> list[dict[str, Any]]:
    with _client(server) as http:
        found = http.get("/api/v1/audit", params=params,
                         headers={"Authorization": f"Bearer {TOKEN}"})
    found.raise_for_status()
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def _paused(server: Server) -> bool:
    with _client(server) as http:
        status = http.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    return bool(status.json()["paused"])


@pytest.mark.parametrize("claimed", ["10.9.9.9", "127.0.0.2", "203.0.113.5, 10.9.9.9"])
def test_a_loopback_client_claiming_a_proxy_address_is_nobody(server: Server,
                                                             claimed: str) -> None:
    spoofed = {**ALICE, "X-Forwarded-For": claimed, "X-Real-IP": "10.9.9.9"}
    with _client(server) as http:
        # First, so that this client's one sampled refusal a minute is this audited one.
        delivery = http.post("/webhook/alertmanager", json={}, headers={
            **spoofed, "Authorization": "Bearer wrong"})
        assert delivery.status_code == 401
        for path in ("/", "/audit"):
            page = http.get(path, headers=spoofed)
            assert page.status_code == 303
            assert page.headers["location"].startswith("/login")
        pause = http.post("/api/v1/pause", params={"reason": "spoofed"}, headers=spoofed)
        assert pause.status_code == 401
        console = http.post("/console/pause", headers=spoofed,
                            data={"reason": "spoofed", "csrf": "x"})
        assert console.status_code == 303
        assert console.headers["location"].startswith("/login")
    assert not _paused(server)
    refused = [line for line in server.lines if "refused " in line]
    assert refused
    assert all(" from 127.0.0.1:" in line for line in refused), refused
    rejected = _audit(server, outcome="rejected")
    assert rejected, "the refused delivery is sampled into the audit log"
    assert {entry["detail"]["client"] for entry in rejected} == {"127.0.0.1"}
    assert not _audit(server, outcome="operator")


def test_the_trusted_proxy_speaks_for_its_user_and_the_audit_names_the_user(
        server: Server) -> None:
    through_proxy = {**ALICE, "X-Forwarded-For": "198.51.100.7"}
    with _client(server, source="127.0.0.2") as http:
        page = http.get("/", headers=through_proxy)
        assert page.status_code == 200
        assert "alice (may act)" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        done = http.post("/console/pause", headers=through_proxy,
                         data={"csrf": csrf.group(1), "reason": "maintenance"})
        assert done.status_code == 303
        bob = http.post("/api/v1/resume", headers={"X-Forwarded-User": "bob"})
        assert bob.status_code == 403
    try:
        assert _paused(server)
        entry = _audit(server, outcome="operator")[0]
        assert entry["detail"] == {"actor": "alice", "via": "proxy", "client": "198.51.100.7"}
    finally:
        with _client(server) as http:
            http.post("/api/v1/resume", headers={"Authorization": f"Bearer {TOKEN}"})


def test_a_proxy_list_entry_that_is_not_an_address_refuses_to_start(tmp_path: Path) -> None:
    done = run_once("--dev", "--rules", "rules", "--database-url",
                    f"sqlite:///{tmp_path / 'r.db'}", "--kubernetes", "off",
                    REMEDIATOR_TRUSTED_PROXIES="oauth2-proxy.auth.svc")
    assert done.returncode == 2
    assert "TRUSTED_PROXIES: 'oauth2-proxy.auth.svc' is not an IP address" in done.stderr
