"""Remediation rows: created by decisions, updated by outcomes, closed by resolution."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from remediator.decide.decision import Decision
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.store.tables import jobs, remediations

_CHUNK = 500
"""Fingerprints per IN list: well under every backend's limit on bound parameters."""

# Built once, as in `store.jobs`: every action, and every delivery that resolves alerts, runs these.
_INSERT = insert(remediations)
_BY_IDS = select(remediations).where(remediations.c.id.in_(bindparam("ids", expanding=True)))
_SETTLE = (update(remediations).where(remediations.c.id == bindparam("remediation_id"))
           .values(state=bindparam("new_state"), updated_at=bindparam("now"),
                   followups=bindparam("new_followups"))
           .returning(remediations.c.resolved_at))
_SETTLE_FAILED = _SETTLE.values(failed_at=bindparam("now"))
_OPEN_FOR = (select(remediations)
             .where(remediations.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
                    remediations.c.resolved_at.is_(None))
             .order_by(remediations.c.created_at, remediations.c.step))
_CLOSE = (update(remediations).where(remediations.c.id.in_(bindparam("ids", expanding=True)))
          .values(resolved_at=bindparam("now"), updated_at=bindparam("now")))


def new_id() -> str:
    return str(uuid.uuid4())


def row_for(decision: Decision, *, remediation_id: str, root_id: str, now: datetime,
            group_key: str) -> dict[str, Any]:
    """The new remediation row for an `executed` or `dry_run` decision."""
    assert decision.request is not None and decision.key is not None
    request = decision.request
    alert = decision.alert
    return {
        "id": remediation_id,
        "key": decision.key,
        "root_id": root_id,
        "rule": decision.rule_name,
        "step": decision.step,
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "starts_at": alert.starts_at,
        "action": request.type,
        "target": request.target,
        "namespace": request.namespace or "",
        "dry_run": decision.outcome is Outcome.DRY_RUN,
        "counts": decision.counts,
        "state": (decision.outcome.value if decision.outcome in (
            Outcome.DRY_RUN, Outcome.AWAITING_APPROVAL) else "pending"),
        "request": request.to_json(),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "group_key": group_key,
        "followups": [],
        "generator_url": alert.generator_url,
        "approval_expires": (now + decision.rule.approval_timeout
                             if decision.outcome is Outcome.AWAITING_APPROVAL
                             and decision.rule is not None
                             and decision.rule.approval_timeout is not None
                             else None),
        "created_at": now,
        "updated_at": now,
    }


def insert_rows(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_INSERT, list(rows))


@dataclass(frozen=True, kw_only=True)
class Remediation:
    id: str
    root_id: str
    rule: str
    step: int
    state: str
    dry_run: bool
    request: ActionRequest
    alert: Alert
    group_key: str
    followups: tuple[ActionRequest, ...]
    resolved_at: datetime | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Remediation:
        alert = Alert(status="resolved" if row.resolved_at else "firing",
                      labels=row.labels, annotations=row.annotations,
                      starts_at=row.starts_at, fingerprint_=row.fingerprint)
        return cls(id=row.id, root_id=row.root_id, rule=row.rule, step=row.step,
                   state=row.state, dry_run=row.dry_run,
                   request=ActionRequest.from_json(row.request), alert=alert,
                   group_key=row.group_key,
                   followups=tuple(ActionRequest.from_json(f) for f in row.followups),
                   resolved_at=row.resolved_at)


def get(connection: Connection, remediation_id: str) -> Remediation | None:
    row = connection.execute(
        select(remediations).where(remediations.c.id == remediation_id)).first()
    return Remediation.from_row(row) if row is not None else None


def get_many(connection: Connection, remediation_ids: Collection[str]) -> dict[str, Remediation]:
    """The remediations among `remediation_ids` that exist, by id (one query)."""
    if not remediation_ids:
        return {}
    rows = connection.execute(_BY_IDS, {"ids": list(remediation_ids)}).all()
    return {row.id: Remediation.from_row(row) for row in rows}


def get_row(connection: Connection, remediation_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(remediations).where(remediations.c.id == remediation_id)).first()
    return _jsonable(row) if row is not None else None


