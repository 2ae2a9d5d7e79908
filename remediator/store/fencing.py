"""Ending a writer that stalled holding the writers' lock, where PostgreSQL will not.

`idle_in_transaction_session_timeout` ends a session idle inside a transaction
and `statement_timeout` a statement that runs too long. Neither ends a session
stopped halfway through a pipeline (psycopg's `executemany` sends Execute after
Execute and one Sync at the end): after each Execute the server waits for the
next message with the statement timer off, and without reporting "idle in
transaction". A replica SIGSTOPped there, or frozen by its cgroup, holds the
lock for as long as it is stopped, and its kernel still answers TCP keepalives.

So a writer that timed out on the lock looks at who holds it. A holder whose
transaction has been open longer than `idle_in_transaction` while it waits on
its client (not working, not waiting on a lock) is stalled by the measure
PostgreSQL applies to idle transactions. It is terminated: its transaction rolls
back, so nothing it wrote is kept and nothing it decided can run, and the next
attempt (Alertmanager retries the 503) takes the lock.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_END_STALLED_HOLDERS = text("""
SELECT a.pid, a.application_name, host(a.client_addr) AS client,
       round(extract(epoch FROM now() - a.xact_start)) AS open_s,
       pg_terminate_backend(a.pid) AS ended
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = :classid AND l.objid = :objid
  AND a.pid <> pg_backend_pid()
  AND a.wait_event_type = 'Client' AND a.wait_event = 'ClientRead'
  AND a.xact_start < now() - make_interval(secs => :seconds)
""")
"""A single-bigint advisory key shows in pg_locks as classid (high 32 bits),
objid (low 32 bits) and objsubid 1."""


def end_stalled_holders(engine: Engine, lock_id: int, stalled_after_s: float) -> int:
    """Terminate the sessions holding advisory lock `lock_id` that have waited on
    their client inside a transaction open for over `stalled_after_s`; how many ended.

    Never raises: a role that may not terminate the holder (another role's, a
    superuser's session) is logged, and the caller's 503 stands.
    """
    if stalled_after_s <= 0:
        return 0  # the operator turned the idle bound off: so is this one
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            rows = connection.execute(_END_STALLED_HOLDERS, {
                "classid": lock_id >> 32, "objid": lock_id & 0xFFFFFFFF,
                "seconds": stalled_after_s}).all()
    except DBAPIError as error:
        log.warning("could not end a stalled writer holding the lock: %s",
                    str(getattr(error, "orig", error)).strip().splitlines()[0])
        return 0
    ended = 0
    for row in rows:
        ended += bool(row.ended)
        log.warning("ended stalled writer pid=%s (%s at %s): its transaction was open "
                    "for %ss, waiting on its client, holding the writers' lock",
                    row.pid, row.application_name or "?", row.client or "local", row.open_s)
    return ended
