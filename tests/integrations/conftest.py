"""A running app with Slack and Mattermost approvals configured, their servers faked by respx.

respx stands in only for the third-party HTTP APIs (slack.com/api, Slack's
response_url hooks, the Mattermost server); the app, its database, the
approval path and the relay are the real ones. Requests are signed as Slack
signs them, against the app's own (fake) clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.operate.chat.signature import slack_signature
from remediator.web.app import create_app
from tests.web.conftest import READ_TOKEN, RULES, TOKEN, RecordingAction
from tests.web.conftest import app_settings as app_settings
from tests.web.conftest import client as web_client
from tests.web.conftest import recorder as recorder

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-bot-token"
MM_TOKEN = "mm-action-token-123"
MM_BOT = "mm-bot-token"
MM_URL = "https://chat.example.com"
EXTERNAL = "https://remediator.example.com"
CHANNEL = "C0APPROVALS"
ALICE = "U0ALICE"
RESPONSE_URL = "https://hooks.slack.com/actions/T1/1/abc"


def write(tmp: Path, name: str, value: str) -> str:
    path = tmp / name
    path.write_text(value + "\n")
    return str(path)


client = web_client
"""The web tests' app, with no chat integration configured."""


@pytest.fixture
def chat_settings(tmp_path: Path) -> dict[str, Any]:
    return {"rules": [str(RULES)], "database_url": f"sqlite:///{tmp_path / 'r.db'}",
            "webhook_token": TOKEN, "api_token": READ_TOKEN, "external_url": EXTERNAL,
            "slack_signing_secret_file": write(tmp_path, "signing", SIGNING_SECRET),
            "slack_bot_token_file": write(tmp_path, "bot", BOT_TOKEN),
            "slack_channel": CHANNEL, "slack_operators": f"{ALICE},bob@example.com",
            "mattermost_url": MM_URL, "mattermost_channel": "mmchannel",
            "mattermost_token_file": write(tmp_path, "mm", MM_TOKEN),
            "mattermost_bot_token_file": write(tmp_path, "mmbot", MM_BOT),
            "mattermost_operators": "carol,mmuser0dave"}


@pytest.fixture
def chat_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post("https://slack.com/api/chat.postMessage").respond(
            json={"ok": True, "channel": CHANNEL, "ts": "1700000000.000100"})
        router.post("https://slack.com/api/chat.update").respond(json={"ok": True})
        router.post("https://slack.com/api/views.open").respond(json={"ok": True})
        router.post(RESPONSE_URL).respond(json={"ok": True})
        router.post(f"{MM_URL}/api/v4/posts").respond(201, json={"id": "mmpost1"})
        router.put(f"{MM_URL}/api/v4/posts/mmpost1/patch").respond(json={"id": "mmpost1"})
        router.post(f"{MM_URL}/api/v4/actions/dialogs/open").respond(json={})
        yield router


@pytest.fixture
def chat_client(chat_settings: dict[str, Any], recorder: RecordingAction, clock: FakeClock,
                chat_api: respx.MockRouter) -> Iterator[TestClient]:
    app = create_app(load_settings(**chat_settings), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        relay(test_client)  # the relay's cursor starts at the newest entry
        yield test_client


def relay(app: TestClient) -> None:
    """One run of the scheduler's chat relay job."""
    services = app.app.state.services  # type: ignore[attr-defined]
    app.portal.call(services.chat.relay.run)  # type: ignore[union-attr]


def signed(body: bytes, clock: FakeClock, *, age: int = 0,
           secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(clock().timestamp()) - age)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slack_signature(secret, ts, body),
            "Content-Type": "application/x-www-form-urlencoded"}


def form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def button(verb: str, rid: str, *, user: str = ALICE, name: str = "alice") -> dict[str, Any]:
    """A `block_actions` payload as Slack sends it for one of our buttons."""
    return {"type": "block_actions", "user": {"id": user, "username": name, "team_id": "T1"},
            "channel": {"id": CHANNEL, "name": "approvals"}, "trigger_id": "13345.98.abc",
            "container": {"type": "message", "message_ts": "1700000000.000100",
                          "channel_id": CHANNEL},
            "response_url": RESPONSE_URL,
            "actions": [{"type": "button", "action_id": verb, "block_id": "answer",
                         "value": rid, "action_ts": "1700000001.1"}]}


def press(app: TestClient, clock: FakeClock, payload: dict[str, Any],
          **sign: Any) -> httpx.Response:
    body = form(payload)
    return app.post("/integrations/slack/interactions", content=body,
                       headers=signed(body, clock, **sign))


def sent(router: respx.MockRouter, url: str) -> list[Any]:
    """The bodies posted to `url` (JSON or Slack's form-encoded)."""
    found = []
    for call in router.calls:
        if str(call.request.url) == url:
            raw = call.request.content
            try:
                found.append(json.loads(raw))
            except ValueError:
                found.append(raw.decode())
    return found
