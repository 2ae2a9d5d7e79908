"""The steps of one proposal: fetch, change, commit, push, pull request, clean up.

Failure hygiene is the point of this module: whatever step fails, the local
branch is deleted and a branch already pushed is deleted on the remote again,
so a failed proposal leaves nothing behind but its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from remediator.gitops import changes, gitrepo
from remediator.gitops.credentials import Callbacks, GitFailure
from remediator.gitops.forge import ForgeError, forge_target, open_pull_request
from remediator.gitops.manifests import Tree
from remediator.gitops.refs import check_branch
from remediator.gitops.revert import last_template_change, reverted_texts
from remediator.gitops.settings import GitopsSettings

if TYPE_CHECKING:
    from remediator.gitops.proposals import Proposal, ProposalRequest, Proposer


def configure_libgit2(settings: GitopsSettings, state_dir: Path) -> None:
    """Timeouts and the home directory libgit2 reads known_hosts from (process-wide)."""
    millis = int(settings.timeout * 1000)
    pygit2.settings.server_connect_timeout = millis
    pygit2.settings.server_timeout = millis
    home = state_dir / "gitops" / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    known = home / ".ssh" / "known_hosts"
    if settings.ssh_known_hosts_file is not None:
        known.write_bytes(settings.ssh_known_hosts_file.read_bytes())
    else:
        known.write_bytes(b"")
    pygit2.settings.homedir = str(home)


def run(proposer: Proposer, request: ProposalRequest, token: str | None) -> Proposal:
    """Make the proposal under the repository's lock."""
    branch = check_branch(request.branch)
    push_to = check_branch(request.push_to) if request.push_to is not None else None
    settings = proposer.settings
    callbacks = Callbacks(token=token, username=settings.git_username,
                          ssh_key=settings.ssh_key_file)
    cache = gitrepo.cache_dir(proposer.state_dir, request.source.repo_url)
    with gitrepo.locked(cache):
        repo = gitrepo.open_cache(cache, request.source.repo_url, callbacks)
        target = _target_branch(repo, request, callbacks)
        base = gitrepo.remote_commit(repo, target)
        if base is None:
            raise GitFailure(f"branch {target} not found in "
                             f"{gitrepo.public_url(request.source.repo_url)}")
        dest = _destination(repo, branch, push_to, target)
        texts = _new_texts(repo, base, request)
        return _commit_and_push(proposer, repo, base, texts, dest, target, request,
                                callbacks, token)


def _target_branch(repo: pygit2.Repository, request: ProposalRequest,
                   callbacks: Callbacks) -> str:
    revision = request.source.target_revision.strip().removeprefix("refs/heads/")
    if revision in ("", "HEAD"):
        return gitrepo.default_branch(repo, callbacks)
    return check_branch(revision)


def _destination(repo: pygit2.Repository, branch: str, push_to: str | None,
                 target: str) -> str:
    if push_to is not None:
        return push_to
    if branch == target:
        raise GitFailure(f"refusing to push to the target branch {target} directly "
                         "(push_to is not set)")
    if gitrepo.remote_commit(repo, branch) is not None:
        raise GitFailure(f"branch {branch} already exists on the remote")
    return branch


def _new_texts(repo: pygit2.Repository, base: pygit2.Commit,
               request: ProposalRequest) -> dict[str, str]:
    from remediator.gitops.proposals import HelmValue, SetFields

    files = gitrepo.TreeFiles(repo, base.tree)
    tree = Tree(files)
    root, change = request.source.path, request.change
    if isinstance(change, SetFields):
        texts = changes.set_fields(tree, root, request.target, change)
    elif isinstance(change, HelmValue):
        texts = changes.helm_value(tree, root, change)
    else:
        found = changes.definitions(tree, root, request.target)
        commit = last_template_change(repo, base, found)
        texts = reverted_texts(repo, commit, base, found)
    texts = changes.changed({path: files.read(path) for path in texts}, texts)
    if not texts:
        raise GitFailure(f"nothing to change: {request.target.kind} "
                         f"{request.target.name} already reads as requested")
    return texts


def _commit_and_push(proposer: Proposer, repo: pygit2.Repository, base: pygit2.Commit,
                     texts: dict[str, str], dest: str, target: str,
                     request: ProposalRequest, callbacks: Callbacks,
                     token: str | None) -> Proposal:
    from remediator.gitops.proposals import Proposal

    ref = f"refs/heads/{dest}"
    message = f"{request.title}\n\n{request.message}\n"
    pushed = False
    try:
        commit = gitrepo.commit_files(repo, base, texts, ref, proposer.settings.author_parts(),
                                      message)
        gitrepo.push(repo, f"{ref}:{ref}", callbacks)
        pushed = request.push_to is None
        pr_url = None if request.push_to else _pull_request(proposer, request, dest, target,
                                                            token)
    except (GitFailure, ForgeError) as exc:
        if pushed:
            _unpush(repo, ref, callbacks, exc)
        raise
    finally:
        gitrepo.delete_local(repo, ref)
    diff = repo.diff(base, commit).patch or ""
    return Proposal(dest, str(commit.id), pr_url, diff, tuple(sorted(texts)))


def _unpush(repo: pygit2.Repository, ref: str, callbacks: Callbacks,
            failure: GitFailure | ForgeError) -> None:
    """Delete the pushed branch again; if that fails too, the reason says so."""
    try:
        gitrepo.push(repo, f":{ref}", callbacks)
    except GitFailure as exc:
        raise type(failure)(f"{failure}; the pushed branch {ref.removeprefix('refs/heads/')} "
                            f"could not be deleted: {exc}") from failure


def _pull_request(proposer: Proposer, request: ProposalRequest, head: str, base: str,
                  token: str | None) -> str | None:
    settings = proposer.settings
    if settings.forge == "none":
        return None
    forge = forge_target(request.source.repo_url, settings.forge, settings.forge_url)
    if forge is None:
        return None
    if token is None:
        raise ForgeError(f"a {forge.kind} pull request needs a token file (token_file)")
    with proposer.http() as client:
        return open_pull_request(client, forge, token, head=head, base=base,
                                 title=request.title, body=request.message)
