"""The on-call console over HTTP: sign-in, sessions, CSRF, list, detail, approvals, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.operate import approvals
from remediator.web.app import create_app
from remediator.web.session import COOKIE
from tests.support.payloads import crashloop, payload
from tests.web.conftest import READ_TOKEN, TOKEN, RecordingAction, auth, drain, post_login
from tests.web.test_api import deliver, sample


def payments(pod: str = "pay-0") -> dict[str, Any]:
    return crashloop(pod=pod, namespace="apps-payments", deployment="pay")


def audit(client: TestClient, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/audit", params=params,
                                             headers=auth()).json()["items"]
    return items


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; return the CSRF token the pages carry."""
    response = post_login(client, token)
    assert response.status_code == 303
    page = client.get("/").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


# --- sign-in and sessions ---------------------------------------------------------

def test_browser_without_session_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/remediations/abc?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fremediations%2Fabc%3Fx%3D1"
    assert "token" in client.get(response.headers["location"]).text


def test_session_cookie_is_signed_httponly_strict_and_expires(client: TestClient) -> None:
    response = post_login(client, READ_TOKEN)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=43200" in cookie
    assert READ_TOKEN not in cookie and TOKEN not in cookie


def test_wrong_token_at_login_is_refused(client: TestClient) -> None:
    response = post_login(client, "guess")
    assert response.status_code == 401
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert "neither the webhook token nor the API token" in response.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(client: TestClient, target: str) -> None:
    response = post_login(client, READ_TOKEN, next=target)
    assert response.headers["location"] == "/"


def test_rotating_the_session_key_signs_everyone_out(app_settings: dict[str, Any],
                                                    clock: FakeClock) -> None:
    def app(key: str) -> TestClient:
        return TestClient(create_app(load_settings(**app_settings, session_key=key),
                                     scheduler=False, clock=clock))

    with app("first-key") as first:
        post_login(first, READ_TOKEN)
        cookie = first.cookies[COOKIE]
        assert first.get("/", follow_redirects=False).status_code == 200
    with app("first-key") as same:
        same.cookies.set(COOKIE, cookie)
        assert same.get("/", follow_redirects=False).status_code == 200
    with app("second-key") as rotated:
        rotated.cookies.set(COOKIE, cookie)
        assert rotated.get("/", follow_redirects=False).status_code == 303
        assert rotated.get("/api/v1/audit").json()["detail"] == "session expired or signed out"


