"""Periodic work on APScheduler 3: job polling, lease recovery, reconciliation,
gauges, retention.

Due verifications and follow-ups live in the jobs table, so the polling job
finds them after a restart; nothing time-critical exists only in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from remediator.app.audit_head import audit_head_gauges
from remediator.app.drift import refresh_drift
from remediator.app.effectiveness_gauges import refresh_effectiveness
from remediator.app.gitops import gitops_settings
from remediator.app.metrics import Metrics
from remediator.app.prwatch import PullRequestWatch
from remediator.app.services import Services
from remediator.clients.alertmanager import AlertmanagerClient
from remediator.intake.reconcile import reconcile
from remediator.model.outcomes import Outcome
from remediator.operate import operations
from remediator.operate.approvals import expire_approvals
from remediator.operate.notify import Notifier, channels_of, notify_pending
from remediator.store import jobs
from remediator.store.remediations import Remediation

log = logging.getLogger(__name__)


def build_scheduler(services: Services) -> AsyncIOScheduler:
    settings = services.settings
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    every = {"seconds": max(settings.job_poll_interval.total_seconds(), 0.1)}
    scheduler.add_job(services.worker.tick, "interval", id="poll-jobs", **every)
    scheduler.add_job(_recover, "interval", id="recover-leases", seconds=30, args=[services])
    scheduler.add_job(_recover, "date", id="recover-previous-run", args=[services],
                      run_date=datetime.now(UTC))  # leases that ran out while none of us ran
    scheduler.add_job(_refresh_gauges, "interval", id="gauges", seconds=5, args=[services])
    scheduler.add_job(_refresh_drift, "interval", id="drift", seconds=60, args=[services])
    watch = PullRequestWatch(services.database, gitops_settings(settings),
                             clock=services.clock)
    scheduler.add_job(_watch_pull_requests, "interval", id="gitops-pull-requests",
                      seconds=60, args=[services, watch])
    scheduler.add_job(_refresh_effectiveness, "interval", id="effectiveness", minutes=5,
                      args=[services])
    scheduler.add_job(_retention, "interval", id="audit-retention", hours=1, args=[services])
    scheduler.add_job(expire_approvals, "interval", id="expire-approvals", seconds=30,
                      args=[services.approval_store],
                      kwargs={"clock": services.clock,
                              "expired": _count_expired(services.metrics)})
    channels = channels_of(settings.notify_slack_url, settings.notify_webhook_url)
    if channels:
        notifier = Notifier(channels, metrics=services.metrics.notify,
                            retries=settings.notify_retries, external_url=settings.external_url)
        scheduler.add_job(notify_pending, "interval", id="notify", seconds=5,
                          args=[services.operator_store, notifier],
                          kwargs={"clock": services.clock})
    if services.chat is not None:
        scheduler.add_job(services.chat.relay.tick, "interval", id="chat-relay", seconds=5)
    if services.timeline is not None:
        scheduler.add_job(services.timeline.relay.tick, "interval", id="timeline-relay",
                          seconds=5)
    if services.alertmanager is not None:
        scheduler.add_job(_reconcile, "interval", id="reconcile",
                          seconds=settings.reconcile_interval.total_seconds(),
                          args=[services, services.alertmanager],
                          next_run_time=datetime.now(UTC))  # at start: catch what we missed
    return scheduler


def _count_expired(metrics: Metrics) -> Callable[[Remediation], None]:
    """Counts each request that expired unanswered (`remediator_approvals_total`)."""
    def count(current: Remediation) -> None:
        metrics.approvals.approvals.labels(rule=current.rule,
                                           outcome=Outcome.EXPIRED.value).inc()
    return count


async def _recover(services: Services) -> None:
    lost = await asyncio.to_thread(services.worker.recover_expired)
    if lost:
        log.warning("recovered %d jobs whose worker vanished", lost)


async def _reconcile(services: Services, client: AlertmanagerClient) -> None:
    try:
        decided = await reconcile(client, services.intake)
    except Exception as error:
        services.metrics.scheduler.reconcile_runs.labels(result="error").inc()
        log.warning("reconciliation with Alertmanager failed: %s", error)
        return
    services.metrics.scheduler.reconcile_runs.labels(result="ok").inc()
    if decided:
        log.info("reconciliation decided for %d missed alerts", len(decided))
        services.worker.wake()


def refresh_gauges(services: Services) -> None:
    """Breaker state, pause switch and queue depth as gauges (read from the store)."""
    status = operations.status(services.operator_store, services.intake.policy,
                               services.clock())
    services.metrics.intake.breaker_open.set(1 if status["breaker_open"] else 0)
    gauges = services.metrics.scheduler
    gauges.paused.set(1 if status["paused"] else 0)
    for kind in (jobs.ACTION, jobs.VERIFY, jobs.FOLLOWUP):
        gauges.jobs_queued.labels(kind=kind).set(status["jobs_queued"].get(kind, 0))
    refresh_audit_head(services)


def refresh_audit_head(services: Services) -> None:
    """The audit head as the database holds it (the external witness: see metrics)."""
    audit_head_gauges(services.database, services.metrics.audit_head)


async def _refresh_gauges(services: Services) -> None:
    await asyncio.to_thread(refresh_gauges, services)


async def _refresh_drift(services: Services) -> None:
    await asyncio.to_thread(refresh_drift, services.database, services.metrics.drift,
                            services.clock())


async def _watch_pull_requests(services: Services, watch: PullRequestWatch) -> None:
    """Resume Kustomizations whose proposal was merged or declined (app/prwatch.py)."""
    try:
        moved = await watch.run()
    except Exception as error:  # the store unreachable: next minute
        log.warning("pull-request watch failed: %s", error)
        return
    if moved:
        services.worker.wake()


async def _refresh_effectiveness(services: Services) -> None:
    await asyncio.to_thread(refresh_effectiveness, services.database,
                            services.metrics.effectiveness, services.clock())


async def _retention(services: Services) -> None:
    cutoff = services.clock() - services.settings.audit_retention

    removed = await asyncio.to_thread(services.worker.store.purge, cutoff)
    if any(removed.values()):
        log.info("retention removed %s older than %s",
                 ", ".join(f"{n} {what}" for what, n in removed.items()),
                 cutoff.isoformat(timespec="seconds"))
