"""The console in Chromium: sign in, read, follow links, approve, decline, CSRF."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.actions.conftest import PODS, Cluster, pod
from tests.browser.conftest import PROMETHEUS, READ_TOKEN, RUNBOOK, TOKEN, Console, sign_in

pytestmark = pytest.mark.browser


async def test_sign_in_read_and_follow_links(console: Console, page: Page) -> None:
    decision = await console.deliver("web-1")
    assert decision["outcome"] == "awaiting_approval"
    await sign_in(page, console, READ_TOKEN)
    row = page.locator("tbody tr").first
    assert "KubePodCrashLooping" in await row.inner_text()
    assert "awaiting_approval" in await row.inner_text()
    assert "api-token (read-only)" in await page.inner_text("header")
    await row.locator("a").first.click()
    await page.wait_for_url(f"{console.url}/remediations/{decision['remediation_id']}")
    assert "pod/apps-a/web-1" in await page.inner_text("h1")
    assert "kubernetes.rollout_restart" in await page.content()  # the escalation step
    detail = page.url
    await page.click("#runbook")
    await page.wait_for_url(RUNBOOK)
    assert await page.inner_text("h1") == "Runbook: KubePodCrashLooping"
    await page.goto(detail)
    await page.click("#prometheus")
    await page.wait_for_url(PROMETHEUS)
    assert await page.inner_text("h1") == "Prometheus graph"


async def test_read_only_session_cannot_approve(console: Console, page: Page,
                                                cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    decision = await console.deliver("web-1")
    await sign_in(page, console, READ_TOKEN)
    await page.goto(f"{console.url}/remediations/{decision['remediation_id'][:8]}")
    async with page.expect_response(lambda r: r.url.endswith("/approve")) as answer:
        await page.click("#approve")
    response = await answer.value
    assert response.status == 403
    assert "this session may only read" in await page.inner_text("[role=alert]")
    assert cluster.exists(PODS, "web-1")


async def test_approve_deletes_the_pod_and_the_timeline_shows_it(
        console: Console, page: Page, cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    decision = await console.deliver("web-1")
    await sign_in(page, console, TOKEN)
    await page.goto(f"{console.url}/remediations/{decision['remediation_id']}")
    await page.fill("form[action$=approve] input[name=reason]", "checked the dashboards")
    await page.click("#approve")
    await page.wait_for_url("**/remediations/*?done=*")
    assert "approved by webhook-token: checked the dashboards" in await page.inner_text(
        "[role=status]")
    await console.services.worker.drain()
    assert not cluster.exists(PODS, "web-1")
    await page.reload()
    timeline = await page.inner_text("#timeline")
    for outcome in ("awaiting_approval", "operator approve", "approved", "succeeded"):
        assert outcome in timeline
    assert await page.inner_text("#state") == "succeeded"


async def test_decline_another(console: Console, page: Page, cluster: Cluster) -> None:
    cluster.add(pod("web-2"))
    decision = await console.deliver("web-2")
    await sign_in(page, console, TOKEN)
    await page.goto(f"{console.url}/remediations/{decision['remediation_id']}")
    await page.fill("form[action$=decline] input[name=reason]", "deploy in progress")
    await page.click("#decline")
    await page.wait_for_url("**/remediations/*?done=*")
    await console.services.worker.drain()
    assert cluster.exists(PODS, "web-2")
    assert await page.inner_text("#state") == "declined"
    assert "declined by webhook-token: deploy in progress" in await page.inner_text("#timeline")


async def test_a_form_without_its_csrf_token_is_refused(console: Console, page: Page,
                                                        cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    decision = await console.deliver("web-1")
    await sign_in(page, console, TOKEN)
    await page.goto(f"{console.url}/remediations/{decision['remediation_id']}")
    await page.evaluate("document.querySelectorAll('input[name=csrf]')"
                        ".forEach(input => input.remove())")
    async with page.expect_response(lambda r: r.url.endswith("/approve")) as answer:
        await page.click("#approve")
    response = await answer.value
    assert response.status == 403
    assert "CSRF" in await page.inner_text("[role=alert]")
    await console.services.worker.drain()
    assert cluster.exists(PODS, "web-1")
