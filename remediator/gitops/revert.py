"""Rollback in git: revert the commit that last changed the object's pod template.

History is walked from the target branch's tip; a commit counts when, in one
of the files defining the object, the `spec.template` of the object's document
(or the kustomization `images:` entry, or the JSON 6902 patch, that applies to
it) differs from its parent's (comments and formatting do not count). That
commit is reverted with libgit2's three-way revert onto the tip, and only the
files defining the object are taken from the result, so the proposal undoes
just that change (for an image bump: the image line back to its previous
value). A revert that conflicts with later edits is refused, not forced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygit2
from pygit2.enums import SortMode

from remediator.gitops.credentials import GitFailure
from remediator.gitops.manifests import Definition
from remediator.gitops.yamledit import EditError, load_all, plain

MAX_COMMITS = 500


def last_template_change(repo: pygit2.Repository, tip: pygit2.Commit,
                         found: Sequence[Definition]) -> pygit2.Commit:
    """The newest commit that changed the object's pod template in its files."""
    for count, commit in enumerate(repo.walk(tip.id, SortMode.TOPOLOGICAL | SortMode.TIME)):
        if count >= MAX_COMMITS:
            break
        parents = commit.parents
        if not parents:
            break
        if any(_template(commit, d) != _template(parents[0], d) for d in found):
            if len(parents) > 1:
                raise GitFailure(f"the last pod template change is merge commit "
                                 f"{commit.short_id}; revert it by hand")
            return commit
    raise GitFailure(f"no commit in the last {MAX_COMMITS} changed the pod template")


def _template(commit: pygit2.Commit, d: Definition) -> Any:
    """What of the pod template `d` decides at `commit` (None when it decides nothing)."""
    if d.role == "replicas":
        return None
    try:
        blob = commit.tree[d.file]
    except KeyError:
        return None
    if not isinstance(blob, pygit2.Blob):
        return None
    try:
        docs = load_all(blob.data.decode("utf-8", errors="replace"), d.file)
    except EditError:
        return "<invalid>"
    if d.role == "images":
        entries = (docs[0] or {}).get("images") if docs and isinstance(docs[0], dict) else None
        return plain([e for e in entries or [] if isinstance(e, dict)
                      and e.get("name") == d.local_name])
    if d.role == "json6902":
        return plain(docs[d.index]) if d.index < len(docs) else None
    return _template_of(docs, d)


def _template_of(docs: list[Any], d: Definition) -> Any:
    candidates = [doc for doc in docs if isinstance(doc, dict) and doc.get("kind") == d.kind
                  and (doc.get("metadata") or {}).get("name") == d.local_name]
    if not candidates and d.index < len(docs):
        candidates = [docs[d.index]]
    for doc in candidates:
        spec = doc.get("spec") if isinstance(doc, dict) else None
        return plain(spec.get("template")) if isinstance(spec, dict) else None
    return None


def reverted_texts(repo: pygit2.Repository, commit: pygit2.Commit, tip: pygit2.Commit,
                   found: Sequence[Definition]) -> dict[str, str]:
    """The object's files as they are after reverting `commit` onto `tip`."""
    index = repo.revert_commit(commit, tip)
    files = sorted({d.file for d in found})
    if index.conflicts is not None:
        clashes = sorted({(entry.path if entry else "") for conflict in index.conflicts
                          for entry in conflict if entry} & set(files))
        if clashes:
            raise GitFailure(f"merge conflict: reverting {commit.short_id} onto the target "
                             f"branch conflicts in {', '.join(clashes)}")
    texts = {}
    for path in files:
        if path in index:
            blob = repo.get(index[path].id)
            if isinstance(blob, pygit2.Blob):
                texts[path] = blob.data.decode("utf-8", errors="replace")
    return texts
