"""A timeline server throttling, down for an hour or refusing: decisions never wait,
nothing is lost while the backlog has room, the backlog is bounded, one failing spell
is one log line, and keys and tokens never reach the log."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from remediator.model.clock import FakeClock
from tests.integrations.test_timeline import critical, deliver
from tests.integrations.timeline_support import (
    GENIE_KEY,
    GF_URL,
    GRAFANA_TOKEN,
    OG_NOTES,
    PD_URL,
    ROUTING_KEY,
    no_waiting,
    posted,
    relay,
)
from tests.integrations.timeline_support import timeline_api as timeline_api
from tests.integrations.timeline_support import timeline_client as timeline_client
from tests.integrations.timeline_support import timeline_settings as timeline_settings
from tests.web.conftest import drain
from tests.web.test_api import sample


def test_a_429_is_retried_after_its_retry_after(timeline_client: TestClient,
                                                timeline_api: respx.MockRouter) -> None:
    waited = no_waiting(timeline_client)
    timeline_api.post(PD_URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "4"},
                       json={"status": "throttle event", "message": "Requests for this "
                             "service are arriving too quickly."}),
        httpx.Response(202, json={"status": "success", "message": "Change event processed"})])
    deliver(timeline_client, critical())
    relay(timeline_client)
    assert 4.0 in waited
    assert len(posted(timeline_api, PD_URL)) == 2
    assert sample(timeline_client, "remediator_timeline_posts_total",
                  integration="pagerduty", result="sent") == 1


def test_pagerduty_down_for_three_hours(timeline_client: TestClient,
                                    timeline_api: respx.MockRouter, clock: FakeClock,
                                    caplog: pytest.LogCaptureFixture) -> None:
    route = timeline_api.post(PD_URL)
    route.side_effect = httpx.ConnectError("connection refused")
    caplog.set_level(logging.DEBUG)
    decisions = []
    for minute in range(0, 180, 5):  # a relay run every 5 minutes for three hours
        if minute % 25 == 0:  # an alert every 25 minutes: within the rule's 3 an hour
            decisions += deliver(timeline_client, critical(pod=f"web-{minute}"))
            drain(timeline_client)
        relay(timeline_client)
        clock.advance(timedelta(minutes=5))
    assert [d["outcome"] for d in decisions] == ["executed"] * 8  # decisions unaffected
    outbox = timeline_client.app.state.services.timeline.outbox  # type: ignore[attr-defined]
    assert outbox.waiting("pagerduty") == 10  # bounded (timeline_backlog)
    waiting = outbox.waiting("pagerduty")
    failing = [r for r in caplog.records if "sending failed" in r.getMessage()]
    assert len(failing) == 1 and failing[0].getMessage().startswith("pagerduty:")
    gave_up = sample(timeline_client, "remediator_timeline_posts_total",
                     integration="pagerduty", result="failed")
    assert gave_up and gave_up > 0
    # the others went on meanwhile
    assert len(posted(timeline_api, OG_NOTES)) >= 8 * 2  # every action and its result
    route.side_effect = None
    route.respond(202, json={"status": "success", "message": "Change event processed"})
    relay(timeline_client)
    assert outbox.waiting("pagerduty") == 0
    back = [r for r in caplog.records if "works again" in r.getMessage()]
    assert len(back) == 1 and "given up meanwhile" in back[0].getMessage()
    assert sample(timeline_client, "remediator_timeline_posts_total",
                  integration="pagerduty", result="sent") == waiting
    for secret in (ROUTING_KEY, GENIE_KEY, GRAFANA_TOKEN):
        assert secret not in caplog.text


def approval(pod: str) -> dict[str, Any]:
    """An alert whose rule asks for approval (payments namespace)."""
    alert = critical(pod)
    alert["labels"]["namespace"] = "apps-payments"
    alert["labels"]["deployment"] = "pay"
    return alert


def test_a_refusal_is_counted_not_retried_and_logged_once(
        timeline_client: TestClient, timeline_api: respx.MockRouter,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    route = timeline_api.post(GF_URL).respond(
        401, json={"message": "invalid API key", "traceID": ""})
    for n in range(3):
        deliver(timeline_client, critical(pod=f"web-{n}"))
    relay(timeline_client)
    refused = sample(timeline_client, "remediator_timeline_posts_total",
                     integration="grafana", result="refused")
    assert refused and len(route.calls) == refused  # one attempt each: a 401 stays a 401
    outbox = timeline_client.app.state.services.timeline.outbox  # type: ignore[attr-defined]
    assert outbox.waiting("grafana") == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("grafana:")]
    assert len(lines) == 1 and "refused" in lines[0] and "HTTP 401 (invalid API key)" in lines[0]
    assert GRAFANA_TOKEN not in caplog.text


def test_an_unknown_opsgenie_alias_is_refused(timeline_client: TestClient,
                                              timeline_api: respx.MockRouter) -> None:
    timeline_api.post(url__startswith=OG_NOTES).respond(
        404, json={"message": "Alert does not exist", "took": 0.002, "requestId": "x"})
    deliver(timeline_client, critical())
    relay(timeline_client)
    assert sample(timeline_client, "remediator_timeline_posts_total", integration="opsgenie",
                  result="refused") == 1


def test_without_settings_nothing_is_built_or_scheduled(client: TestClient,
                                                      timeline_client: TestClient) -> None:
    from remediator.app.scheduler import build_scheduler

    def jobs(app: TestClient) -> set[str]:
        services: Any = app.app.state.services  # type: ignore[attr-defined]
        return {job.id for job in build_scheduler(services).get_jobs()}

    assert client.app.state.services.timeline is None  # type: ignore[attr-defined]
    assert "timeline-relay" not in jobs(client)
    assert "timeline-relay" in jobs(timeline_client)


def test_grafana_url_without_its_token_stops_start_up(timeline_settings: dict[str, Any]
                                                      ) -> None:
    from remediator.app.settings import load_settings
    from remediator.web.app import ConfigurationError, check_settings

    del timeline_settings["grafana_token_file"]
    with pytest.raises(ConfigurationError, match="REMEDIATOR_GRAFANA_TOKEN_FILE"):
        check_settings(load_settings(**timeline_settings))




def test_a_hanging_server_holds_neither_the_job_nor_the_other_integrations(
        timeline_client: TestClient, timeline_api: respx.MockRouter) -> None:
    import asyncio
    import time

    gate = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.wait_for(gate.wait(), 5)  # PagerDuty answers only when released
        return httpx.Response(202, json={"status": "success",
                                         "message": "Change event processed"})

    noted = asyncio.Event()

    def note(request: httpx.Request) -> httpx.Response:
        noted.set()
        return httpx.Response(202, json={"result": "Request will be processed",
                                         "took": 0.1, "requestId": "r"})

    async def until_opsgenie_has_a_note() -> None:
        await asyncio.wait_for(noted.wait(), 5)

    timeline_api.post(PD_URL).mock(side_effect=hang)
    timeline_api.post(url__startswith=OG_NOTES).mock(side_effect=note)
    relay_ = timeline_client.app.state.services.timeline.relay  # type: ignore[attr-defined]
    deliver(timeline_client, critical())
    started = time.monotonic()
    timeline_client.portal.call(relay_.tick)  # the scheduler's job
    assert time.monotonic() - started < 1.0  # returned while PagerDuty hangs
    timeline_client.portal.call(until_opsgenie_has_a_note)  # the others go on meanwhile
    timeline_client.portal.call(gate.set)
    relay(timeline_client)  # waits for the background drain, then drains the rest
    assert len(posted(timeline_api, PD_URL)) >= 1
    assert sample(timeline_client, "remediator_timeline_posts_total",
                  integration="pagerduty", result="sent") == len(posted(timeline_api, PD_URL))
