"""The repository cache and the git operations of a proposal, through pygit2 (libgit2).

Why pygit2: it runs in-process (the image has no git binary), it was the
fastest of dulwich, pygit2 and GitPython on a small repository (docs/gitops.md
has the figures), credentials are handed over in callbacks (never in a URL,
argv or environment) and libgit2 reports each refused ref of a push.

One bare clone per repository URL under `<state>/gitops/repos/`, fetched before
each proposal; commits are built from blobs and trees, so no work tree can be
left dirty. A file lock serialises proposals on one repository.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pygit2
from pygit2.enums import FetchPrune

from remediator.gitops.credentials import Callbacks, GitFailure

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def public_url(url: str) -> str:
    """`url` without any user information: what may be stored on disk and shown."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        netloc = f"{user}@{host}" if parts.scheme == "ssh" else host
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def cache_dir(state_dir: Path, url: str) -> Path:
    """The cache of one repository: a readable slug plus a hash of the whole URL."""
    public = public_url(url)
    slug = _SLUG.sub("-", public.split("://", 1)[-1]).strip("-.")[-60:] or "repo"
    digest = hashlib.sha256(public.encode()).hexdigest()[:16]
    return state_dir / "gitops" / "repos" / f"{slug}-{digest}"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`.lock (threads and processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_cache(path: Path, url: str, callbacks: Callbacks) -> pygit2.Repository:
    """The bare clone at `path`, fetched now; cloned first when missing."""
    public = public_url(url)
    if (path / "HEAD").exists():
        repo = pygit2.Repository(str(path))
        if repo.remotes["origin"].url != public:
            repo.remotes.set_url("origin", public)
        _fetch(repo, callbacks, public)
        return repo
    shutil.rmtree(path, ignore_errors=True)
    try:
        return pygit2.clone_repository(public, str(path), bare=True,
                                       callbacks=callbacks.start())
    except (pygit2.GitError, GitFailure, KeyError, ValueError) as exc:
        shutil.rmtree(path, ignore_errors=True)
        raise GitFailure(f"clone of {public} failed: {callbacks.explain(exc)}") from exc


def _fetch(repo: pygit2.Repository, callbacks: Callbacks, public: str) -> None:
    try:
        repo.remotes["origin"].fetch(callbacks=callbacks.start(), prune=FetchPrune.PRUNE)
    except (pygit2.GitError, GitFailure, KeyError, ValueError) as exc:
        raise GitFailure(f"fetch of {public} failed: {callbacks.explain(exc)}") from exc


def default_branch(repo: pygit2.Repository, callbacks: Callbacks) -> str:
    """The branch the remote's HEAD points to."""
    try:
        heads = repo.remotes["origin"].list_heads(callbacks=callbacks.start())
    except (pygit2.GitError, GitFailure, KeyError, ValueError) as exc:
        raise GitFailure(f"listing the remote's branches failed: {callbacks.explain(exc)}") \
            from exc
    for head in heads:
        if head.name == "HEAD" and head.symref_target:
            return head.symref_target.removeprefix("refs/heads/")
    raise GitFailure("the remote does not say which branch HEAD is")


def remote_commit(repo: pygit2.Repository, branch: str) -> pygit2.Commit | None:
    """The fetched tip of `branch` on the remote, or None."""
    ref = repo.references.get(f"refs/remotes/origin/{branch}")
    if ref is None:
        return None
    commit = repo.get(ref.target)
    return commit if isinstance(commit, pygit2.Commit) else None


class TreeFiles:
    """The files of one commit's tree, for `manifests.Tree`."""

    def __init__(self, repo: pygit2.Repository, tree: pygit2.Tree) -> None:
        self.repo = repo
        self.tree = tree

    def _entry(self, path: str) -> Any:
        if path in ("", "."):
            return self.tree
        try:
            return self.repo.get(self.tree[path].id)
        except KeyError:
            return None

    def read(self, path: str) -> str | None:
        """The file's text (UTF-8), or None."""
        blob = self._entry(path)
        if not isinstance(blob, pygit2.Blob):
            return None
        return blob.data.decode("utf-8", errors="replace")

    def listdir(self, path: str) -> list[str] | None:
        """The names in a directory, or None."""
        tree = self._entry(path)
        return [entry.name or "" for entry in tree] if isinstance(tree, pygit2.Tree) else None


def commit_files(repo: pygit2.Repository, base: pygit2.Commit, texts: dict[str, str],
                 ref: str, author: tuple[str, str], message: str) -> pygit2.Commit:
    """A commit on top of `base` with `texts` as the new contents, at local `ref`."""
    index = pygit2.Index()
    index.read_tree(base.tree)
    for path, text in texts.items():
        mode = index[path].mode if path in index else pygit2.enums.FileMode.BLOB
        index.add(pygit2.IndexEntry(path, repo.create_blob(text.encode()), mode))
    return commit_tree(repo, base, index.write_tree(repo), ref, author, message)


def commit_tree(repo: pygit2.Repository, base: pygit2.Commit, tree: pygit2.Oid, ref: str,
                author: tuple[str, str], message: str) -> pygit2.Commit:
    """A commit of `tree` on top of `base`, at local `ref` (replacing a stale one)."""
    signature = pygit2.Signature(*author)
    if ref in repo.references:
        repo.references.delete(ref)
    oid = repo.create_commit(ref, signature, signature, message, tree, [base.id])
    commit = repo.get(oid)
    assert isinstance(commit, pygit2.Commit)
    return commit


def push(repo: pygit2.Repository, spec: str, callbacks: Callbacks) -> None:
    """Push one refspec; GitFailure when the remote refuses it or the transport fails."""
    try:
        repo.remotes["origin"].push([spec], callbacks=callbacks.start())
    except (pygit2.GitError, GitFailure, KeyError, ValueError) as exc:
        ref = spec.rsplit(":", 1)[-1]
        raise GitFailure(f"push of {ref} rejected: {callbacks.explain(exc)}") from exc
    if callbacks.rejections:
        ref, why = callbacks.rejections[0]
        raise GitFailure(f"push of {ref} rejected: {why}")


def delete_local(repo: pygit2.Repository, ref: str) -> None:
    """Remove a local ref if present."""
    if ref in repo.references:
        repo.references.delete(ref)
