"""Slack approvals end to end: Block Kit request posted, signed presses answered through
the console's approval path, the message updated in place, refusals audited."""

from __future__ import annotations

from typing import Any

import respx
from fastapi.testclient import TestClient

from remediator.model.clock import FakeClock
from remediator.operate import approvals
from tests.integrations.conftest import (
    ALICE,
    CHANNEL,
    RESPONSE_URL,
    button,
    press,
    relay,
    sent,
)
from tests.web.conftest import RecordingAction, auth, drain
from tests.web.test_api import deliver, sample
from tests.web.test_console import audit, payments

POST = "https://slack.com/api/chat.postMessage"
UPDATE = "https://slack.com/api/chat.update"


def requested(client: TestClient, pod: str = "pay-0") -> str:
    """An alert whose rule needs approval, posted to Slack by the relay; its id."""
    rid: str = deliver(client, payments(pod))[0]["remediation_id"]
    relay(client)
    return rid


def state(client: TestClient, rid: str) -> str:
    found: str = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()["state"]
    return found


def test_the_request_is_a_block_kit_message_with_approve_and_decline(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    rid = requested(chat_client)
    [message] = [m for m in sent(chat_api, POST)]
    assert message["channel"] == CHANNEL
    assert message["text"] == ("Approval needed: KubePodCrashLooping on "
                               "pod/apps-payments/pay-0 (rule restart-crashlooping-pod)")
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("approve", rid), ("decline", rid)]
    links = next(b for b in message["blocks"] if b["type"] == "context")
    assert f"https://remediator.example.com/remediations/{rid}" in str(links)
    call = next(c for c in chat_api.calls if str(c.request.url) == POST)
    assert call.request.headers["authorization"] == "Bearer xoxb-test-bot-token"


def test_an_allowed_user_approves_and_the_message_says_who(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock,
        recorder: RecordingAction) -> None:
    rid = requested(chat_client)
    answer = press(chat_client, clock, button("approve", rid))
    assert answer.status_code == 200
    drain(chat_client)
    assert [r.target for r in recorder.requests] == ["pod/apps-payments/pay-0"]
    [said] = audit(chat_client, outcome="operator")
    assert (said["action"], said["remediation_id"]) == ("approve", rid)
    assert said["detail"]["actor"] == "slack:alice"
    assert said["detail"]["via"] == "slack"
    assert said["detail"]["client"] == f"slack user {ALICE} in {CHANNEL}"
    [update] = sent(chat_api, UPDATE)[:1]
    assert (update["channel"], update["ts"]) == (CHANNEL, "1700000000.000100")
    outcome = update["blocks"][-1]["text"]["text"]
    assert "approved by slack:alice" in outcome
    assert not any(b["type"] == "actions" for b in update["blocks"])
    assert sample(chat_client, "remediator_chat_interactions_total", integration="slack",
                  result="answered") == 1


