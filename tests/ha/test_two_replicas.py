"""The two-replica contract: what the chart's `replicaCount: 2` on PostgreSQL promises.

Each test runs two real `remediator serve` processes on one real PostgreSQL and
one kmock cluster, and sends the same deliveries to both, as an Alertmanager HA
pair does. What must hold whatever happens to one replica (SIGKILL, SIGSTOP):
one action per alert, no webhook held longer than the lock timeout, recovery
that leaves the live replica's jobs alone, and one audit chain that verifies.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from remediator.web.session import COOKIE
from tests.ha.conftest import PODS, Cluster
from tests.ha.replicas import TOKEN, Answer, Replica, deliveries, post, replicas

pytestmark = [pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.serial]  # lock timeouts are measured on the wall clock

LOCK_TIMEOUT_S = 2.0


def _both(pair: list[Replica], bodies: list[bytes]) -> list[Answer]:
    """Every delivery to both replicas at the same moment; a refused one is sent again
    (to either replica) until it is taken, as Alertmanager retries a 5xx or a reset."""
    answers: list[Answer] = []
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(len(pair)) as pool:
        for body in bodies:
            round_ = list(pool.map(post, [client] * len(pair), pair, [body] * len(pair)))
            answers += round_
            for attempt in range(50):
                if any(answer.status == 200 for answer in round_):
                    break
                live = [r for r in pair if r.process is not None and r.process.poll() is None]
                round_ = [post(client, live[attempt % len(live)], body)]
                answers += round_
            else:
                raise AssertionError(f"a delivery was never taken: {round_}")
    return answers


def _audit_verify(cluster: Cluster) -> subprocess.CompletedProcess[str]:
    env = cluster.shared.environment()
    return subprocess.run([sys.executable, "-m", "remediator", "audit", "verify"],
                          capture_output=True, text=True, env=env, cwd=cluster.workdir,
                          timeout=120, check=False)


def test_the_same_deliveries_to_both_replicas_act_once_each(cluster: Cluster) -> None:
    with replicas(cluster.shared, cluster.workdir) as pair:
        answers = _both(pair, deliveries(range(PODS)))
        assert {a.status for a in answers} == {200}
        results = cluster.ledger.wait_results(PODS)
    assert results == {"succeeded": PODS}  # a second delete would have been `target_gone`
    executed = cluster.ledger.rows("SELECT fingerprint, count(*) FROM audit "
                                   "WHERE outcome = 'executed' GROUP BY fingerprint")
    assert len(executed) == PODS and {count for _, count in executed} == {1}
    assert cluster.ledger.outcomes("duplicate") == {"duplicate": PODS}
    verified = _audit_verify(cluster)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_replica_killed_mid_storm_loses_nothing_and_repeats_nothing(cluster: Cluster) -> None:
    with replicas(cluster.shared, cluster.workdir) as pair:
        first, second = pair
        bodies = deliveries(range(PODS), batch=2)
        with ThreadPoolExecutor(1) as pool:
            storm = pool.submit(_both, pair, bodies)
            deadline = time.monotonic() + 60
            while not cluster.ledger.outcomes("executed") and time.monotonic() < deadline:
                time.sleep(0.02)  # until the storm is under way, against a deadline
            first.kill()
            answers = storm.result(timeout=300)
        assert any(a.replica == first.name and a.status is None for a in answers)
        first.start()  # the same replica back, as Kubernetes restarts a killed pod
        results = cluster.ledger.wait_results(PODS)
        assert second.process is not None and second.process.poll() is None
    executed = cluster.ledger.rows("SELECT fingerprint, count(*) FROM audit "
                                   "WHERE outcome = 'executed' GROUP BY fingerprint")
    assert len(executed) == PODS and {count for _, count in executed} == {1}
    # Killed between claiming and finishing, an action is recorded `failed`
    # (interrupted), never run again; everything else succeeded exactly once.
    assert results.get("target_gone", 0) == 0, results
    assert sum(results.values()) == PODS
    verified = _audit_verify(cluster)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_restarted_replica_leaves_the_live_replicas_running_job_alone(
        stalled_cluster: Cluster) -> None:
    cluster = stalled_cluster
    with replicas(cluster.shared, cluster.workdir, count=1, prefix="live") as (live,):
        with httpx.Client(timeout=30) as client:
            assert post(client, live, deliveries([0])[0]).status == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not cluster.ledger.rows(
                "SELECT id FROM jobs WHERE state = 'running'"):
            time.sleep(0.05)  # until the live replica runs the (stalled) action
        running = cluster.ledger.rows("SELECT id, lease_owner FROM jobs WHERE state = 'running'")
        assert len(running) == 1, running
        with replicas(cluster.shared, cluster.workdir, count=1, prefix="restarted"):
            # `restarted` answered /-/ready: its start-up recovery has run.
            after = cluster.ledger.rows("SELECT id, lease_owner, state FROM jobs")
            assert after == [(running[0][0], running[0][1], "running")]
            assert cluster.ledger.outcomes("failed", "succeeded") == {}


def test_a_stopped_replica_holding_the_write_lock_stalls_no_one(cluster: Cluster) -> None:
    """SIGSTOP while it holds the writers' lock: the other answers 503 within the lock
    timeout (Alertmanager retries), then 200 once the stalled transaction is ended."""
    # Stopped between statements, PostgreSQL ends the session (idle_in_transaction);
    # stopped mid-pipeline (no Sync sent yet) it is "active" with no timer running,
    # and the live replica ends it (store.fencing) past the same bound.
    settings = {"REMEDIATOR_DB_LOCK_TIMEOUT": f"{LOCK_TIMEOUT_S:g}s",
                "REMEDIATOR_DB_IDLE_IN_TRANSACTION_TIMEOUT": "4s"}
    with replicas(cluster.shared, cluster.workdir, **settings) as (stopped, live), \
            httpx.Client(timeout=60) as client, ThreadPoolExecutor(1) as pool:
        stalled = _stop_holding_the_lock(cluster, stopped, client, pool)
        answers = []
        for body in deliveries(range(PODS), batch=2):  # until the stall is ended
            answers.append(post(client, live, body))
            if answers[-1].status == 200:
                break
        stopped.signal(signal.SIGCONT)
        assert stalled.result(timeout=60).status in (200, 503)  # never an answer lost
    assert {a.status for a in answers} <= {200, 503}
    assert max(a.seconds for a in answers) < LOCK_TIMEOUT_S + 2, answers
    assert any(a.status == 503 for a in answers)  # while the lock was held
    assert answers[-1].status == 200  # once the stalled transaction was ended


def _stop_holding_the_lock(cluster: Cluster, replica: Replica, client: httpx.Client,
                           pool: ThreadPoolExecutor, tries: int = 100) -> Future[Answer]:
    """SIGSTOP `replica` at a moment its database session holds the writers' lock
    (pg_locks says so); returns the delivery it was then writing."""
    bodies = deliveries(range(PODS), batch=PODS)
    for _ in range(tries):
        future = pool.submit(post, client, replica, bodies[0])
        while not future.done():
            if cluster.ledger.rows(HELD):
                replica.signal(signal.SIGSTOP)
                if cluster.ledger.rows(HELD):
                    return future
                replica.signal(signal.SIGCONT)
        future.result()
    raise AssertionError(f"never caught {replica.name} holding the lock in {tries} tries")


HELD = "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"


def test_a_console_session_signed_in_on_one_replica_works_and_ends_on_both(
        cluster: Cluster) -> None:
    with replicas(cluster.shared, cluster.workdir) as (first, second), \
            httpx.Client(timeout=30) as browser:
        form = browser.get(first.url + "/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = browser.post(first.url + "/login", follow_redirects=False,
                                 data={"token": TOKEN, "next": "/", "csrf": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        cookie = {"Cookie": f"{COOKIE}={signed_in.cookies[COOKIE]}"}
        for replica in (first, second):
            page = httpx.get(replica.url + "/", headers=cookie, follow_redirects=False)
            assert page.status_code == 200, (replica.name, page.status_code)
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        (session,) = httpx.get(second.url + "/api/v1/sessions", headers=bearer).json()["items"]
        revoked = httpx.post(f"{second.url}/api/v1/sessions/{session['id']}/revoke",
                             headers=bearer, json={"reason": "HA test"})
        assert revoked.status_code == 200, revoked.text
        for replica in (first, second):
            page = httpx.get(replica.url + "/", headers=cookie, follow_redirects=False)
            assert (page.status_code, page.headers.get("location")) == (303, "/login?next=%2F")
