"""`GET /effectiveness` and `GET /api/v1/effectiveness` over what the service audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.report.test_effectiveness_cli import history
from tests.support.keys import shared_audit_key
from tests.web.conftest import READ_TOKEN, RecordingAction, auth, post_login


def test_the_api_answers_the_reports_json(client: TestClient, clock: FakeClock) -> None:
    history(client, clock)
    body = client.get("/api/v1/effectiveness?since=1d", headers=auth(READ_TOKEN)).json()
    (row,) = body["rules"]
    assert (row["rule"], row["executed"], row["resolved"]["median_s"]) == (
        "restart-crashlooping-pod", 2, 120.0)
    assert row["baseline"]["median_s"] == 1200.0


def test_a_bad_since_is_a_400_naming_it(client: TestClient) -> None:
    for since in ("a month", "0s", "9999d"):
        response = client.get(f"/api/v1/effectiveness?since={since}", headers=auth(READ_TOKEN))
        assert response.status_code == 400, since
        assert "since" in response.json()["detail"]


def test_the_api_needs_a_reader(client: TestClient) -> None:
    assert client.get("/api/v1/effectiveness").status_code == 401


def test_the_page_shows_the_table_and_a_section_per_rule(client: TestClient,
                                                         clock: FakeClock) -> None:
    history(client, clock)
    post_login(client, READ_TOKEN)
    page = client.get("/effectiveness?since=7d")
    assert page.status_code == 200
    text = page.text
    assert 'href="/effectiveness"' in text  # in the navigation
    assert 'id="restart-crashlooping-pod--kubernetes.delete_pod"' in text
    assert "<svg" in text and "20m00s" in text and "pod/apps-a/web-1: 2" in text
    assert "<script" not in text and "style=" not in text
    bad = client.get("/effectiveness?since=soon")
    assert bad.status_code == 400 and "since:" in bad.text


@pytest.fixture
def both(app_settings: dict[str, Any], database_url: str, recorder: RecordingAction,
         clock: FakeClock, tmp_path: Path) -> Iterator[TestClient]:
    """The running app over each backend (SQLite, a real PostgreSQL)."""
    settings = load_settings(**{**app_settings, "database_url": database_url,
                                "state_dir": tmp_path,
                                "audit_key_file": shared_audit_key(tmp_path),
                                "session_key": "effectiveness-test-session-key"})
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        yield test_client


def test_the_same_figures_on_each_backend(both: TestClient, clock: FakeClock) -> None:
    history(both, clock)
    body = both.get("/api/v1/effectiveness?since=1d", headers=auth(READ_TOKEN)).json()
    (row,) = body["rules"]
    assert row["resolved"] == {"count": 2, "median_s": 120.0, "p90_s": 300.0}
    assert row["baseline"] == {"count": 1, "median_s": 1200.0, "p90_s": 1200.0}
    # episode 1 came back; episode 2 resolved at "now": its hour is not over, left out
    assert row["recurrence"]["1h"] == {"ratio": 1.0, "episodes": 1}
