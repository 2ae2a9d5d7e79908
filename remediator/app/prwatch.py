"""Resume a Flux Kustomization as soon as its proposal's pull request is merged or declined.

`suspend_while_proposed` suspends the Kustomization and queues its resume at
`GITOPS_SUSPEND_TIMEOUT` (a follow-up job). Every minute this watch asks the
forge about the pull request of each such resume still waiting; when it is
merged ("pull request merged") or closed unmerged ("pull request declined"),
the same job is made due now (store.suspensions), so the worker resumes the
Kustomization once, audited as the service's own change, and the timeout
has nothing left to do. A forge that cannot answer (401, 404, a timeout) is
logged once per spell and asked again next time; without a forge (branch
only) the timeout is the only bound.

Every replica may run it: moving a job is a conditional update, so the
worst two replicas do is ask the forge twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from remediator.gitops.forge import ForgeError
from remediator.gitops.pullstate import pull_request_status
from remediator.gitops.settings import GitopsSettings
from remediator.model.clock import Clock
from remediator.store.database import Database
from remediator.store.suspensions import pending_resumes, resume_now

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

REASONS = {"merged": "pull request merged", "closed": "pull request declined"}


class PullRequestWatch:
    def __init__(self, database: Database, settings: GitopsSettings, *, clock: Clock,
                 http: httpx.Client | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._http = http
        self._failing: dict[int, str] = {}
        """The last forge error per job: logged when it starts (or changes), not each time."""

    async def run(self) -> int:
        """One pass on a worker thread; the number of resumes made due."""
        return await asyncio.to_thread(self.check)

    def check(self) -> int:
        if self.settings.forge == "none":
            return 0
        pending = pending_resumes(self.database, now=self.clock())
        self._failing = {job: error for job, error in self._failing.items()
                         if job in {p.job_id for p in pending}}
        if not pending:
            return 0
        import httpx

        moved = 0
        client = self._http or httpx.Client(timeout=self.settings.timeout)
        try:
            for resume in pending:
                try:
                    state = pull_request_status(self.settings, resume.pr_url, client)
                except ForgeError as error:
                    self._failed(resume.job_id, resume.pr_url, str(error))
                    continue
                if self._failing.pop(resume.job_id, None) is not None:
                    log.info("the forge answers again about %s", resume.pr_url)
                if state not in REASONS:
                    continue
                if resume_now(self.database, resume, now=self.clock(), reason=REASONS[state]):
                    moved += 1
                    log.info("%s: resuming Flux Kustomization %s now", REASONS[state],
                             resume.kustomization)
        finally:
            if self._http is None:
                client.close()
        return moved

    def _failed(self, job_id: int, pr_url: str, error: str) -> None:
        if self._failing.get(job_id) != error:
            log.warning("cannot tell whether %s is merged (asking again in a minute): %s",
                        pr_url, error)
        self._failing[job_id] = error
