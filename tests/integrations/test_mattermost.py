"""Mattermost approvals: an attachment whose buttons call us back with our token, answered
through the console's approval path; a decision anywhere updates both chats."""

from __future__ import annotations

from typing import Any

import respx
from fastapi.testclient import TestClient

from remediator.model.clock import FakeClock
from tests.integrations.conftest import EXTERNAL, MM_TOKEN, MM_URL, button, press, relay, sent
from tests.web.conftest import auth
from tests.web.test_api import deliver
from tests.web.test_console import audit, payments

POSTS = f"{MM_URL}/api/v4/posts"
PATCH = f"{MM_URL}/api/v4/posts/mmpost1/patch"
ACTIONS = "/integrations/mattermost/actions"
DIALOG = f"{MM_URL}/api/v4/actions/dialogs/open"


def action(verb: str, rid: str, *, user: str = "mmuser0dave", name: str = "dave",
           token: str = MM_TOKEN) -> dict[str, Any]:
    """What Mattermost posts when one of our buttons is pressed."""
    return {"user_id": user, "user_name": name, "channel_id": "mmchannel",
            "team_id": "team1", "post_id": "mmpost1", "trigger_id": "trig", "type": "",
            "data_source": "", "context": {"action": verb, "remediation_id": rid,
                                           "token": token}}


def state_of(client: TestClient, rid: str) -> str:
    found: str = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()["state"]
    return found


def requested(client: TestClient) -> str:
    rid: str = deliver(client, payments())[0]["remediation_id"]
    relay(client)
    return rid


def test_the_request_carries_buttons_that_call_us_with_the_token(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    rid = requested(chat_client)
    [post] = sent(chat_api, POSTS)
    assert post["channel_id"] == "mmchannel"
    [attachment] = post["props"]["attachments"]
    assert [a["integration"] for a in attachment["actions"]] == [
        {"url": f"{EXTERNAL}{ACTIONS}",
         "context": {"action": verb, "remediation_id": rid, "token": MM_TOKEN}}
        for verb in ("approve", "decline")]
    call = next(c for c in chat_api.calls if str(c.request.url) == POSTS)
    assert call.request.headers["authorization"] == "Bearer mm-bot-token"


def test_an_allowed_user_approves_and_the_post_is_patched(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    rid = requested(chat_client)
    answer = chat_client.post(ACTIONS, json=action("approve", rid))
    assert answer.status_code == 200
    assert answer.json()["ephemeral_text"].startswith("approved: approved by mattermost:dave")
    [said] = audit(chat_client, outcome="operator")
    assert said["detail"]["actor"] == "mattermost:dave"
    assert said["detail"]["client"] == "mattermost user mmuser0dave in mmchannel"
    patched = sent(chat_api, PATCH)[-1]
    [attachment] = patched["props"]["attachments"]
    assert attachment["actions"] == []
    assert "approved by mattermost:dave" in attachment["fields"][-1]["value"]


def test_decline_asks_why_in_a_dialog_whose_submission_declines(
        chat_client: TestClient, chat_api: respx.MockRouter) -> None:
    rid = requested(chat_client)
    opened = chat_client.post(ACTIONS, json=action("decline", rid, user="mmuser0carol",
                                                   name="carol"))
    assert opened.json() == {}
    [request] = sent(chat_api, DIALOG)
    assert (request["trigger_id"], request["url"]) == ("trig", f"{EXTERNAL}{ACTIONS}")
    assert state_of(chat_client, rid) == "awaiting_approval"
    submission = {"type": "dialog_submission", "callback_id": "remediator-decline",
                  "state": request["dialog"]["state"], "user_id": "mmuser0carol",
                  "channel_id": "mmchannel", "team_id": "team1", "cancelled": False,
                  "submission": {"reason": "maintenance window"}}
    assert chat_client.post(ACTIONS, json=submission).json() == {}
    assert state_of(chat_client, rid) == "declined"
    [said] = audit(chat_client, outcome="operator")
    assert (said["detail"]["actor"], said["reason"]) == ("mattermost:carol",
                                                         "maintenance window")


def test_a_dialog_submission_without_our_state_gets_401(chat_client: TestClient) -> None:
    rid = requested(chat_client)
    chat_client.post(ACTIONS, json=action("decline", rid, user="mmuser0carol", name="carol"))
    forged = {"type": "dialog_submission", "user_id": "mmuser0carol",
              "submission": {"reason": "x"}}
    for state in (None, f"{rid}:carol:" + "0" * 64, f"{rid}:dave:whatever", "a:b"):
        assert chat_client.post(ACTIONS, json={**forged, "state": state}).status_code == 401
    assert state_of(chat_client, rid) == "awaiting_approval"


def test_without_a_trigger_id_decline_answers_at_once(chat_client: TestClient) -> None:
    rid = requested(chat_client)
    old_server = {**action("decline", rid, user="mmuser0carol", name="carol"),
                  "trigger_id": ""}
    answer = chat_client.post(ACTIONS, json=old_server)
    assert answer.json()["ephemeral_text"].startswith("declined: declined by mattermost:carol")
    assert state_of(chat_client, rid) == "declined"


def test_someone_else_is_refused_and_audited(chat_client: TestClient) -> None:
    rid = requested(chat_client)
    answer = chat_client.post(ACTIONS, json=action("approve", rid, user="mmuser0eve",
                                                   name="eve"))
    assert answer.status_code == 200
    assert "not allowed" in answer.json()["ephemeral_text"]
    [refusal] = audit(chat_client, outcome="operator")
    assert refusal["reason"] == ("approve refused: mattermost:eve is not in "
                                 "MATTERMOST_OPERATORS")


def test_a_decision_in_slack_updates_the_mattermost_post_and_the_loser_is_told(
        chat_client: TestClient, chat_api: respx.MockRouter, clock: FakeClock) -> None:
    rid = requested(chat_client)
    assert press(chat_client, clock, button("approve", rid)).status_code == 200
    assert "approved by slack:alice" in str(sent(chat_api, PATCH)[-1])
    late = chat_client.post(ACTIONS, json=action("decline", rid))
    text = late.json()["ephemeral_text"]
    assert "not awaiting approval" in text and "approved by slack:alice" in text


def test_an_unknown_verb_with_the_right_token_is_a_400(chat_client: TestClient) -> None:
    answer = chat_client.post(ACTIONS, json=action("delete", "x"))
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("context.action")
