"""A running app (lifespan and all) over a SQLite file, with recording actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from remediator.web.app import create_app

TOKEN = "s3cret-webhook-token"
READ_TOKEN = "read-only-token"
RULES = Path(__file__).resolve().parents[2] / "rules"


class RecordingAction:
    """An action of ours that records what it was asked to do (not a client mock)."""

    def __init__(self) -> None:
        self.requests: list[ActionRequest] = []

    async def run(self, request: ActionRequest) -> ActionResult:
        self.requests.append(request)
        return ActionResult(message=f"deleted {request.target}")


@pytest.fixture
def recorder() -> RecordingAction:
    return RecordingAction()


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    return {"rules": [str(RULES)], "database_url": f"sqlite:///{tmp_path / 'r.db'}",
            "webhook_token": TOKEN, "api_token": READ_TOKEN}


@pytest.fixture
def client(app_settings: dict[str, Any], recorder: RecordingAction,
           clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(load_settings(**app_settings), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        yield test_client


def form_token(client: TestClient) -> str:
    """The sign-in form's pre-session CSRF token (GET /login sets its cookie too)."""
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def post_login(client: TestClient, token: str, *, next: str = "/") -> httpx.Response:
    """Sign in as a browser does: fetch the form, post it with its CSRF token."""
    return client.post("/login", data={"token": token, "next": next,
                                       "csrf": form_token(client)}, follow_redirects=False)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def drain(client: TestClient) -> None:
    """Run the worker until no job is due (the scheduler is off in these tests)."""
    client.portal.call(client.app.state.services.worker.drain)  # type: ignore[attr-defined,union-attr]