def ladder(connection: Connection, root_id: str) -> list[dict[str, Any]]:
    """Every step of one escalation ladder, first step first."""
    rows = connection.execute(select(remediations).where(remediations.c.root_id == root_id)
                              .order_by(remediations.c.step)).all()
    return [_jsonable(row) for row in rows]


def _jsonable(row: Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    for name in ("starts_at", "created_at", "updated_at", "resolved_at", "approval_expires"):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def set_state(connection: Connection, remediation_id: str, state: str, now: datetime,
              *, followups: Sequence[ActionRequest] | None = None) -> None:
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if state == Outcome.FAILED.value:
        values["failed_at"] = now  # the breaker counts failures by this time
    if followups is not None:
        values["followups"] = [f.to_json() for f in followups]
    connection.execute(update(remediations).where(remediations.c.id == remediation_id)
                       .values(**values))


def settle_state(connection: Connection, remediation_id: str, state: str, now: datetime, *,
                 followups: Sequence[ActionRequest]) -> datetime | None:
    """`set_state` for an action that ran, in one statement that also says when the
    remediation resolved, if it did (a resolution that arrived while the action
    ran makes its follow-ups due at once)."""
    settle = _SETTLE_FAILED if state == Outcome.FAILED.value else _SETTLE
    row = connection.execute(settle, {
        "remediation_id": remediation_id, "new_state": state, "now": now,
        "new_followups": [f.to_json() for f in followups]}).first()
    return row.resolved_at if row is not None else None


def release_key(connection: Connection, remediation_id: str) -> None:
    """Cancelled before it ran: free the idempotency key, and count for no guard.

    Nothing happened, so the alert's next notification is decided afresh and
    no cooldown, rate limit or breaker sees an action.
    """
    connection.execute(update(remediations).where(remediations.c.id == remediation_id)
                       .values(key=remediations.c.key + "#cancelled:" + remediation_id,
                               counts=False))


def uncount(connection: Connection, remediation_id: str) -> None:
    """Never ran (declined): keep the key, so the episode is not asked about again,
    but count for no cooldown, rate limit or breaker."""
    connection.execute(update(remediations).where(remediations.c.id == remediation_id)
                       .values(counts=False))


@dataclass(frozen=True)
class Closing:
    """What a delivery's resolved alerts closed, per fingerprint."""

    closed: dict[str, list[Remediation]]
    """Remediations closed, oldest first (for follow-ups, merged in that order)."""
    later: dict[str, datetime]
    """Fingerprints whose resolve was of an earlier episode: when the still-open
    episode started (its remediations stay open)."""


def close_open(connection: Connection, episodes: Mapping[str, datetime],
               now: datetime) -> Closing:
    """Mark resolved the open remediations of these alerts' episodes, and of any
    earlier one (`episodes`: fingerprint -> the resolved alert's startsAt).

    An alert's episode is its fingerprint and startsAt (the idempotency key's
    too). A late `resolved` from an earlier episode closes nothing of the
    episode that fires now (issue 20, item 8): its startsAt is older than the
    open remediation's. One query and one update for a whole delivery's
    resolved alerts: a storm's resolutions otherwise cost a round trip each.
    """
    closing = Closing(closed={}, later={})
    wanted = sorted(episodes)
    for start in range(0, len(wanted), _CHUNK):
        rows = connection.execute(
            _OPEN_FOR, {"fingerprints": wanted[start:start + _CHUNK]}).all()
        ending = [row for row in rows if row.starts_at <= episodes[row.fingerprint]]
        if ending:
            connection.execute(_CLOSE, {"ids": [row.id for row in ending], "now": now})
        for row in ending:
            closing.closed.setdefault(row.fingerprint, []).append(Remediation.from_row(row))
        for row in rows:
            if row.starts_at > episodes[row.fingerprint]:
                closing.later[row.fingerprint] = row.starts_at
    return closing


def purge_closed_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: remediations resolved before `cutoff`.

    Open ones stay whatever their age (their alert still fires, their jobs
    and follow-ups still need them); so does anything a queued or running
    job still refers to.
    """
    busy = select(jobs.c.remediation_id).where(jobs.c.state != "done")
    result = connection.execute(delete(remediations).where(
        remediations.c.resolved_at.is_not(None), remediations.c.resolved_at < cutoff,
        remediations.c.id.not_in(busy)))
    return int(result.rowcount or 0)
