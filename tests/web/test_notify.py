"""Notifications: which events, what they say, bounded retries, failures never block."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from remediator.app.metrics import Metrics
from remediator.model.clock import FakeClock
from remediator.operate.metrics import NotifyMetrics
from remediator.operate.notify import Channel, Notifier, claim_events, notify_pending
from tests.support.payloads import crashloop
from tests.web.test_api import deliver

SLACK = "https://hooks.slack.example/services/T0/B0/x"
HOOK = "https://events.example.org/remediator"
CONSOLE = "https://remediator.example.org"


async def no_wait(_: float) -> None:
    return None


def notifier(metrics: NotifyMetrics, retries: int = 2) -> Notifier:
    return Notifier([Channel("slack", SLACK), Channel("webhook", HOOK)], metrics=metrics,
                    external_url=CONSOLE, retries=retries, sleep=no_wait)


def entry(outcome: str, **fields: Any) -> dict[str, Any]:
    return {"outcome": outcome, "remediation_id": "r-1", "rule": "restart", "alertname": "A",
            "namespace": "apps-a", "target": "pod/apps-a/x", "reason": "why",
            "ts": "2026-01-01T00:00:00+00:00", **fields}


def test_claims_only_new_events_once(client: TestClient, clock: FakeClock) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    deliver(client, crashloop(pod="before"))
    assert claim_events(services.operator_store, clock()) == []  # history is not replayed
    waiting = deliver(client, crashloop(pod="pay-0", namespace="apps-payments"))[0]
    deliver(client, crashloop(pod="web-2"))  # executed: not an event
    events = claim_events(services.operator_store, clock())
    assert [(e["outcome"], e["remediation_id"]) for e in events] == [
        ("awaiting_approval", waiting["remediation_id"])]
    assert claim_events(services.operator_store, clock()) == []


@respx.mock
async def test_slack_and_webhook_get_a_link_and_retries_are_bounded(clock: FakeClock) -> None:
    slack = respx.post(SLACK).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    hook = respx.post(HOOK).mock(return_value=httpx.Response(204))
    metrics = Metrics.create()
    sender = notifier(metrics.notify)
    await sender.send([entry("awaiting_approval")], clock())
    await sender.aclose()
    assert slack.call_count == 2 and hook.call_count == 1
    text = json.loads(slack.calls[-1].request.content)["text"]
    assert text.startswith("[remediator] Approval needed: A pod/apps-a/x (rule restart)")
    assert f"{CONSOLE}/remediations/r-1" in text
    event = json.loads(hook.calls[0].request.content)
    assert event["event"] == "awaiting_approval" and event["url"] == f"{CONSOLE}/remediations/r-1"
    assert metrics.registry.get_sample_value(
        "remediator_notifications_total", {"channel": "slack", "result": "sent"}) == 1


@respx.mock
@pytest.mark.parametrize(("answers", "attempts"), [
    pytest.param([httpx.Response(500)] * 3, 3, id="server-error-retried-then-given-up"),
    pytest.param([httpx.ConnectError("refused")] * 3, 3, id="unreachable"),
    pytest.param([httpx.Response(404)], 1, id="client-error-not-retried"),
])
async def test_a_failed_notification_is_counted_and_does_not_raise(
        clock: FakeClock, answers: list[Any], attempts: int) -> None:
    route = respx.post(HOOK).mock(side_effect=answers)
    metrics = Metrics.create()
    sender = Notifier([Channel("webhook", HOOK)], metrics=metrics.notify, external_url=None,
                      retries=2, sleep=no_wait)
    await sender.send([entry("failed")], clock())
    await sender.aclose()
    assert route.call_count == attempts
    assert metrics.registry.get_sample_value(
        "remediator_notifications_total", {"channel": "webhook", "result": "failed"}) == 1


@respx.mock
async def test_breaker_open_is_said_once_per_opening(clock: FakeClock) -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200))
    sender = Notifier([Channel("webhook", HOOK)], metrics=Metrics.create().notify, external_url=None,
                      sleep=no_wait)
    await sender.send([entry("breaker_open"), entry("breaker_open")], clock())
    clock.advance(minutes=31)
    await sender.send([entry("breaker_open")], clock())
    await sender.aclose()
    assert route.call_count == 2


@respx.mock
def test_the_scheduler_job_claims_then_posts(client: TestClient, clock: FakeClock) -> None:
    """`notify_pending` as the scheduler runs it: the operator store, a notifier, the clock."""
    route = respx.post(HOOK).mock(return_value=httpx.Response(200))
    services = client.app.state.services  # type: ignore[attr-defined]
    sender = Notifier([Channel("webhook", HOOK)], metrics=services.metrics.notify, external_url=None,
                      sleep=no_wait)
    asyncio.run(notify_pending(services.operator_store, sender, clock=clock))  # the cursor
    waiting = deliver(client, crashloop(pod="pay-0", namespace="apps-payments"))[0]
    asyncio.run(notify_pending(services.operator_store, sender, clock=clock))
    asyncio.run(notify_pending(services.operator_store, sender, clock=clock))  # once only
    asyncio.run(sender.aclose())
    assert [json.loads(call.request.content)["remediation_id"] for call in route.calls] == [
        waiting["remediation_id"]]
