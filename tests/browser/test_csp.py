"""The console under its Content-Security-Policy in Chromium: no violation, no console error.

Chromium enforces the policy as a visitor's browser would, reports each
violation as a `securitypolicyviolation` event and a console error, and
applies the stylesheet only if it is allowed: the computed style proves the
styles still arrive (moved from inline to `/static/console.css`).
"""

from __future__ import annotations

import pytest
from playwright.async_api import ConsoleMessage, Page

from tests.actions.conftest import Cluster, pod
from tests.browser.conftest import TOKEN, Console, sign_in

pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', event => window.__violations.push(
    event.violatedDirective + ' ' + (event.blockedURI || 'inline')));
"""


async def test_console_pages_load_without_policy_violations(
        console: Console, page: Page, cluster: Cluster) -> None:
    errors: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            errors.append(message.text)

    page.on("console", note)
    await page.add_init_script(WATCH)
    cluster.add(pod("web-1"))
    decision = await console.deliver("web-1")
    seen: dict[str, list[str]] = {}

    async def visit(name: str, url: str | None = None) -> None:
        if url is not None:
            response = await page.goto(url)
            assert response is not None and response.ok, name
            policy = await response.header_value("content-security-policy")
            assert policy is not None and "frame-ancestors 'none'" in policy, name
        seen[name] = list(await page.evaluate("window.__violations"))
        header = await page.evaluate(
            "getComputedStyle(document.querySelector('header')).display")
        assert header == "flex", f"{name}: the stylesheet was not applied"

    await visit("login", f"{console.url}/login")
    await sign_in(page, console, TOKEN)
    await visit("list")
    await visit("detail", f"{console.url}/remediations/{decision['remediation_id']}")
    form = await page.evaluate(
        "getComputedStyle(document.querySelector('form[action$=approve]')).display")
    assert form == "inline"
    await visit("audit", f"{console.url}/audit")
    assert seen == {"login": [], "list": [], "detail": [], "audit": []}
    assert errors == []
