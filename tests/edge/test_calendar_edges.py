"""Times at the calendar's edges: one unusable alert is rejected alone, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from remediator.model.alerts import Alert
from tests.support.payloads import crashloop, payload
from tests.web.conftest import RecordingAction, auth, drain

EDGES = [
    pytest.param("0001-01-01T00:00:00+05:00", id="before-year-1-in-utc"),
    pytest.param("9999-12-31T23:59:59-05:00", id="after-year-9999-in-utc"),
]


def post(client: TestClient, body: Any) -> Any:
    return client.post("/webhook/alertmanager", content=json.dumps(body),
                       headers={"Content-Type": "application/json", **auth()})


@pytest.mark.parametrize("field", ["startsAt", "endsAt"])
@pytest.mark.parametrize("edge", EDGES)
def test_an_alert_with_an_unusable_time_is_rejected_alone(
        client: TestClient, recorder: RecordingAction, edge: str, field: str) -> None:
    bad = crashloop(pod="web-2")
    bad[field] = edge
    response = post(client, payload(crashloop(pod="web-1"), bad))
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert [d["outcome"] for d in decisions] == ["executed", "rejected"]
    assert f"{field} " in decisions[1]["reason"]
    assert "outside the range of UTC time" in decisions[1]["reason"]
    drain(client)
    assert [r.target for r in recorder.requests] == ["pod/apps-a/web-1"]
    rejected = client.get("/api/v1/audit", params={"outcome": "rejected"},
                          headers=auth()).json()["items"]
    assert [(e["fingerprint"], e["reason"]) for e in rejected] == [
        (decisions[1]["fingerprint"], decisions[1]["reason"])]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("name", ["since", "until"])
def test_api_since_and_until_at_the_edges_are_a_400(client: TestClient, edge: str,
                                                    name: str) -> None:
    response = client.get("/api/v1/audit", params={name: edge}, headers=auth())
    assert response.status_code == 400
    assert "outside the range of UTC time" in response.text


@pytest.mark.parametrize("edge", EDGES)
def test_page_since_at_the_edges_is_not_a_500(client: TestClient, edge: str) -> None:
    response = client.get("/", params={"since": edge}, headers=auth())
    assert response.status_code < 500
    assert "outside the range of UTC time" in response.text


@given(when=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
       offset=st.integers(min_value=-23 * 60, max_value=23 * 60))
def test_every_alert_time_is_usable_in_utc_or_says_why(when: datetime, offset: int) -> None:
    starts = when.replace(tzinfo=timezone(timedelta(minutes=offset)))
    parsed = Alert.model_validate({"status": "firing", "labels": {"alertname": "A"},
                                   "startsAt": starts.isoformat()})
    if parsed.unusable_time:
        assert "startsAt" in parsed.unusable_time
        with pytest.raises(OverflowError):
            starts.astimezone(UTC)
    else:
        assert starts.astimezone(UTC) == starts
