"""The interface between remediation and Git: a request for a change and its proposal.

The worker sees that Argo CD or Flux owns an object (`ownership`) and, instead
of patching the cluster, asks a `Proposer` for a branch (and a pull request
when a forge is configured) that changes the object's manifest in Git. Every
failure is one `ProposalError` whose `reason` is a single line for the audit
and the `failed` outcome; no credential ever appears in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from remediator.gitops.settings import GitopsSettings

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class GitSource:
    """Where the controller reads the object from (Argo CD Application, Flux source)."""

    repo_url: str
    """https://..., ssh://..., git://..., file:///... or a local path."""
    path: str
    """Directory in the repository (Argo `spec.source.path`, Flux `spec.path`)."""
    target_revision: str
    """Branch the controller follows (e.g. main, HEAD)."""


@dataclass(frozen=True)
class ObjectRef:
    """The object to change: Deployment, StatefulSet, HorizontalPodAutoscaler..."""

    kind: str
    name: str
    namespace: str


@dataclass(frozen=True)
class SetFields:
    """Set these fields on the object, e.g. {"spec.replicas": 4}.

    For an image change, `values` is {"image": "repo/app:1.2"} and `container`
    names the container of the pod template.
    """

    values: Mapping[str, int | str]
    container: str | None = None


@dataclass(frozen=True)
class RevertLastTemplateChange:
    """Rollback: revert the commit that last changed the pod template (`spec.template`)."""


@dataclass(frozen=True)
class HelmValue:
    """Helm-sourced apps: set `key` (dotted path) in the values `file` to `value`."""

    file: str
    key: str
    value: int | str


Change = SetFields | RevertLastTemplateChange | HelmValue


@dataclass(frozen=True)
class ProposalRequest:
    """One change to propose, on a new branch named `branch`."""

    source: GitSource
    target: ObjectRef
    change: Change
    branch: str
    """E.g. remediator/<remediation id>; validated as a git ref name."""
    title: str
    message: str
    """Commit message body: alert, rule, remediation id, console link."""
    push_to: str | None = None
    """Push straight to this branch instead of a new one (refused unless set)."""


@dataclass(frozen=True)
class Proposal:
    """What was pushed: the branch, its commit, the pull request (None without a forge)."""

    branch: str
    commit: str
    pr_url: str | None
    diff: str
    files: tuple[str, ...]


class ProposalError(Exception):
    """A proposal could not be made; nothing was left behind (no branch, local or remote)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        """One line for the audit and the `failed` outcome; never a credential."""


class Proposer:
    """Makes proposals: configured from `GitopsSettings` (state dir, credentials, forge).

    Thread-safe: proposals on one repository are serialised by a file lock on
    its cache; different repositories proceed in parallel.
    """

    def __init__(self, settings: GitopsSettings, *, state_dir: Path,
                 http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self._http = http
        from remediator.gitops.workflow import configure_libgit2  # pygit2: only when used

        configure_libgit2(settings, state_dir)

    def propose(self, request: ProposalRequest) -> Proposal:
        """Clone or fetch, edit, commit, push and open a pull request (blocking; use a thread)."""
        from pygit2 import GitError

        from remediator.gitops.credentials import GitFailure, read_secret
        from remediator.gitops.forge import ForgeError
        from remediator.gitops.workflow import run
        from remediator.gitops.yamledit import EditError

        token: str | None = None
        try:
            token = read_secret(self.settings.token_file, "token")
            return run(self, request, token)
        except (GitFailure, GitError, EditError, ForgeError, ValueError, OSError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if token:
                reason = reason.replace(token, "***")
            raise ProposalError(reason) from None

    def http(self) -> contextlib.AbstractContextManager[httpx.Client]:
        """The HTTP client for forge calls (the injected one is not closed)."""
        import httpx

        if self._http is not None:
            return contextlib.nullcontext(self._http)
        return httpx.Client(timeout=self.settings.timeout)

