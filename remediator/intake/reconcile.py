"""Catch up with Alertmanager: alerts whose webhook we missed, both ways.

- Firing alerts not recorded (by fingerprint and startsAt) take the decision
  path, so a quiet cluster does not fill the audit log with `duplicate`
  every minute; idempotency keys make the rare overlap harmless.
- Stored firing alerts that Alertmanager no longer has (a lost resolve) are
  resolved through the same path: their remediations close, their
  follow-ups (HPA reverts) run, and `unless_firing` stops being blocked.

Only this service's alerts count, so another team's alert is never acted on
here (issue 20, item 1). The client decides which: built with
`ALERTMANAGER_RECEIVER`, it reads only alerts routed to that receiver.
Without one, Alertmanager answers with every route's alerts, and only those
whose fingerprint the store already knows are decided. Every fingerprint in
the store came by webhook first (or by an earlier reconciliation that was
itself this narrow), so "known" means "routed here". The resolve side only
ever resolves stored alerts, which are ours by the same argument; without a
receiver it resolves those no route still has firing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from remediator.clients.alertmanager import AlertmanagerClient
from remediator.intake.intake import Intake

GROUP_KEY = "reconcile"

log = logging.getLogger(__name__)


async def reconcile(client: AlertmanagerClient, intake: Intake) -> list[dict[str, Any]]:
    """Feed unseen firing alerts and missed resolves through the normal path."""
    store = intake.store
    asked_at = intake.clock()
    reported = await client.active_alerts(include_muted=True)
    # An alert the webhook would refuse (say, an alertname longer than the store
    # holds) is skipped, not allowed to fail the whole run: it was never stored.
    read = [(api.decidable(asked_at), api.status.state) for api in reported]
    alerts = [(alert, state) for alert, state in read if alert is not None]
    if len(alerts) < len(read):
        log.warning("reconcile skipped %d alerts from Alertmanager the webhook would refuse",
                    len(read) - len(alerts))
    still_firing = {alert.fingerprint for alert, _ in alerts if alert.firing}
    # Silenced and inhibited alerts still fire (they keep blocking
    # `unless_firing`), but nothing acts on them.
    actionable = [alert for alert, state in alerts if alert.firing and state != "suppressed"]
    fresh = await asyncio.to_thread(store.reconcile_candidates, actionable,
                                    known_only=client.receiver is None)
    gone = await asyncio.to_thread(store.resolve_missing, still_firing, seen_before=asked_at)
    if not fresh and not gone:
        return []
    return await asyncio.to_thread(intake.receive, [*fresh, *gone], group_key=GROUP_KEY)
