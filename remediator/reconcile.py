"""Catch alerts whose webhook we missed, by asking Alertmanager what is firing.

Only alerts not already recorded (by fingerprint and startsAt) take the
decision path, so a quiet cluster does not fill the audit log with
`duplicate` every minute; idempotency keys make the rare overlap harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from remediator.alertmanager import Alert
from remediator.alertmanager_client import AlertmanagerClient
from remediator.intake import Intake
from remediator.store.tables import alerts as alerts_table

GROUP_KEY = "reconcile"


def unseen(intake: Intake, candidates: Sequence[Alert]) -> list[Alert]:
    """The firing alerts that the store has no record of in this episode."""
    if not candidates:
        return []
    with intake.database.reading() as connection:
        rows = connection.execute(
            select(alerts_table.c.fingerprint, alerts_table.c.starts_at,
                   alerts_table.c.status)
            .where(alerts_table.c.fingerprint.in_([a.fingerprint for a in candidates]))).all()
    known = {(row.fingerprint, row.starts_at) for row in rows if row.status == "firing"}
    return [a for a in candidates if (a.fingerprint, a.starts_at) not in known]


async def reconcile(client: AlertmanagerClient, intake: Intake) -> list[dict[str, Any]]:
    """Feed unseen active alerts through the normal path; return their decisions."""
    now = intake.clock()
    active = [a.as_alert(now) for a in await client.active_alerts()]
    firing = [a for a in active if a.firing]
    fresh = await asyncio.to_thread(unseen, intake, firing)
    if not fresh:
        return []
    return await asyncio.to_thread(intake.receive, fresh, group_key=GROUP_KEY)
