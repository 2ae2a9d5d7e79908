"""A running app with PagerDuty, Opsgenie and Grafana timelines configured; their
servers faked by respx with each API's documented request and response shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.integrations.conftest import EXTERNAL, write
from tests.web.conftest import READ_TOKEN, RULES, TOKEN, RecordingAction

ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
GENIE_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
GRAFANA_TOKEN = "glsa_secretserviceaccounttoken_0123"
GRAFANA = "https://grafana.example.com"
PD_URL = "https://events.pagerduty.com/v2/change/enqueue"
OG_NOTES = "https://api.opsgenie.com/v2/alerts/"
GF_URL = f"{GRAFANA}/api/annotations"


@pytest.fixture
def timeline_settings(tmp_path: Path) -> dict[str, Any]:
    return {"rules": [str(RULES)], "database_url": f"sqlite:///{tmp_path / 'r.db'}",
            "webhook_token": TOKEN, "api_token": READ_TOKEN, "external_url": EXTERNAL,
            "pagerduty_routing_key_file": write(tmp_path, "pd", ROUTING_KEY),
            "pagerduty_match": "severity=critical",
            "opsgenie_api_key_file": write(tmp_path, "og", GENIE_KEY),
            "opsgenie_match": "severity=~critical|page",
            "grafana_url": GRAFANA, "grafana_token_file": write(tmp_path, "gf", GRAFANA_TOKEN),
            "timeline_backlog": 10}


@pytest.fixture
def timeline_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(PD_URL).respond(202, json={"status": "success",
                                               "message": "Change event processed",
                                               "dedup_key": None})
        router.post(url__startswith=OG_NOTES).respond(
            202, json={"result": "Request will be processed", "took": 0.201,
                       "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120"})
        router.post(GF_URL).respond(200, json={"message": "Annotation added", "id": 1})
        yield router


@pytest.fixture
def timeline_client(timeline_settings: dict[str, Any], recorder: RecordingAction,
                    clock: FakeClock, timeline_api: respx.MockRouter) -> Iterator[TestClient]:
    app = create_app(load_settings(**timeline_settings), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        relay(test_client)  # the cursor starts at the newest entry
        no_waiting(test_client)
        yield test_client


def relay(app: TestClient) -> None:
    """One run of the scheduler's timeline relay job."""
    services = app.app.state.services  # type: ignore[attr-defined]
    app.portal.call(services.timeline.relay.run)  # type: ignore[union-attr]


def no_waiting(app: TestClient) -> list[float]:
    """The transport's sleep records instead of waiting."""
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    app.app.state.services.timeline.transport.sleep = sleep  # type: ignore[attr-defined]
    return waited


def posted(router: respx.MockRouter, prefix: str) -> list[tuple[Any, dict[str, Any]]]:
    """(request, JSON body) of each call whose URL starts with `prefix`."""
    return [(call.request, json.loads(call.request.content)) for call in router.calls
            if str(call.request.url).startswith(prefix)]
