"""Catch up with Alertmanager: alerts whose webhook we missed, both ways.

- Firing alerts not recorded (by fingerprint and startsAt) take the decision
  path, so a quiet cluster does not fill the audit log with `duplicate`
  every minute; idempotency keys make the rare overlap harmless.
- Stored firing alerts that Alertmanager no longer has (a lost resolve) are
  resolved through the same path: their remediations close, their
  follow-ups (HPA reverts) run, and `unless_firing` stops being blocked.

Only alerts routed to this service's receiver count (`receiver`), so an
alert of another team's route is never acted on here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from remediator.alertmanager_client import AlertmanagerClient
from remediator.intake import Intake
from remediator.store.service import Store

GROUP_KEY = "reconcile"


async def reconcile(client: AlertmanagerClient, intake: Intake, *,
                    receiver: str | None = None) -> list[dict[str, Any]]:
    """Feed unseen firing alerts and missed resolves through the normal path."""
    store = Store(intake.database)
    asked_at = intake.clock()
    reported = await client.active_alerts(receiver=receiver, include_muted=True)
    alerts = [(api.as_alert(asked_at), api.status.state) for api in reported]
    still_firing = {alert.fingerprint for alert, _ in alerts if alert.firing}
    # Silenced and inhibited alerts still fire (they keep blocking
    # `unless_firing`), but nothing acts on them.
    actionable = [alert for alert, state in alerts if alert.firing and state != "suppressed"]
    fresh = await asyncio.to_thread(store.reconcile_candidates, actionable)
    gone = await asyncio.to_thread(store.resolve_missing, still_firing, seen_before=asked_at)
    if not fresh and not gone:
        return []
    return await asyncio.to_thread(intake.receive, [*fresh, *gone], group_key=GROUP_KEY)
