"""Issue 23: what on-call sees in the browser and the API (status, states, pause reasons)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from remediator.model.outcomes import NEVER_A_STATE, PENDING, REMEDIATION_STATES, Outcome
from remediator.operate import operator_log
from remediator.web.app import create_app
from tests.support.payloads import crashloop
from tests.web.conftest import READ_TOKEN, auth, drain
from tests.web.test_api import deliver
from tests.web.test_console import audit, payments, sign_in


def status(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/v1/status", headers=auth()).json()
    return body


# --- 1. approvals waiting, in the status and the status bar ---------------------

def test_status_counts_the_approvals_waiting(client: TestClient) -> None:
    before = status(client)
    assert before["awaiting_approval"] == 0
    first = deliver(client, payments("pay-1"))[0]["remediation_id"]
    deliver(client, payments("pay-2"))
    deliver(client, crashloop())  # acts at once: not waiting
    after = status(client)
    assert after["awaiting_approval"] == 2
    assert set(before) <= set(after)  # additive: nothing removed or renamed
    client.post(f"/api/v1/remediations/{first}/decline", headers=auth())
    assert status(client)["awaiting_approval"] == 1


def test_status_bar_links_to_the_approvals_waiting(client: TestClient) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    deliver(client, crashloop())
    sign_in(client, READ_TOKEN)
    page = client.get("/").text
    link = re.search(r'<a id="awaiting"[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', page)
    assert link is not None, page
    assert link.group(2) == "awaiting approval: 1"
    listed = client.get(link.group(1)).text
    assert rid[:8] in listed
    assert "<option selected>awaiting_approval</option>" in listed
    assert listed.count('href="/remediations/') == 1  # only the one waiting


# --- 2. the current state first, the decision second ----------------------------

class FailingAction:
    async def run(self, request: ActionRequest) -> ActionResult:
        raise RuntimeError("forbidden: pods is forbidden")


@pytest.fixture
def failing(app_settings: dict[str, Any], clock: FakeClock) -> Any:
    app = create_app(load_settings(**app_settings), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": FailingAction()}))
    with TestClient(app) as test_client:
        yield test_client


def test_an_executed_action_that_failed_shows_failed_with_its_decision(
        failing: TestClient) -> None:
    rid = deliver(failing, crashloop())[0]["remediation_id"]
    drain(failing)
    [row] = failing.get("/api/v1/remediations", headers=auth()).json()["items"]
    assert (row["id"], row["state"], row["decision"]) == (rid, "failed", "executed")
    body = failing.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    assert (body["state"], body["decision"]) == ("failed", "executed")
    assert [(s["state"], s["decision"]) for s in body["steps"]] == [("failed", "executed")]
    sign_in(failing, READ_TOKEN)
    listed = failing.get("/").text
    cell = re.search(r"<td><span class=\"o-(\w+)\">(\w+)</span> <small class=\"decision\">"
                     r"\(decision: (\w+)\)</small>", listed)
    assert cell is not None and cell.groups() == ("failed", "failed", "executed")
    assert 'class="o-executed"' not in listed  # nothing green in the list
    detail = failing.get(f"/remediations/{rid}").text
    assert '<span class="o-failed" id="state">failed</span>' in detail
    assert '<small class="decision" id="decision">(decision: executed)</small>' in detail


def test_an_approval_request_keeps_its_decision_once_answered(client: TestClient) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    client.post(f"/api/v1/remediations/{rid}/decline", headers=auth())
    [row] = client.get("/api/v1/remediations", headers=auth()).json()["items"]
    assert (row["state"], row["decision"]) == ("declined", "awaiting_approval")


# --- 3. every state offered, from the one vocabulary --------------------------

def test_state_filter_offers_every_state_from_the_vocabulary(client: TestClient) -> None:
    sign_in(client, READ_TOKEN)
    page = client.get("/").text
    select = re.search(r'<select name="state">(.*?)</select>', page)
    assert select is not None
    offered = re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))
    assert offered[0] == "any state"
    assert tuple(offered[1:]) == REMEDIATION_STATES
    assert {"precondition_failed", PENDING, "unknown", "denied", "resolved",
            "cooldown", "rate_limited"} <= set(offered)
    assert {o.value for o in Outcome} == set(REMEDIATION_STATES[1:]) | set(NEVER_A_STATE)
    chosen = client.get("/", params={"state": "precondition_failed"}).text
    assert "<option selected>precondition_failed</option>" in chosen


# --- 4. pause, resume and breaker reset take a JSON reason ---------------------

@pytest.mark.parametrize("how", ["json", "query"])
def test_pause_takes_its_reason_as_json_or_query(client: TestClient, how: str) -> None:
    given = ({"json": {"reason": "incident 7"}} if how == "json"
             else {"params": {"reason": "incident 7"}})
    answer = client.post("/api/v1/pause", headers=auth(), **given)  # type: ignore[arg-type]
    assert answer.status_code == 200
    assert answer.json()["paused_reason"] == "incident 7 (by webhook-token)"
    assert audit(client, outcome="operator")[0]["reason"] == "incident 7"


def test_resume_and_breaker_reset_take_a_json_reason(client: TestClient) -> None:
    client.post("/api/v1/pause", headers=auth(), json={"reason": "x"})
    assert client.post("/api/v1/resume", headers=auth(),
                       json={"reason": "fixed"}).json()["paused"] is False
    client.post("/api/v1/breaker/reset", headers=auth(), json={"reason": "false alarm"})
    entries = audit(client, outcome="operator")
    assert [(e["action"], e["reason"]) for e in entries[:2]] == [
        ("breaker_reset", "false alarm"), ("resume", "fixed")]


@pytest.mark.parametrize("path", ["/api/v1/pause", "/api/v1/resume", "/api/v1/breaker/reset"])
@pytest.mark.parametrize(("send", "says"), [
    pytest.param({"json": {"reason": 42}}, "reason", id="wrong-type"),
    pytest.param({"json": {"why": "typo"}}, "why", id="unknown-field"),
    pytest.param({"json": ["incident"]}, "body", id="not-an-object"),
    pytest.param({"json": {"reason": "x" * 501}}, "reason", id="too-long"),
    pytest.param({"content": b"reason=incident",
                  "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
                 "body", id="form-body"),
    pytest.param({"content": b"{not json", "headers": {"Content-Type": "application/json"}},
                 "", id="bad-json"),
    pytest.param({"json": {"reason": "a"}, "params": {"reason": "b"}}, "twice", id="twice"),
])
def test_a_control_body_that_is_not_valid_is_a_400_and_changes_nothing(
        client: TestClient, path: str, send: dict[str, Any], says: str) -> None:
    headers = {**auth(), **send.pop("headers", {})}
    answer = client.post(path, headers=headers, **send)
    assert answer.status_code == 400, answer.text
    assert says in answer.text
    assert audit(client, outcome="operator") == []
    assert status(client)["paused"] is False


def test_a_control_body_is_read_only_after_the_caller_is_known(client: TestClient) -> None:
    assert client.post("/api/v1/pause", json={"reason": 42}).status_code == 401
    assert client.post("/api/v1/pause", json={"reason": "x"},
                       headers=auth(READ_TOKEN)).status_code == 403


# --- 5. a refused approval quotes the operator's pause -------------------------

def test_approval_while_paused_quotes_who_paused_and_why(client: TestClient) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    client.post("/api/v1/pause", headers=auth(), json={"reason": "payments freeze"})
    answer = client.post(f"/api/v1/remediations/{rid}/approve", headers=auth(),
                         json={"reason": "looks safe"}).json()
    assert answer["outcome"] == "paused"
    assert answer["reason"] == (
        "approved by webhook-token: looks safe; not run: paused: remediation is paused by "
        "an operator (paused by webhook-token: payments freeze)")
    [entry] = audit(client, outcome="paused")
    assert entry["remediation_id"] == rid
    assert "paused by webhook-token: payments freeze" in entry["reason"]


@pytest.mark.parametrize(("stored", "said"), [
    ("freeze (by alice)", "paused by alice: freeze"),
    ("db migration (step 2) (by cli:bob)", "paused by cli:bob: db migration (step 2)"),
    ("set by a tool", "paused: set by a tool"),
    ("", "paused by an operator"),
])
def test_the_pause_note_reads_what_pause_stored(stored: str, said: str) -> None:
    assert operator_log.pause_note(stored) == said
