"""The pre-flight's side of the store facade: evidence, related alerts, a refused action.

Just before an action runs, the worker's pre-flight (`remediator.execute.
preflight`) saves what it saw of the target and, when a precondition does
not hold, records `precondition_failed` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from remediator.model.outcomes import Outcome
from remediator.store import changes, jobs, recorder, remediations
from remediator.store import evidence as evidence_store
from remediator.store.database import Database
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation


class PreflightStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def alerts_version(self) -> int:
        """How often this process has written alerts: a read of them older than that is stale."""
        return self.database.changes.count(changes.ALERTS)

    def firing_alerts(self, *, node: str | None, namespace: str | None,
                      services: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
        """The stored firing alerts related to a target (`store.evidence.firing_alerts`)."""
        with self.database.reading() as connection:
            return evidence_store.firing_alerts(connection, node=node, namespace=namespace,
                                                services=services)

    def save_failure_evidence(self, remediation_id: str, *, at: datetime,
                              document: Mapping[str, Any],
                              hints: Sequence[Mapping[str, Any]]) -> None:
        """The target as seen again after its action failed."""
        with self.database.writing() as connection:
            evidence_store.save(connection, remediation_id=remediation_id,
                                phase=evidence_store.FAILURE, at=at, document=document,
                                hints=hints)

    def record_preflight(self, job: Job, remediation: Remediation, *, now: datetime,
                         document: Mapping[str, Any] | None,
                         hints: Sequence[Mapping[str, Any]],
                         refused: tuple[str, dict[str, Any]] | None,
                         outcome: Outcome = Outcome.PRECONDITION_FAILED,
                         release_key: bool = True) -> None:
        """The evidence before acting and, when `refused` (reason, detail), the refusal.

        One transaction. A refused action's job is finished (FencedOut when
        its lease is lost: nothing is written) and, unless `release_key` is
        False (a change proposed to git stands for the alert), its
        idempotency key given back, so a later notification of the alert is
        decided afresh. `outcome`: precondition_failed, gitops_managed,
        proposed, or failed (a proposal that could not be made).
        """
        with self.database.writing() as connection:
            if document is not None or hints:
                evidence_store.save(connection, remediation_id=remediation.id,
                                    phase=evidence_store.BEFORE, at=now,
                                    document=document or {}, hints=hints)
            if refused is None:
                return
            reason, detail = refused
            jobs.finish(connection, job)
            if release_key:
                remediations.release_key(connection, remediation.id)
            recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                                    now=now, detail=detail, state=outcome.value)
