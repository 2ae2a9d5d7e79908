"""The demo in Debian's Chromium: the banner, the list, a pod restart's evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, async_playwright

from remediator.demo.alertmanager import CRASHING

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def test_a_newcomer_sees_the_banner_and_the_pod_restart_with_its_evidence(
        demo: Demo, page: Page) -> None:
    demo.entry(rule="restart-crashlooping-pod", outcome="verified")

    await page.goto(f"{demo.url}/")
    assert (await page.inner_text(".demo-banner")).startswith("DEMO")
    row = page.locator("tbody tr", has_text=CRASHING)
    assert "verified" in await row.inner_text()
    await row.locator("a").first.click()

    main = await page.inner_text("main")
    assert "kubernetes.delete_pod" in main and "deleted pod apps-shop/" + CRASHING in main
    assert "CrashLoopBackOff" in main and "database unavailable" in main
    assert "s3cr3t" not in main
