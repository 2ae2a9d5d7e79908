"""Security headers on every route, whatever the answer (200, 303, 401, 404, 405...)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from remediator.web.headers import CONSOLE_POLICY, HEADERS
from tests.web.conftest import auth

EXPECTED = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer"}


CONSOLE = [("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("GET", "/logout"),
           ("POST", "/logout"), ("GET", "/audit"), ("GET", "/remediations/0000"),
           ("POST", "/remediations/0000/approve"), ("POST", "/console/pause"),
           ("GET", "/api/docs"), ("GET", "/static/console.css"), ("GET", "/favicon.ico")]


def _requests(client: TestClient) -> list[tuple[str, str]]:
    """Every API route the schema lists (with placeholder ids), and the console's pages."""
    found = list(CONSOLE)
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "0000", path)
        found.extend((method.upper(), concrete) for method in operations)
    return found


def test_every_route_answers_with_the_security_headers(client: TestClient) -> None:
    requests = _requests(client)
    assert len(requests) > 20
    for method, path in requests:
        for headers in ({}, auth()):
            response = client.request(method, path, headers=headers, follow_redirects=False)
            for name, value in EXPECTED.items():
                assert response.headers.get(name) == value, (method, path, response.status_code)
            policy = response.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in policy, (method, path)
            assert "unsafe-inline" not in policy, (method, path)


def test_the_console_policy_allows_only_our_own_files(client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["content-security-policy"] == CONSOLE_POLICY
    assert "default-src 'self'" in CONSOLE_POLICY
    assert "<style" not in page.text and "style=" not in page.text and "<script" not in page.text
    css = client.get("/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"


def test_a_missing_page_and_a_bad_request_carry_them_too(client: TestClient) -> None:
    for response in (client.get("/no/such/page"),
                     client.post("/webhook/alertmanager", content=b"{", headers={
                         **auth(), "content-type": "application/json"})):
        assert response.status_code in (400, 404, 422)
        assert set(HEADERS) <= set(response.headers)


def test_the_api_docs_page_says_its_own_policy(client: TestClient) -> None:
    docs = client.get("/api/docs")
    policy = docs.headers["content-security-policy"]
    assert docs.headers.get_list("content-security-policy") == [policy]
    assert "'sha256-" in policy and "https://cdn.jsdelivr.net" in policy
    assert "unsafe-inline" not in policy
    assert docs.headers["x-frame-options"] == "DENY"