def test_read_only_session_cannot_act_and_is_told_why(client: TestClient) -> None:
    csrf = sign_in(client, READ_TOKEN)
    response = client.post("/console/pause", data={"csrf": csrf, "reason": "x"})
    assert response.status_code == 403
    assert "this session may only read" in response.text
    api = client.post("/api/v1/pause", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403
    assert client.get("/api/v1/status").json()["paused"] is False


def test_acting_session_needs_the_csrf_token(client: TestClient) -> None:
    csrf = sign_in(client, TOKEN)
    for data in ({"reason": "x"}, {"reason": "x", "csrf": "forged"}):
        refused = client.post("/console/pause", data=data)
        assert refused.status_code == 403
        assert "CSRF" in refused.text
    assert client.get("/api/v1/status").json()["paused"] is False
    client.post("/console/pause", data={"csrf": csrf, "reason": "incident 7"})
    assert client.get("/api/v1/status").json()["paused"] is True


@pytest.fixture
def proxied(app_settings: dict[str, Any], clock: FakeClock) -> Iterator[TestClient]:
    settings = load_settings(**app_settings, trusted_proxies="10.0.0.0/8",
                             proxy_operators="alice@example.org")
    with TestClient(create_app(settings, scheduler=False, clock=clock),
                    client=("10.1.2.3", 5000)) as test_client:
        yield test_client


def test_proxy_users_are_trusted_only_from_proxy_addresses(
        proxied: TestClient, app_settings: dict[str, Any], clock: FakeClock) -> None:
    alice = {"X-Forwarded-User": "alice", "X-Forwarded-Email": "alice@example.org"}
    page = proxied.get("/", headers=alice)
    assert page.status_code == 200
    assert "alice (may act)" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = proxied.post("/console/pause", headers=alice,
                        data={"csrf": csrf.group(1), "reason": "maintenance"},
                        follow_redirects=False)
    assert done.status_code == 303
    entry = audit(proxied, outcome="operator")[0]
    assert entry["detail"] == {"actor": "alice", "via": "proxy", "client": "10.1.2.3"}
    bob = proxied.post("/api/v1/resume", headers={"X-Forwarded-User": "bob"})
    assert bob.status_code == 403
    assert "bob may only read" in bob.json()["detail"]
    settings = load_settings(**app_settings, trusted_proxies="10.0.0.0/8")
    with TestClient(create_app(settings, scheduler=False, clock=clock),
                    client=("192.0.2.9", 5000)) as outsider:
        assert outsider.get("/api/v1/status", headers=alice).status_code == 401


# --- item 14: tokens ------------------------------------------------------------

def test_read_only_token_on_acting_endpoints_is_403(client: TestClient) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    for path in ("/api/v1/resume", f"/api/v1/remediations/{rid}/approve", "/-/reload"):
        refused = client.post(path, headers=auth(READ_TOKEN), json={"reason": "x"})
        assert (refused.status_code, refused.json()["detail"]) == (
            403, "this token may only read"), path
    assert client.post("/api/v1/resume", headers=auth("nope")).status_code == 401


# --- item 13: refused requests are counted, sampled in the audit log ---------------

def test_tokenless_requests_are_counted_not_each_audited(client: TestClient,
                                                        clock: FakeClock) -> None:
    for _ in range(50):
        assert client.post("/webhook/alertmanager", json=payload(crashloop())).status_code == 401
    assert sample(client, "remediator_unauthenticated_requests_total",
                  endpoint="/webhook/alertmanager") == 50
    rejected = audit(client, outcome="rejected")
    assert len(rejected) == 1
    assert rejected[0]["detail"]["unrecorded_before"] == 0
    clock.advance(seconds=61)
    client.post("/webhook/alertmanager", json=payload(crashloop()))
    rejected = audit(client, outcome="rejected")
    assert len(rejected) == 2
    assert rejected[0]["detail"]["unrecorded_before"] == 49


# --- item 12: operator actions are audited -----------------------------------------

def test_pause_resume_reset_and_reload_are_operator_entries(client: TestClient) -> None:
    client.post("/api/v1/pause", params={"reason": "incident 42"}, headers=auth())
    paused = deliver(client, crashloop())[0]
    assert paused["outcome"] == "paused"
    assert 'incident 42 (by webhook-token)' in paused["reason"]
    client.post("/api/v1/resume", params={"reason": "fixed"}, headers=auth())
    client.post("/api/v1/breaker/reset", params={"reason": "false alarm"}, headers=auth())
    digest = client.get("/api/v1/rules", headers=auth()).json()["digest"]
    client.post("/-/reload", headers=auth())
    entries = list(reversed(audit(client, outcome="operator")))
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("pause", "incident 42"), ("resume", "fixed"), ("breaker_reset", "false alarm"),
        ("reload", f"rules reloaded: {digest} -> {digest}")]
    for entry in entries:
        assert entry["detail"]["actor"] == "webhook-token"
        assert entry["detail"]["client"] == "testclient"
    assert entries[-1]["detail"]["digest_before"] == digest
    assert sample(client, "remediator_operator_actions_total", action="pause") == 1


# --- list and detail -------------------------------------------------------------

def test_list_folds_repeats_and_shows_current_state(client: TestClient) -> None:
    rid = deliver(client, crashloop())[0]["remediation_id"]
    deliver(client, crashloop())
    deliver(client, crashloop())
    drain(client)
    csrf = sign_in(client, READ_TOKEN)
    assert csrf
    rows = client.get("/api/v1/remediations").json()["items"]
    assert [(r["id"], r["state"], r["repeats"]) for r in rows] == [(rid, "succeeded", 2)]
    page = client.get("/").text
    assert rid[:8] in page and "\u00d72" in page
    assert client.get("/api/v1/remediations", params={"state": "failed"}).json()["items"] == []


