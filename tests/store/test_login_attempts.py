"""Sign-in attempts take their slot in the shared table before they are judged: two
replicas answering one flood together let exactly the limit through (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from remediator.store import Database
from remediator.store.sessions import SessionStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[SessionStore, SessionStore]]:
    first, second = Database(database_url), Database(database_url)
    first.migrate()
    yield SessionStore(first), SessionStore(second)
    first.dispose()
    second.dispose()


def reserve(store: SessionStore, client: str, at: datetime = T0) -> int | None:
    return store.reserve_attempt(client, at=at, since=at - WINDOW, per_client=10, overall=15)


def test_concurrent_attempts_on_two_replicas_never_pass_the_limit(
        replicas: tuple[SessionStore, SessionStore]) -> None:
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda n: reserve(replicas[n % 2], "192.0.2.1"), range(40)))
    assert sum(slot is not None for slot in taken) == 10
    others = [reserve(replicas[n % 2], f"198.51.100.{n}") for n in range(10)]
    assert sum(slot is not None for slot in others) == 5  # everyone together: 15


def test_a_right_token_gives_its_slot_back_and_old_failures_leave_the_window(
        replicas: tuple[SessionStore, SessionStore]) -> None:
    first, second = replicas
    slots = [reserve(first, "192.0.2.1") for _ in range(10)]
    assert None not in slots and reserve(second, "192.0.2.1") is None
    second.release(slots[-1])
    assert reserve(second, "192.0.2.1") is not None
    later = T0 + WINDOW
    assert reserve(first, "192.0.2.1", later) is not None  # the window has passed
    assert first.nth_failures(since=later - WINDOW, client="192.0.2.1", per_client=1,
                              overall=1) == (later, later)
