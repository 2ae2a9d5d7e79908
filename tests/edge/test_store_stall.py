"""One stalled replica must not hang every replica (real PostgreSQL).

Every writer of every replica queues on one advisory lock. A replica that
stalls while holding it (SIGSTOPped, frozen) used to hang every webhook for
as long as it stalled; now a writer waits `db_lock_timeout` and the webhook
answers 503 with Retry-After (Alertmanager retries), and the server ends the
stalled session after `db_idle_in_transaction_timeout`, releasing the lock; where
the server does not (halfway through a pipeline), the next writer does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.store import Database, StoreUnavailable
from remediator.store.database import _ADVISORY_LOCK_ID
from remediator.store.timeouts import Timeouts
from remediator.web.app import create_app
from tests.support.keys import shared_audit_key
from tests.support.payloads import crashloop, payload
from tests.support.postgres import create_database
from tests.web.conftest import READ_TOKEN, RULES, TOKEN, auth

pytestmark = pytest.mark.postgres

LOCK_TIMEOUT = 1.0
IDLE_TIMEOUT = 3.0
HANG = LOCK_TIMEOUT + 10  # what "answered" means here: well before this


@pytest.fixture
def url(postgres_admin_url: str, request: pytest.FixtureRequest) -> str:
    return create_database(postgres_admin_url, f"stall_{abs(hash(request.node.name))}")


@pytest.fixture
def client(url: str, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    settings = load_settings(rules=[str(RULES)], database_url=url, webhook_token=TOKEN,
                             api_token=READ_TOKEN, state_dir=tmp_path,
                             audit_key_file=shared_audit_key(tmp_path), session_key="k" * 32,
                             db_lock_timeout=f"{int(LOCK_TIMEOUT * 1000)}ms",
                             db_idle_in_transaction_timeout=f"{int(IDLE_TIMEOUT)}s")
    app = create_app(settings, scheduler=False, clock=clock, actions=ActionRegistry({}))
    with TestClient(app) as test_client:
        yield test_client


def _post_within(client: TestClient, seconds: float, **alert: Any) -> Any:
    """POST a delivery from a thread; None if no answer came within `seconds` (a hang)."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(client.post(
        "/webhook/alertmanager", json=payload(crashloop(**alert)), headers=auth())),
        daemon=True)
    thread.start()
    thread.join(seconds)
    return answers[0] if answers else None


def test_a_held_writers_lock_is_a_503_within_the_lock_timeout(
        client: TestClient, url: str) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as holder:  # another replica, inside a write
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_ID,))
        started = time.monotonic()
        try:
            answer = _post_within(client, HANG)
        finally:
            holder.rollback()  # releases the lock, and a hung request with it
        assert answer is not None, "the webhook hung while another replica held the lock"
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"]
        assert time.monotonic() - started < LOCK_TIMEOUT + 3
    released = _post_within(client, HANG)
    assert released is not None and released.status_code == 200, released


def test_a_stalled_replica_is_cut_off_and_the_others_carry_on(
        client: TestClient, url: str) -> None:
    stalled = Database(url, timeouts=Timeouts(idle_in_transaction=LOCK_TIMEOUT * 3))
    write = stalled.writing()
    write.__enter__()  # holds the lock, then stalls: idle in transaction
    ended = False
    try:
        first = _post_within(client, HANG)
        assert first is not None and first.status_code == 503, first
        deadline = time.monotonic() + HANG
        answer = None
        while time.monotonic() < deadline:  # the server ends the stalled session
            answer = _post_within(client, HANG)
            if answer is not None and answer.status_code == 200:
                break
        assert answer is not None and answer.status_code == 200, answer
        ended = True
        with pytest.raises(StoreUnavailable):  # the stalled replica's write never lands
            write.__exit__(None, None, None)
    finally:
        if not ended:  # release the lock whatever failed, so no request stays hung
            with contextlib.suppress(Exception):
                write.__exit__(RuntimeError, RuntimeError("the test ended"), None)
        stalled.dispose()


def _holder_state(url: str, pid: int) -> tuple[str, str] | None:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as probe:
        row = probe.execute("SELECT state, wait_event FROM pg_stat_activity WHERE pid = %s",
                            (pid,)).fetchone()
    return (row[0], row[1]) if row else None


def test_a_writer_stopped_mid_pipeline_is_ended_by_the_next_writer(
        client: TestClient, url: str) -> None:
    """Halfway through a pipeline (Execute sent, no Sync) a session is 'active' and
    waits on its client with no timeout of PostgreSQL's running: the next writer that
    times out on the lock ends it once it has waited longer than the idle bound."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    bounded = "-c statement_timeout=1000 -c idle_in_transaction_session_timeout=1000"
    with psycopg.connect(plain, options=bounded) as holder:
        pid = holder.info.backend_pid
        with contextlib.suppress(psycopg.OperationalError), holder.pipeline():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_ID,))
            holder.pgconn.send_flush_request()  # executed now; the Sync never comes
            holder.pgconn.flush()
            time.sleep(2.5)  # past both of PostgreSQL's own bounds
            assert _holder_state(url, pid) == ("active", "ClientRead")  # nothing ended it
            started = time.monotonic()
            first = _post_within(client, HANG)
            assert first is not None and first.status_code == 503, first
            deadline, answer = time.monotonic() + HANG, first
            while answer.status_code != 200 and time.monotonic() < deadline:
                answer = _post_within(client, HANG) or answer
            assert answer.status_code == 200, answer.text
            assert _holder_state(url, pid) is None  # the stalled writer was ended
            assert time.monotonic() - started < IDLE_TIMEOUT + LOCK_TIMEOUT * 3


def test_timeouts_are_sent_as_session_settings(url: str) -> None:
    database = Database(url, timeouts=Timeouts(lock=2.5, statement=7, idle_in_transaction=9))
    try:
        with database.reading() as connection:
            shown = {name: connection.exec_driver_sql(f"SHOW {name}").scalar() for name in (
                "lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")}
    finally:
        database.dispose()
    assert shown == {"lock_timeout": "2500ms", "statement_timeout": "7s",
                     "idle_in_transaction_session_timeout": "9s"}


_STALLING_WRITER = """
import sys
from remediator.store import Database
from remediator.store.timeouts import Timeouts

database = Database(sys.argv[1], timeouts=Timeouts(idle_in_transaction=float(sys.argv[2])))
with database.writing():
    print("holding the writers' lock", flush=True)
    sys.stdin.readline()
"""


def test_a_sigstopped_writer_process_costs_the_others_503s_not_a_hang(
        client: TestClient, url: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    with subprocess.Popen([sys.executable, "-c", _STALLING_WRITER, url,
                           str(LOCK_TIMEOUT * 3)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
                          ) as writer:
        try:
            assert writer.stdout is not None and "holding" in writer.stdout.readline()
            writer.send_signal(signal.SIGSTOP)
            first = _post_within(client, HANG)
            assert first is not None and first.status_code == 503, first
            deadline, answer = time.monotonic() + HANG, first
            while answer.status_code != 200 and time.monotonic() < deadline:
                answer = _post_within(client, HANG) or answer
            assert answer.status_code == 200, answer.text  # the frozen writer was cut off
        finally:
            writer.send_signal(signal.SIGCONT)
            writer.kill()
