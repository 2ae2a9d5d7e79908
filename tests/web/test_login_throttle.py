"""Sign-in throttling: the pure rule as a table, then 1,000 wrong tokens over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from remediator.model.clock import FakeClock
from remediator.web.session import COOKIE
from remediator.web.throttle import ALLOWED, LoginLimits, Verdict, wait
from tests.web.conftest import READ_TOKEN, TOKEN, auth, form_token
from tests.web.test_api import sample

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = LoginLimits(per_client=10, overall=100, window=timedelta(minutes=5))


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(("client_nth", "overall_nth", "expected"), [
    pytest.param(None, None, ALLOWED, id="fewer-failures-than-either-limit"),
    pytest.param(ago(10), None, Verdict(290, "client"), id="client-limit-waits-until-it-ages"),
    pytest.param(ago(299.5), None, Verdict(1, "client"), id="rounded-up-never-zero"),
    pytest.param(ago(300), None, ALLOWED, id="left-the-window-exactly"),
    pytest.param(ago(400), None, ALLOWED, id="older-than-the-window"),
    pytest.param(None, ago(60), Verdict(240, "global"), id="everyone-together"),
    pytest.param(ago(200), ago(60), Verdict(240, "global"), id="the-longer-wait-wins"),
    pytest.param(ago(10), ago(200), Verdict(290, "client"), id="client-longer-than-global"),
])
def test_wait(client_nth: datetime | None, overall_nth: datetime | None,
              expected: Verdict) -> None:
    assert wait(LIMITS, NOW, client_nth=client_nth, overall_nth=overall_nth) == expected


def attempt(client: TestClient, token: str, csrf: str) -> tuple[int, str | None]:
    response = client.post("/login", data={"token": token, "csrf": csrf},
                           follow_redirects=False)
    return response.status_code, response.headers.get("retry-after")


def rejected(client: TestClient) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get(
        "/api/v1/audit", params={"outcome": "rejected"}, headers=auth()).json()["items"]
    return items


def test_a_thousand_wrong_tokens_are_throttled_counted_and_sampled(
        client: TestClient, clock: FakeClock) -> None:
    csrf = form_token(client)
    started = time.monotonic()
    answers = [attempt(client, f"guess-{n}", csrf) for n in range(1000)]
    elapsed = time.monotonic() - started
    assert [status for status, _ in answers[:10]] == [401] * 10
    assert {status for status, _ in answers[10:]} == {429}
    assert {after for _, after in answers[10:]} == {"300"}  # the fake clock stands still
    assert elapsed < 60, f"1,000 refusals took {elapsed:.1f} s"
    assert sample(client, "remediator_login_failures_total", reason="wrong_token") == 10
    assert sample(client, "remediator_login_failures_total", reason="throttled") == 990
    samples = rejected(client)
    assert len(samples) == 1  # one per client and minute, not one per attempt
    assert samples[0]["detail"] == {"status": 401, "client": "testclient",
                                    "endpoint": "/login", "unrecorded_before": 0}
    assert attempt(client, TOKEN, csrf)[0] == 429  # the right token learns nothing either
    clock.advance(seconds=61)
    attempt(client, "one more", csrf)
    assert rejected(client)[0]["detail"]["unrecorded_before"] == 1000  # type: ignore[index]
    clock.advance(seconds=238)  # 299 s after the ten failures
    assert attempt(client, TOKEN, csrf) == (429, "1")
    clock.advance(seconds=1)  # they leave the window
    status, _ = attempt(client, TOKEN, csrf)
    assert status == 303
    assert client.get("/api/v1/status").status_code == 200
    assert COOKIE in client.cookies


def test_the_global_limit_holds_against_many_addresses(
        client: TestClient, clock: FakeClock) -> None:
    limits = client.app.state.services.settings  # type: ignore[attr-defined]
    assert (limits.login_max_failures, limits.login_max_failures_global) == (10, 100)
    answers = []
    for n in range(120):  # 9 failures each from 14 addresses: no client limit is reached
        guesser = TestClient(client.app, client=(f"198.51.100.{n // 9}", 1000 + n))
        answers.append(attempt(guesser, "guess", form_token(guesser))[0])
    assert answers[:100] == [401] * 100
    assert set(answers[100:]) == {429}
    fresh = TestClient(client.app, client=("203.0.113.1", 1))
    assert attempt(fresh, READ_TOKEN, form_token(fresh))[0] == 429
    assert client.get("/api/v1/status", headers=auth(READ_TOKEN)).status_code == 200
    clock.advance(minutes=5, seconds=1)
    assert attempt(fresh, READ_TOKEN, form_token(fresh))[0] == 303
