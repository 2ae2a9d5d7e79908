"""Who may call the chat endpoints: 404 when not configured, 401 for a missing, wrong or
stale proof; nothing else about the app opens (they take no session, bearer or CSRF)."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
import respx
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from remediator.model.clock import FakeClock
from remediator.operate.chat.signature import MAX_AGE, slack_problem, slack_signature
from tests.integrations.conftest import (
    MM_TOKEN,
    SIGNING_SECRET,
    button,
    form,
    press,
    relay,
    signed,
)
from tests.web.conftest import auth
from tests.web.test_api import deliver, sample
from tests.web.test_console import audit, payments

SLACK = "/integrations/slack/interactions"
MATTERMOST = "/integrations/mattermost/actions"


@pytest.mark.parametrize("path", [SLACK, MATTERMOST])
def test_an_integration_that_is_not_configured_answers_404(client: TestClient,
                                                           path: str) -> None:
    answer = client.post(path, content=b"payload=%7B%7D", headers=auth())
    assert answer.status_code == 404
    assert "not configured" in answer.json()["detail"]


def test_slack_requests_without_a_good_fresh_signature_get_401(
        chat_client: TestClient, clock: FakeClock) -> None:
    rid = deliver(chat_client, payments())[0]["remediation_id"]
    body = form(button("approve", rid))
    cases = {
        "missing": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong secret": signed(body, clock, secret="not-the-secret"),
        "stale (a replay)": signed(body, clock, age=MAX_AGE + 1),
        "from the future": signed(body, clock, age=-(MAX_AGE + 1)),
        "other body": signed(body + b"x", clock),
    }
    for case, headers in cases.items():
        answer = chat_client.post(SLACK, content=body, headers=headers)
        assert answer.status_code == 401, case
    # A session, a bearer token or a CSRF token is no substitute for Slack's signature.
    assert chat_client.post(SLACK, content=body, headers=auth()).status_code == 401
    assert audit(chat_client, outcome="operator") == []
    assert sample(chat_client, "remediator_chat_interactions_total", integration="slack",
                  result="rejected") == 6
    assert press(chat_client, clock, button("approve", rid), age=MAX_AGE - 5).status_code == 200


def test_mattermost_actions_without_our_token_get_401(chat_client: TestClient) -> None:
    rid = deliver(chat_client, payments())[0]["remediation_id"]
    body = {"user_id": "mmuser0dave", "user_name": "dave", "channel_id": "mmchannel",
            "post_id": "mmpost1", "context": {"action": "approve", "remediation_id": rid}}
    for token in (None, "", "wrong", MM_TOKEN + "x", 12):
        if token is not None:
            body["context"]["token"] = token  # type: ignore[index]
        assert chat_client.post(MATTERMOST, json=body).status_code == 401, token
    assert chat_client.post(MATTERMOST, content=b"not json").status_code == 401
    assert audit(chat_client, outcome="operator") == []


def test_a_signed_payload_that_is_not_ours_is_a_400_naming_the_field(
        chat_client: TestClient, clock: FakeClock) -> None:
    body = b"payload=%5B1%5D"
    answer = chat_client.post(SLACK, content=body, headers=signed(body, clock))
    assert answer.status_code == 400
    assert "payload" in answer.json()["detail"]
    other = form({"type": "block_actions", "user": {"id": 5}, "actions": []})
    answer = chat_client.post(SLACK, content=other, headers=signed(other, clock))
    assert (answer.status_code, answer.json()["detail"]) == (
        400, "user.id: expected a string of at most 64 characters")


def test_a_remediation_id_that_is_not_one_is_a_400_before_the_store_sees_it(
        chat_client: TestClient, clock: FakeClock) -> None:
    for value in ("../../etc", "x" * 64, "DROP TABLE", ""):
        answer = press(chat_client, clock, button("approve", value))
        assert answer.status_code == 400, value
        assert answer.json()["detail"].startswith("actions[0].value: expected a remediation id")
    forged = {"type": "view_submission", "user": {"id": "U0ALICE"},
              "view": {"callback_id": "remediator-decline", "private_metadata": "[1]"}}
    answer = press(chat_client, clock, forged)
    assert answer.json()["detail"] == ("view.private_metadata: expected the JSON object we "
                                       "sent")
    assert audit(chat_client, outcome="operator") == []


def test_an_oversized_body_is_refused_before_it_is_read_further(
        chat_client: TestClient, clock: FakeClock) -> None:
    body = b"payload=" + b"x" * (70 * 1024)
    assert chat_client.post(SLACK, content=body,
                            headers=signed(body, clock)).status_code == 413


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@given(body=st.binary(max_size=2048), age=st.integers(-MAX_AGE, MAX_AGE),
       secret=st.text(string.printable, min_size=1, max_size=64))
def test_a_signature_slack_computed_is_accepted_within_the_window(
        body: bytes, age: int, secret: str) -> None:
    ts = str(int(NOW.timestamp()) - age)
    assert slack_problem(secret, body=body, timestamp=ts,
                         signature=slack_signature(secret, ts, body), now=NOW) is None


@given(body=st.binary(max_size=512), flip=st.integers(0, 10_000),
       age=st.integers(-10**6, 10**6), header=st.text(max_size=80))
def test_any_change_to_body_signature_or_time_is_refused(
        body: bytes, flip: int, age: int, header: str) -> None:
    ts = str(int(NOW.timestamp()))
    good = slack_signature(SIGNING_SECRET, ts, body)
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
        assert slack_problem(SIGNING_SECRET, body=changed, timestamp=ts, signature=good,
                             now=NOW) == "wrong Slack signature"
    if header != good:
        assert slack_problem(SIGNING_SECRET, body=body, timestamp=ts, signature=header,
                             now=NOW) is not None
    moved = NOW + timedelta(seconds=age)
    verdict = slack_problem(SIGNING_SECRET, body=body, timestamp=ts, signature=good, now=moved)
    assert (verdict is None) == (abs(age) <= MAX_AGE)


def test_the_relay_posts_nothing_for_history(chat_client: TestClient,
                                             chat_api: respx.MockRouter) -> None:
    relay(chat_client)
    assert chat_api.calls.call_count == 0


def test_a_half_configured_integration_stops_the_service_naming_what_is_missing(
        chat_settings: dict[str, object]) -> None:
    from remediator.app.settings import load_settings
    from remediator.web.app import ConfigurationError, create_app

    half = {**chat_settings, "slack_channel": None, "mattermost_url": None}
    with pytest.raises(ConfigurationError) as refused:
        create_app(load_settings(**half))
    assert str(refused.value) == ("chat approvals are configured but lack "
                                  "REMEDIATOR_SLACK_CHANNEL, REMEDIATOR_MATTERMOST_URL")
    no_url = {**chat_settings, "external_url": None}
    with pytest.raises(ConfigurationError, match="REMEDIATOR_EXTERNAL_URL"):
        create_app(load_settings(**no_url))
