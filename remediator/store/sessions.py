"""Console sessions and failed sign-ins, in the database every replica shares.

A session row is keyed by the SHA-256 of the random id in the cookie: a
copy of the database (a backup, a read-only role) holds no usable cookie.
The hash is also the session's public id (`GET /api/v1/sessions`), which
names a session without granting it.

`SessionStore` owns its transactions (one per call). Revocations are
audited by the caller inside the same transaction (`revoke` takes the
connection of the caller's `writing()`), like every operator action.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    ScalarSelect,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from remediator.store.database import Database
from remediator.store.tables import login_failures, sessions
from remediator.store.types import UTCDateTime

CLIENT_MAX = 128
USER_AGENT_MAX = 256
ACTOR_MAX = 200


def digest(session_id: str) -> str:
    """The stored (and public) form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    id: str
    """The SHA-256 of the cookie's id: names the session, does not grant it."""
    actor: str
    can_act: bool
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str = ""
    client: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, row: Row[Any]) -> SessionRecord:
        return cls(id=row.id_hash, actor=row.actor, can_act=row.can_act, csrf=row.csrf,
                   created_at=row.created_at, last_seen_at=row.last_seen_at,
                   expires_at=row.expires_at, revoked_at=row.revoked_at,
                   revoked_by=row.revoked_by, client=row.client, user_agent=row.user_agent)

    def row(self) -> dict[str, Any]:
        return {"id_hash": self.id, "actor": self.actor[:ACTOR_MAX], "can_act": self.can_act,
                "csrf": self.csrf, "created_at": self.created_at,
                "last_seen_at": self.last_seen_at, "expires_at": self.expires_at,
                "revoked_at": self.revoked_at, "revoked_by": self.revoked_by[:ACTOR_MAX],
                "client": self.client[:CLIENT_MAX], "user_agent": self.user_agent[:USER_AGENT_MAX]}


class AmbiguousSession(LookupError):
    """A session id prefix that names more than one session."""


def find(connection: Connection, id_hash: str) -> SessionRecord | None:
    row = connection.execute(_FIND, {"id_hash": id_hash}).first()
    return SessionRecord.of(row) if row is not None else None


def resolve(connection: Connection, prefix: str) -> str | None:
    """The full id of the one session whose id starts with `prefix` (None: no such session).

    AmbiguousSession when several match. Only hexadecimal prefixes match anything.
    """
    prefix = prefix.lower()
    if not prefix or len(prefix) > 64 or any(c not in "0123456789abcdef" for c in prefix):
        return None
    found = connection.execute(select(sessions.c.id_hash).where(
        sessions.c.id_hash.startswith(prefix, autoescape=True)).limit(2)).scalars().all()
    if len(found) > 1:
        raise AmbiguousSession(f"session id {prefix!r} is ambiguous: give more characters")
    return found[0] if found else None


def open_session(connection: Connection, record: SessionRecord, *,
                 forget_before: datetime) -> None:
    """Store a new session; forget sessions that ended before `forget_before`.

    Ended sessions stay listable for a while (who was signed in, who revoked
    whom); each sign-in clears the long-ended ones, so the table stays small
    without a job of its own.
    """
    connection.execute(delete(sessions).where(or_(
        sessions.c.expires_at < forget_before, sessions.c.revoked_at < forget_before)))
    connection.execute(insert(sessions).values(record.row()))


def revoke(connection: Connection, id_hash: str, *, now: datetime, by: str) -> bool:
    """End a session now (True when it was still unrevoked); inside the caller's `writing()`."""
    done = connection.execute(update(sessions).where(
        sessions.c.id_hash == id_hash, sessions.c.revoked_at.is_(None)).values(
        revoked_at=now, revoked_by=by[:ACTOR_MAX]))
    return bool(done.rowcount)