def test_someone_not_on_the_allow_list_is_refused_ephemerally_and_audited(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    chat_api.post("https://slack.com/api/users.info").respond(json={
        "ok": True, "user": {"id": "U0MALLORY", "profile": {"email": "mallory@example.com"}}})
    rid = requested(chat_client)
    answer = press(chat_client, clock, button("approve", rid, user="U0MALLORY",
                                              name="mallory"))
    assert answer.status_code == 200
    assert state(chat_client, rid) == "awaiting_approval"
    [refusal] = audit(chat_client, outcome="operator")
    assert refusal["reason"] == "approve refused: slack:mallory is not in SLACK_OPERATORS"
    assert refusal["detail"]["actor"] == "slack:mallory"
    [told] = sent(chat_api, RESPONSE_URL)
    assert told["response_type"] == "ephemeral" and "not allowed" in told["text"]
    assert sample(chat_client, "remediator_chat_interactions_total", integration="slack",
                  result="refused") == 1


def test_an_email_on_the_allow_list_is_matched_through_users_info(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    chat_api.post("https://slack.com/api/users.info").respond(json={
        "ok": True, "user": {"id": "U0BOB", "profile": {"email": "bob@example.com"}}})
    rid = requested(chat_client)
    assert press(chat_client, clock, button("approve", rid, user="U0BOB",
                                            name="bob")).status_code == 200
    assert state(chat_client, rid) in ("pending", "succeeded")
    info = next(c for c in chat_api.calls if "users.info" in str(c.request.url))
    assert info.request.content == b"user=U0BOB"


def test_decline_asks_why_in_a_modal_and_its_submission_declines(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    rid = requested(chat_client)
    assert press(chat_client, clock, button("decline", rid)).status_code == 200
    assert state(chat_client, rid) == "awaiting_approval"  # nothing until they say why
    [opened] = sent(chat_api, "https://slack.com/api/views.open")
    view = opened["view"]
    assert opened["trigger_id"] == "13345.98.abc"
    submission = {"type": "view_submission", "user": {"id": ALICE, "username": "alice"},
                  "view": {"callback_id": view["callback_id"],
                           "private_metadata": view["private_metadata"],
                           "state": {"values": {"reason": {"reason": {
                               "type": "plain_text_input", "value": "deploy freeze"}}}}}}
    assert press(chat_client, clock, submission).status_code == 200
    assert state(chat_client, rid) == "declined"
    [said] = audit(chat_client, outcome="operator")
    assert (said["action"], said["reason"]) == ("decline", "deploy freeze")
    assert "declined by slack:alice: deploy freeze" in str(sent(chat_api, UPDATE)[-1])


def test_a_press_that_raced_the_console_loses_and_is_told_who_won(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    rid = requested(chat_client)
    won = chat_client.post(f"/api/v1/remediations/{rid}/approve", headers=auth(),
                           json={"reason": "on it"})
    assert won.status_code == 200
    assert press(chat_client, clock, button("approve", rid)).status_code == 200
    [told] = sent(chat_api, RESPONSE_URL)
    assert ", not awaiting approval (approved: approved by webhook-token" in told["text"]
    assert "approved by webhook-token: on it" in told["text"]
    approvals_made = [e for e in audit(chat_client, outcome="operator")]
    assert [e["detail"]["actor"] for e in approvals_made] == ["webhook-token"]
    relay(chat_client)
    assert "approved by webhook-token" in str(sent(chat_api, UPDATE)[-1]["blocks"])


def test_a_decision_in_the_console_and_an_expiry_update_the_message(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    declined = requested(chat_client)
    chat_client.post(f"/api/v1/remediations/{declined}/decline", headers=auth(),
                     json={"reason": "not now"})
    relay(chat_client)
    assert "declined by webhook-token: not now" in str(sent(chat_api, UPDATE)[-1])
    deliver(chat_client, payments("pay-1"))  # the declined episode is not asked again
    relay(chat_client)
    clock.advance(minutes=31)
    services: Any = chat_client.app.state.services  # type: ignore[attr-defined]
    assert approvals.expire_due(services.approval_store, clock())
    relay(chat_client)
    assert "expired" in sent(chat_api, UPDATE)[-1]["blocks"][-1]["text"]["text"]


def test_a_late_decline_opens_no_form_and_says_who_answered(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    rid = requested(chat_client)
    chat_client.post(f"/api/v1/remediations/{rid}/decline", headers=auth(),
                     json={"reason": "no"})
    assert press(chat_client, clock, button("decline", rid)).status_code == 200
    assert sent(chat_api, "https://slack.com/api/views.open") == []
    [told] = sent(chat_api, RESPONSE_URL)
    assert told["text"].endswith("is declined, not awaiting approval (declined: declined by "
                                 "webhook-token: no)")


def test_the_scheduler_runs_the_relay_only_when_chat_is_configured(
        chat_client: TestClient, client: TestClient) -> None:
    from remediator.app.scheduler import build_scheduler

    def jobs(app: TestClient) -> set[str]:
        services: Any = app.app.state.services  # type: ignore[attr-defined]
        return {job.id for job in build_scheduler(services).get_jobs()}

    assert "chat-relay" in jobs(chat_client)
    assert "chat-relay" not in jobs(client)
