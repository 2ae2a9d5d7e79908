"""The git side of GitOps proposals, as the service builds it from its settings.

`Proposer` (gitops.proposals) loads pygit2 and sets libgit2's process-wide
configuration when built, so the service builds it on the first proposal,
not at start-up: a service whose rules never propose never loads git.
"""

from __future__ import annotations

import threading
from pathlib import Path

from remediator.app.settings import Settings
from remediator.gitops.proposals import Proposal, ProposalError, ProposalRequest, Proposer
from remediator.gitops.settings import GitopsSettings
from remediator.store.location import audit_files


def gitops_settings(settings: Settings) -> GitopsSettings:
    """The `GITOPS_*` settings the proposer reads (credentials stay paths to files)."""
    return GitopsSettings(
        token_file=settings.gitops_token_file, git_username=settings.gitops_git_username,
        ssh_key_file=settings.gitops_ssh_key_file,
        ssh_known_hosts_file=settings.gitops_ssh_known_hosts_file,
        forge=settings.gitops_forge, forge_url=settings.gitops_forge_url,
        author=settings.gitops_author)


class LazyProposer(Proposer):
    """A `Proposer` built on first use; its repository cache lives in the state
    directory (beside the audit key), `gitops/` below it."""

    def __init__(self, settings: GitopsSettings, *, state_dir: Path) -> None:
        # The real one is built later: deliberately no super().__init__ here.
        self.settings = settings
        self.state_dir = state_dir
        self._real: Proposer | None = None
        self._lock = threading.Lock()

    def propose(self, request: ProposalRequest) -> Proposal:
        with self._lock:
            if self._real is None:
                try:
                    self.state_dir.mkdir(parents=True, exist_ok=True)
                    self._real = Proposer(self.settings, state_dir=self.state_dir)
                except (OSError, ImportError) as error:
                    raise ProposalError(f"git proposals unavailable: {error}") from error
        return self._real.propose(request)


def gitops_cache_dir(settings: Settings) -> Path:
    """`gitops/` in the state directory: STATE_DIR, else beside the SQLite file, else
    the working directory. Deliberately not beside a mounted AUDIT_KEY_FILE: that
    directory is a read-only Secret volume (the chart mounts one with PostgreSQL)."""
    key, _ = audit_files(settings.database_url, state_dir=settings.state_dir,
                         audit_key_file=None)
    return key.parent.absolute() / "gitops"


def service_proposer(settings: Settings) -> Proposer:
    """The service's proposer: settings checked now (a bad author refuses start-up)."""
    return LazyProposer(gitops_settings(settings), state_dir=gitops_cache_dir(settings))
