"""Untrusted inputs of the console never crash it: properties over any text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.store import Database
from remediator.store.operating import OperatorStore
from remediator.store.sessions import SessionStore
from remediator.web.console import decode_cursor, encode_cursor
from remediator.web.login import _safe_next
from remediator.web.session import Expiry, Sessions
from remediator.web.unauthenticated import RefusalSampler


@given(st.text(max_size=300))
def test_next_target_is_always_a_local_path(target: str) -> None:
    safe = _safe_next(target)
    assert safe.startswith("/") and not safe.startswith("//") and "\\" not in safe


@given(st.text(max_size=200))
def test_any_cursor_is_decoded_or_refused_with_a_reason(value: str) -> None:
    problem = ""
    try:
        decoded = decode_cursor(value)
    except ValueError as error:
        problem, decoded = str(error), None
    assert problem.startswith("invalid cursor") if problem else (
        decoded is None or decoded[0].tzinfo is not None)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)), st.uuids())
def test_cursor_round_trips(at: datetime, rid: object) -> None:
    assert decode_cursor(encode_cursor((at, str(rid)))) == (at, str(rid))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionStore]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'r.db'}")
    database.migrate()
    yield SessionStore(database)
    database.dispose()


EXPIRY = Expiry(ttl=timedelta(hours=1), idle=timedelta(hours=1))


def _sessions(key: str, store: SessionStore) -> Sessions:
    return Sessions(key, store=store, operators=OperatorStore(store.database), expiry=EXPIRY)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@given(value=st.text(max_size=500))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_forged_cookies_are_not_sessions(store: SessionStore, value: str) -> None:
    assert _sessions("k", store).read(value, NOW) is None


def test_a_cookie_signed_with_another_key_is_not_a_session(store: SessionStore) -> None:
    value, _ = _sessions("old", store).issue(
        actor="webhook-token", can_act=True, now=NOW)
    assert _sessions("new", store).read(value, NOW) is None
    principal = _sessions("old", store).read(value, NOW)
    assert principal is not None and principal.can_act and principal.actor == "webhook-token"


@pytest.mark.parametrize(("gaps", "sampled"), [
    pytest.param([0, 10, 20, 59], [0], id="one-per-window"),
    pytest.param([0, 61, 122], [0, 1, 2], id="each-window-again"),
])
def test_sampler_records_once_per_client_and_window(gaps: list[int], sampled: list[int]) -> None:
    sampler = RefusalSampler()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hits = [i for i, second in enumerate(gaps)
            if sampler.note("10.0.0.1", start + timedelta(seconds=second)) is not None]
    assert hits == sampled


def test_sampler_memory_is_bounded() -> None:
    sampler = RefusalSampler(max_clients=100)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1000):
        sampler.note(f"10.0.{n // 256}.{n % 256}", now)
    assert len(sampler._seen) == 100


def test_many_clients_cannot_write_many_samples() -> None:
    sampler = RefusalSampler(max_samples=5)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sampled = [n for n in range(50) if sampler.note(f"10.0.0.{n}", now) is not None]
    assert sampled == [0, 1, 2, 3, 4]
    later = now + timedelta(minutes=1)
    again = sampler.note("10.0.0.9", later)
    assert again is not None and again.suppressed == 1


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                "2026-01-01T00:00:00"])
def test_cursors_at_the_calendar_edges_are_refused(at: str) -> None:
    import base64

    value = base64.urlsafe_b64encode(f"{at}|abc".encode()).decode()
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(value)
