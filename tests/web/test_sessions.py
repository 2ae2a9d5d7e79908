"""Console sessions through HTTP: revocable, expiring, CSRF-protected sign-in and sign-out,
listed and revoked by operators (API and CLI, audited), shared by app instances."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from remediator.app.settings import load_settings
from remediator.cli import app as cli
from remediator.model.clock import FakeClock, utcnow
from remediator.store.sessions import SessionStore
from remediator.web.app import create_app
from remediator.web.login import LOGIN_COOKIE
from remediator.web.session import COOKIE
from tests.support.keys import shared_audit_key
from tests.web.conftest import READ_TOKEN, TOKEN, auth, form_token, post_login

ROOT = Path(__file__).resolve().parents[2]


def sign_in(client: TestClient, token: str = TOKEN) -> str:
    """Sign in through the form; the CSRF token the pages carry."""
    assert post_login(client, token).status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def audit(client: TestClient, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/audit", params=params,
                                             headers=auth()).json()["items"]
    return items


def with_cookie(app_client: TestClient, cookie: str) -> TestClient:
    """Another browser on the same app, holding `cookie` (the lifespan already ran)."""
    other = TestClient(app_client.app)
    other.cookies.set(COOKIE, cookie)
    return other


def refused(client: TestClient, csrf: str) -> None:
    """The session can neither read nor act, on the API or the pages."""
    read = client.get("/api/v1/audit")
    assert read.status_code == 401, "the session still reads"
    assert read.json()["detail"] == "session expired or signed out"
    assert client.get("/", follow_redirects=False).status_code == 303
    act = client.post("/api/v1/pause", headers={"X-CSRF-Token": csrf})
    assert act.status_code == 401
    form = client.post("/console/pause", data={"csrf": csrf, "reason": "x"},
                       follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"].startswith("/login")


# --- logout revokes ------------------------------------------------------------------

def test_after_logout_the_old_cookie_is_refused(client: TestClient) -> None:
    csrf = sign_in(client)
    cookie = client.cookies[COOKIE]
    done = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    stolen = with_cookie(client, cookie)  # a copy kept from before the logout
    refused(stolen, csrf)
    assert client.get("/api/v1/status", headers=auth()).json()["paused"] is False
    entry = audit(client, outcome="operator")[0]
    assert (entry["action"], entry["reason"], entry["detail"]["actor"]) == (
        "logout", "signed out", "webhook-token")


def test_logout_without_the_csrf_token_changes_nothing(client: TestClient) -> None:
    csrf = sign_in(client)
    forged = client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.post("/logout", follow_redirects=False).status_code == 403
    page = client.get("/logout")  # a link or an <img> elsewhere: a button, nothing more
    assert page.status_code == 200
    assert f'name="csrf" value="{csrf}"' in page.text and 'action="/logout"' in page.text
    assert client.get("/api/v1/audit").status_code == 200
    assert client.post("/api/v1/pause", headers={"X-CSRF-Token": csrf}).status_code == 200


def test_logout_without_a_session_only_forgets_the_cookie(client: TestClient) -> None:
    client.cookies.set(COOKIE, "not-a-session")
    done = client.post("/logout", follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    assert client.get("/logout", follow_redirects=False).status_code == 303


# --- login CSRF ----------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    pytest.param("no-token", id="neither-cookie-nor-field"),
    pytest.param("field-only", id="field-without-its-cookie"),
    pytest.param("cookie-only", id="cookie-without-the-field"),
    pytest.param("mismatch", id="field-differs-from-cookie"),
    pytest.param("cross-site", id="browser-says-cross-site"),
])
def test_cross_site_login_is_refused(client: TestClient, case: str) -> None:
    data = {"token": TOKEN, "next": "/"}
    headers = {}
    if case in ("cookie-only", "mismatch", "cross-site"):
        data["csrf"] = form_token(client)  # sets this browser's cookie
        if case == "cookie-only":
            del data["csrf"]
        if case == "mismatch":
            data["csrf"] = "A" * 43
        if case == "cross-site":
            headers["Sec-Fetch-Site"] = "cross-site"
    elif case == "field-only":
        data["csrf"] = form_token(TestClient(client.app))  # another browser's form
    response = client.post("/login", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403
    assert "expired or came from another site" in response.text
    assert COOKIE not in client.cookies
    assert client.get("/api/v1/sessions", headers=auth()).json()["items"] == []


def test_the_sign_in_form_token_is_a_strict_httponly_cookie_and_a_field(
        client: TestClient) -> None:
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/login" in cookie
    assert f'name="csrf" value="{client.cookies[LOGIN_COOKIE]}"' in page.text
    assert form_token(client) == client.cookies[LOGIN_COOKIE]  # tabs share one


# --- expiry ---------------------------------------------------------------------------

def test_a_session_expires_when_idle(client: TestClient, clock: FakeClock) -> None:
    csrf = sign_in(client, READ_TOKEN)
    for _ in range(3):  # used every 50 minutes: alive well past one idle timeout
        clock.advance(minutes=50)
        assert client.get("/api/v1/audit").status_code == 200
    clock.advance(minutes=60, seconds=1)
    refused(client, csrf)


def test_a_busy_session_still_ends_after_its_ttl(client: TestClient, clock: FakeClock) -> None:
    csrf = sign_in(client, READ_TOKEN)
    for _ in range(23):
        clock.advance(minutes=30)
        assert client.get("/api/v1/audit").status_code == 200
    clock.advance(minutes=30)  # 12 h after sign-in
    refused(client, csrf)


def test_use_is_noted_at_most_once_a_minute(client: TestClient, clock: FakeClock) -> None:
    sign_in(client, READ_TOKEN)
    services = client.app.state.services  # type: ignore[attr-defined]
    store: SessionStore = services.sessions  # the store the app reads sessions through
    session = client.get("/api/v1/sessions").json()["items"][0]["id"]
    signed_in = store.find(session).last_seen_at
    for _ in range(5):
        clock.advance(seconds=10)
        assert client.get("/api/v1/audit").status_code == 200
    assert store.find(session).last_seen_at == signed_in
    clock.advance(seconds=11)
    client.get("/api/v1/audit")
    assert store.find(session).last_seen_at == clock.now


# --- operators list and revoke ------------------------------------------------------

def test_sessions_are_listed_and_revoked_through_the_api(client: TestClient) -> None:
    reader = TestClient(client.app, client=("192.0.2.7", 4000))
    csrf = sign_in(reader, READ_TOKEN)
    listed = client.get("/api/v1/sessions", headers=auth(READ_TOKEN)).json()["items"]
    assert [(s["actor"], s["can_act"], s["state"], s["client"]) for s in listed] == [
        ("api-token", False, "live", "192.0.2.7")]
    session = listed[0]["id"]
    assert reader.cookies[COOKIE] not in json.dumps(listed)
    assert client.post(f"/api/v1/sessions/{session}/revoke", headers=auth(READ_TOKEN),
                       json={"reason": "x"}).status_code == 403
    assert client.post("/api/v1/sessions/abc/revoke", headers=auth()).status_code == 400
    assert client.post(f"/api/v1/sessions/{'f' * 12}/revoke",
                       headers=auth()).status_code == 404
    done = client.post(f"/api/v1/sessions/{session[:10]}/revoke", headers=auth(),
                       json={"reason": "laptop lost"})
    assert done.status_code == 200
    assert (done.json()["revoked"], done.json()["session"]["state"]) == (True, "revoked")
    refused(reader, csrf)
    again = client.post(f"/api/v1/sessions/{session}/revoke", headers=auth())
    assert again.json()["revoked"] is False
    entries = [e for e in audit(client, outcome="operator") if e["action"] == "session_revoke"]
    assert len(entries) == 1
    assert entries[0]["reason"] == "laptop lost"
    assert entries[0]["detail"]["actor"] == "webhook-token"
    assert entries[0]["detail"]["session_actor"] == "api-token"
    assert client.get("/api/v1/sessions", headers=auth()).json()["items"] == []
    ended = client.get("/api/v1/sessions", params={"all": "true"}, headers=auth()).json()
    assert [s["revoked_by"] for s in ended["items"]] == ["webhook-token"]


def test_an_acting_session_revokes_with_its_csrf_token(client: TestClient) -> None:
    other = TestClient(client.app)
    sign_in(other, READ_TOKEN)
    csrf = sign_in(client)
    items = client.get("/api/v1/sessions").json()["items"]
    assert sorted((s["current"], s["can_act"]) for s in items) == [(False, False), (True, True)]
    target = next(s["id"] for s in items if not s["current"])
    assert client.post(f"/api/v1/sessions/{target}/revoke").status_code == 403
    assert client.post(f"/api/v1/sessions/{target}/revoke",
                       headers={"X-CSRF-Token": csrf}).json()["revoked"] is True
    assert other.get("/api/v1/audit").status_code == 401


runner = CliRunner()


def test_sessions_are_listed_and_revoked_from_the_cli(
        client: TestClient, app_settings: dict[str, Any], clock: FakeClock) -> None:
    clock.now = utcnow()  # the CLI reads the wall clock
    csrf = sign_in(client)
    url = app_settings["database_url"]

    def run(*args: str) -> Any:
        return runner.invoke(cli, [*args, "--database-url", url],
                             env={"COLUMNS": "80", "REMEDIATOR_RULES": str(ROOT / "rules")})

    listed = run("sessions", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["actor"], r["state"]) for r in rows] == [("webhook-token", "live")]
    table = run("sessions", "list").output
    assert rows[0]["id"][:12] in table
    assert max(len(line) for line in table.splitlines()) <= 80
    assert run("sessions", "revoke", "0" * 12).exit_code == 1
    done = run("sessions", "revoke", rows[0]["id"][:12], "--reason", "left the team")
    assert done.exit_code == 0, done.output
    assert "revoked session" in done.output
    refused(client, csrf)
    assert "revoked already" in run("sessions", "revoke", rows[0]["id"]).output
    entry = next(e for e in audit(client, outcome="operator") if e["action"] == "session_revoke")
    assert entry["detail"]["actor"] == f"cli:{getpass.getuser()}"
    assert entry["reason"] == "left the team"


# --- several app instances, one database (issue 20 item 7) --------------------------

@pytest.fixture
def two_apps(database_url: str, tmp_path: Path, clock: FakeClock
             ) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app instances (as two replicas) on the same database, with the shared
    session key that HA requires."""
    settings = load_settings(rules=[str(ROOT / "rules")], database_url=database_url,
                             webhook_token=TOKEN, api_token=READ_TOKEN,
                             session_key="shared-session-key", state_dir=str(tmp_path),
                             audit_key_file=shared_audit_key(tmp_path))
    with TestClient(create_app(settings, scheduler=False, clock=clock)) as first, \
            TestClient(create_app(settings, scheduler=False, clock=clock)) as second:
        yield first, second


def test_a_session_works_on_every_instance_and_ends_on_all(
        two_apps: tuple[TestClient, TestClient]) -> None:
    first, second = two_apps
    csrf = sign_in(first)
    cookie = first.cookies[COOKIE]
    second.cookies.set(COOKIE, cookie)
    assert second.get("/api/v1/audit").status_code == 200
    paused = second.post("/console/pause", data={"csrf": csrf, "reason": "on the other one"},
                         follow_redirects=False)
    assert paused.status_code == 303
    assert first.get("/api/v1/status").json()["paused"] is True
    assert second.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    refused(first, csrf)


def test_a_revocation_on_one_instance_holds_on_the_other(
        two_apps: tuple[TestClient, TestClient]) -> None:
    first, second = two_apps
    csrf = sign_in(first, READ_TOKEN)
    session = second.get("/api/v1/sessions", headers=auth()).json()["items"][0]["id"]
    assert second.post(f"/api/v1/sessions/{session}/revoke",
                       headers=auth()).json()["revoked"] is True
    refused(first, csrf)