def test_list_pages_to_older_remediations(client: TestClient, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(deliver(client, crashloop(pod=f"web-{n}"))[0]["remediation_id"])
        clock.advance(minutes=1)
    first = client.get("/api/v1/remediations", params={"limit": 2}, headers=auth()).json()
    assert [r["id"] for r in first["items"]] == ids[:0:-1]
    second = client.get("/api/v1/remediations", params={"limit": 2, "cursor":
                        first["next_cursor"]}, headers=auth()).json()
    assert [r["id"] for r in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None
    bad = client.get("/api/v1/remediations", params={"cursor": "!!"}, headers=auth())
    assert bad.status_code == 400


def test_short_id_and_documented_shape(client: TestClient) -> None:
    rid = deliver(client, crashloop())[0]["remediation_id"]
    drain(client)
    body = client.get(f"/api/v1/remediations/{rid[:8]}", headers=auth(READ_TOKEN)).json()
    assert body["id"] == rid and body["short_id"] == rid[:8]
    assert body["alert"]["generator_url"] == "http://prometheus:9090/graph?g0.expr=up"
    assert body["alert"]["runbook_url"].endswith("KubePodCrashLooping.md")
    assert body["action"] == {"type": "kubernetes.delete_pod", "target": "pod/apps-a/web-1",
                              "namespace": "apps-a", "dry_run": False}
    assert body["evidence"] == [] and body["hints"] == []
    assert set(body) == {"id", "short_id", "rule", "state", "resolved_at", "created_at",
                         "updated_at", "approval_expires", "alert", "action", "steps", "decision",
                         "timeline", "repeats", "evidence", "hints", "summary", "proposal"}
    assert body["summary"]["snapshots"] == 0 and body["summary"]["events"] == []
    for bad in ("zz", "x" * 40, "%25"):
        assert client.get(f"/api/v1/remediations/{bad}", headers=auth()).status_code == 404


def test_detail_page_links_and_escapes(client: TestClient) -> None:
    rid = deliver(client, crashloop())[0]["remediation_id"]
    drain(client)
    sign_in(client, READ_TOKEN)
    html = client.get(f"/remediations/{rid[:8]}").text
    assert 'href="https://runbooks.example.org/runbooks/KubePodCrashLooping.md"' in html
    assert 'href="http://prometheus:9090/graph?g0.expr=up"' in html
    assert "kubernetes.rollout_restart" in html  # the escalation step not reached yet
    assert "No evidence was gathered" in html
    assert client.get("/remediations/ffffffff").status_code == 404


def test_silence_link_prefills_the_alert(app_settings: dict[str, Any], clock: FakeClock) -> None:
    settings = load_settings(**app_settings, alertmanager_external_url="https://am.example")
    with TestClient(create_app(settings, scheduler=False, clock=clock)) as client:
        rid = deliver(client, crashloop())[0]["remediation_id"]
        body = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    base, _, query = body["alert"]["silence_url"].partition("?filter=")
    assert base == "https://am.example/#/silences/new"
    assert unquote(query) == ('{alertname="KubePodCrashLooping",deployment="web",'
                              'namespace="apps-a",pod="web-1"}')


# --- approvals -------------------------------------------------------------------

def test_approval_rule_waits_then_approval_runs_the_action(
        client: TestClient, recorder: RecordingAction) -> None:
    decision = deliver(client, payments())[0]
    assert decision["outcome"] == "awaiting_approval"
    drain(client)
    assert recorder.requests == []
    rid = decision["remediation_id"]
    answer = client.post(f"/api/v1/remediations/{rid[:8]}/approve", headers=auth(),
                         json={"reason": "checked the dashboards"})
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "approved" and answer.json()["queued"] is True
    drain(client)
    assert [r.target for r in recorder.requests] == ["pod/apps-payments/pay-0"]
    body = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    assert [e["outcome"] for e in body["timeline"]] == [
        "awaiting_approval", "operator", "approved", "succeeded"]
    assert body["timeline"][1]["actor"] == "webhook-token"
    assert "checked the dashboards" in body["timeline"][2]["reason"]
    again = client.post(f"/api/v1/remediations/{rid}/approve", headers=auth())
    assert again.status_code == 409
    assert sample(client, "remediator_decisions_total", rule="restart-crashlooping-pod",
                  outcome="awaiting_approval") == 1


def test_approval_rechecks_the_guards(client: TestClient, recorder: RecordingAction,
                                      clock: FakeClock) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    client.post("/api/v1/pause", params={"reason": "freeze"}, headers=auth())
    answer = client.post(f"/api/v1/remediations/{rid}/approve", headers=auth()).json()
    assert answer["outcome"] == "paused" and answer["queued"] is False
    drain(client)
    assert recorder.requests == []
    client.post("/api/v1/resume", headers=auth())
    clock.advance(minutes=11)  # past the rule's cooldown
    # The key was given back: the alert's next notification asks again.
    assert deliver(client, payments())[0]["outcome"] == "awaiting_approval"


def test_approval_does_not_count_itself_for_cooldown(client: TestClient,
                                                     recorder: RecordingAction) -> None:
    first = deliver(client, payments("pay-1"))[0]["remediation_id"]
    second = deliver(client, payments("pay-2"))[0]["remediation_id"]
    for rid in (first, second):
        assert client.post(f"/api/v1/remediations/{rid}/approve",
                           headers=auth()).json()["outcome"] == "approved"
    drain(client)
    assert len(recorder.requests) == 2


def test_decline_runs_nothing(client: TestClient, recorder: RecordingAction) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    answer = client.post(f"/api/v1/remediations/{rid}/decline", headers=auth(),
                         json={"reason": "payments freeze"}).json()
    assert answer["outcome"] == "declined"
    drain(client)
    assert recorder.requests == []
    assert deliver(client, payments())[0]["outcome"] == "duplicate"
    state = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()["state"]
    assert state == "declined"


def test_unanswered_request_expires(client: TestClient, clock: FakeClock) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    services = client.app.state.services  # type: ignore[attr-defined]
    clock.advance(minutes=29)
    assert approvals.expire_due(services.approval_store, clock()) == []
    clock.advance(minutes=2)
    assert [r.id for r in approvals.expire_due(services.approval_store, clock())] == [rid]
    late = client.post(f"/api/v1/remediations/{rid}/approve", headers=auth())
    assert late.status_code == 409
    assert "expired" in late.json()["detail"]
    assert sample(client, "remediator_decisions_total", rule="restart-crashlooping-pod",
                  outcome="awaiting_approval") == 1
    assert deliver(client, payments())[0]["outcome"] == "awaiting_approval"


def test_approve_from_the_detail_page(client: TestClient, recorder: RecordingAction) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    csrf = sign_in(client, TOKEN)
    done = client.post(f"/remediations/{rid}/approve", data={"csrf": csrf, "reason": "ok"},
                       follow_redirects=False)
    assert done.status_code == 303
    drain(client)
    assert len(recorder.requests) == 1
    page = client.get(done.headers["location"]).text
    assert "approved by webhook-token: ok" in page


def test_detail_page_renders_evidence_and_hints_when_present(client: TestClient) -> None:
    from remediator.evidence.digest import fold, summarize
    from remediator.store.views import RemediationView
    from remediator.web.page import templates
    from remediator.web.session import Principal

    rid = deliver(client, crashloop())[0]["remediation_id"]
    view = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    view["evidence"] = [{"phase": "before", "gathered_at": "2026-01-01T12:00:01+00:00",
                         "document": {"pod": {"phase": "Running"},
                                      "logs": "<script>boom</script>"}}]
    view["hints"] = [{"name": "oom_killed", "explanation": "the container ran out of memory"}]
    r = RemediationView.model_validate({k: v for k, v in view.items() if k != "summary"})
    html = templates.get_template("detail.html").render(
        r=r, later=[], done="", s=summarize(r.evidence, r.hints), raw=fold(r.evidence),
        viewer=Principal(actor="api-token", can_act=False, via="session"))
    assert "No evidence was gathered" not in html
    assert "before" in html and "Running" in html
    assert "<script>boom" not in html
    assert ('<span class="badge hint-name">oom_killed</span> the container ran out of memory'
            in html)


def test_repeats_of_a_later_episode_are_not_folded_into_an_earlier_one(
        client: TestClient, clock: FakeClock) -> None:
    first = deliver(client, crashloop())[0]["remediation_id"]
    deliver(client, crashloop())
    deliver(client, crashloop(status="resolved"))
    clock.advance(hours=2)
    later = crashloop(starts_at=clock())
    second = deliver(client, later)[0]["remediation_id"]
    deliver(client, later)
    deliver(client, later)
    rows = client.get("/api/v1/remediations", headers=auth()).json()["items"]
    assert [(r["id"], r["repeats"]) for r in rows] == [(second, 2), (first, 1)]
    view = client.get(f"/api/v1/remediations/{first}", headers=auth()).json()
    assert view["repeats"] == 1


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_times_at_the_calendar_edges_are_a_400_not_a_500(client: TestClient, value: str) -> None:
    for name in ("since", "until"):
        response = client.get("/api/v1/remediations", params={name: value}, headers=auth())
        assert response.status_code == 400, (name, response.text)
        page = client.get("/audit", params={name: value}, headers=auth())
        assert page.status_code == 200 and "outside the range of UTC time" in page.text
