"""Slack throttling or down: decisions never wait, nothing is lost while the backlog has
room, Retry-After is honoured within a bound, and one failing spell is one log line."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from remediator.operate.chat.outbox import Message, Outbox
from remediator.operate.metrics import ChatMetrics
from tests.integrations.conftest import relay, sent
from tests.web.test_api import deliver, sample
from tests.web.test_console import payments

POST = "https://slack.com/api/chat.postMessage"


def slow_down(client: TestClient) -> list[float]:
    """Replace the transport's sleep with one that records (no real waiting)."""
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    client.app.state.services.chat.transport.sleep = sleep  # type: ignore[attr-defined]
    return waited


def test_a_429_is_retried_after_its_retry_after(chat_client: TestClient,
                                                chat_api: respx.MockRouter) -> None:
    waited = slow_down(chat_client)
    chat_api.post(POST).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}, json={"ok": False,
                                                                "error": "ratelimited"}),
        httpx.Response(200, json={"ok": True, "channel": "C0APPROVALS", "ts": "1.2"})])
    deliver(chat_client, payments())
    relay(chat_client)
    assert waited == [7.0]
    assert len(sent(chat_api, POST)) == 2
    assert sample(chat_client, "remediator_chat_messages_total", integration="slack",
                  result="sent") == 1


def test_a_huge_retry_after_is_capped_and_the_retries_are_bounded(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    waited = slow_down(chat_client)
    chat_api.post(POST).respond(429, headers={"Retry-After": "3600"},
                                json={"ok": False, "error": "ratelimited"})
    deliver(chat_client, payments())
    relay(chat_client)
    assert waited == [30.0, 30.0]  # two retries, each at most max_wait
    assert len(sent(chat_api, POST)) == 3


def test_slack_down_delays_nothing_loses_nothing_and_logs_once(
        chat_client: TestClient, chat_api: respx.MockRouter,
        caplog: pytest.LogCaptureFixture) -> None:
    slow_down(chat_client)
    route = chat_api.post(POST)
    route.side_effect = httpx.ConnectError("connection refused")
    caplog.set_level(logging.WARNING, logger="remediator.operate.chat.outbox")
    decided = [deliver(chat_client, payments(f"pay-{n}"))[0] for n in range(3)]
    assert {d["outcome"] for d in decided} == {"awaiting_approval"}  # decisions unaffected
    for _ in range(3):
        relay(chat_client)
    failing = [r for r in caplog.records if "sending failed" in r.getMessage()]
    assert len(failing) == 1
    assert "3 message(s) wait" in failing[0].getMessage()
    route.side_effect = None
    route.respond(json={"ok": True, "channel": "C0APPROVALS", "ts": "9.9"})
    relay(chat_client)
    ok = [s for s in sent(chat_api, POST)]
    assert len({str(m["blocks"]) for m in ok}) == 3  # every request posted once Slack is back
    assert any("works again after 3 failed attempt(s)" in r.getMessage()
               for r in caplog.records)
    assert sample(chat_client, "remediator_chat_messages_total", integration="slack",
                  result="sent") == 3


async def test_a_full_backlog_gives_up_the_oldest_and_counts_it() -> None:
    from prometheus_client import CollectorRegistry

    metrics = ChatMetrics.create(registry=CollectorRegistry())
    outbox = Outbox(metrics=metrics, limit=2)
    done: list[str] = []

    def message(name: str) -> Message:
        async def send() -> None:
            done.append(name)
        return Message("slack", name, send)

    for name in ("a", "b", "c"):
        outbox.put(message(name))
    await outbox.drain()
    assert done == ["b", "c"]
    failed: Any = metrics.messages.labels(integration="slack", result="failed")
    assert failed._value.get() == 1


def test_a_hanging_slack_does_not_hold_the_scheduler_job(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    import asyncio
    import time

    gate, reached = asyncio.Event(), asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        reached.set()
        await asyncio.wait_for(gate.wait(), 5)  # Slack answers only when released
        return httpx.Response(200, json={"ok": True, "channel": "C0APPROVALS", "ts": "1.2"})

    chat_api.post(POST).mock(side_effect=hang)
    deliver(chat_client, payments())
    relay_ = chat_client.app.state.services.chat.relay  # type: ignore[attr-defined]
    started = time.monotonic()
    chat_client.portal.call(relay_.tick)  # the scheduler's job returns while Slack hangs
    assert time.monotonic() - started < 1.0

    async def until_slack_is_asked() -> None:
        await asyncio.wait_for(reached.wait(), 5)

    chat_client.portal.call(until_slack_is_asked)  # sending goes on in the background
    chat_client.portal.call(gate.set)
    relay(chat_client)
    assert sample(chat_client, "remediator_chat_messages_total", integration="slack",
                  result="sent") == 1
    assert len(sent(chat_api, POST)) == 1  # posted once, not again by the next run