def listing(connection: Connection, *, now: datetime, idle_since: datetime,
            include_ended: bool = False, limit: int = 200) -> list[SessionRecord]:
    """Sessions newest first; by default only live ones (unrevoked, unexpired, not idle)."""
    query = select(sessions).order_by(sessions.c.created_at.desc(), sessions.c.id_hash)
    if not include_ended:
        query = query.where(sessions.c.revoked_at.is_(None), sessions.c.expires_at > now,
                            sessions.c.last_seen_at > idle_since)
    return [SessionRecord.of(row) for row in connection.execute(query.limit(limit)).all()]


def _nth_newest(*, of_client: bool) -> ScalarSelect[Any]:
    at = login_failures.c.at
    query = select(at).where(at > bindparam("since", type_=UTCDateTime()))
    if of_client:
        query = query.where(login_failures.c.client == bindparam("client"))
    skip = bindparam("client_skip" if of_client else "overall_skip", type_=Integer())
    return query.order_by(at.desc()).offset(skip).limit(1).scalar_subquery()


# Built once: every sign-in attempt (a flood's included) runs it, and building the
# statement cost more than running it (~2.5 of 2.6 ms on a busy machine).
_NTH_FAILURES = select(_nth_newest(of_client=True), _nth_newest(of_client=False))
_FIND = select(sessions).where(sessions.c.id_hash == bindparam("id_hash"))


class SessionStore:
    """The web's and the CLI's way to sessions and sign-in failures: one transaction each."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def find(self, id_hash: str) -> SessionRecord | None:
        with self.database.reading() as connection:
            return find(connection, id_hash)

    def touch(self, id_hash: str, *, now: datetime, seen_before: datetime) -> None:
        """Note that the session was used now, unless it was noted since `seen_before`.

        The condition is in the statement: replicas touching the same session at
        once write it once, and a session used many times a minute is written once.
        """
        with self.database.writing() as connection:
            connection.execute(update(sessions).where(
                sessions.c.id_hash == id_hash, sessions.c.last_seen_at < seen_before)
                .values(last_seen_at=now))

    # -- failed sign-ins ------------------------------------------------------

    def nth_failures(self, *, since: datetime, client: str, per_client: int, overall: int
                     ) -> tuple[datetime | None, datetime | None]:
        """When the `per_client`-th newest failure of `client` and the `overall`-th newest
        of anyone after `since` happened (None: fewer than that). One statement, read on
        every sign-in attempt: two index ranges of at most `n` rows each."""
        params = {"since": since, "client": client[:CLIENT_MAX],
                  "client_skip": max(per_client - 1, 0), "overall_skip": max(overall - 1, 0)}
        with self.database.reading() as connection:
            row = connection.execute(_NTH_FAILURES, params).one()
        return row[0], row[1]

    def reserve_attempt(self, client: str, *, at: datetime, since: datetime,
                        per_client: int, overall: int) -> int | None:
        """Count a sign-in attempt as a failure before its token is compared, if both
        limits allow one more: the row's id (`release` it when the token was right),
        or None when a limit is reached.

        Counted and written in one serialised `writing()` transaction, so replicas
        answering a flood together never let more than the limits through: a guess
        takes its slot before it is judged. Failures older than `since` (out of the
        window) are deleted meanwhile.
        """
        params = {"since": since, "client": client[:CLIENT_MAX],
                  "client_skip": max(per_client - 1, 0), "overall_skip": max(overall - 1, 0)}
        with self.database.writing() as connection:
            if any(connection.execute(_NTH_FAILURES, params).one()):
                return None
            connection.execute(delete(login_failures).where(login_failures.c.at <= since))
            done = connection.execute(insert(login_failures).values(
                client=client[:CLIENT_MAX], at=at))
            key = done.inserted_primary_key
            return int(key[0]) if key is not None else None

    def release(self, attempt: int) -> None:
        """The attempt's token was right: it is no failure."""
        with self.database.writing() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.id == attempt))

    def failures_since(self, since: datetime) -> int:
        with self.database.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(login_failures)
                                          .where(login_failures.c.at > since)).scalar_one())
