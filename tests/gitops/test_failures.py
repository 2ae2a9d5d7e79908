"""Every failure is one clear ProposalError reason, and no branch is left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
import respx

from remediator.gitops.proposals import (
    GitSource,
    ObjectRef,
    ProposalError,
    ProposalRequest,
    Proposer,
    SetFields,
)
from remediator.gitops.settings import GitopsSettings
from tests.gitops.conftest import WEB, Upstream, git, source

SCALE = SetFields({"spec.replicas": 8})


def make(src: GitSource, target: ObjectRef = WEB, branch: str = "remediator/r-2",
            **kw: str) -> ProposalRequest:
    return ProposalRequest(source=src, target=target, change=SCALE, branch=branch,
                           title="Scale web", message="remediation r-2", **kw)


def local_refs(state: Path) -> list[str]:
    found: list[str] = []
    for cache in (state / "gitops" / "repos").glob("*"):
        if cache.is_dir():
            found += git(cache, "for-each-ref", "--format=%(refname)", "refs/heads/remediator")
    return found


def reason(proposer: Proposer, req: ProposalRequest) -> str:
    with pytest.raises(ProposalError) as caught:
        proposer.propose(req)
    return caught.value.reason


def test_clone_failure_names_the_repository_and_leaves_no_cache(tmp_path: Path,
                                                                  proposer: Proposer) -> None:
    missing = GitSource(repo_url=str(tmp_path / "nowhere.git"), path=".", target_revision="main")

    why = reason(proposer, make(missing))

    assert why.startswith(f"clone of {tmp_path / 'nowhere.git'} failed: ")
    assert not [p for p in (tmp_path / "state" / "gitops" / "repos").glob("*") if p.is_dir()]


def test_a_token_never_shows_in_a_reason(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cr3t-token-value\n")
    proposer = Proposer(GitopsSettings(token_file=token_file, timeout=2),
                        state_dir=tmp_path / "state")
    port = _closed_port()
    with_token = GitSource(repo_url=f"https://bot:s3cr3t-token-value@127.0.0.1:{port}/a/b.git",
                           path=".", target_revision="main")

    why = reason(proposer, make(with_token))

    assert "s3cr3t" not in why
    assert why.startswith(f"clone of https://127.0.0.1:{port}/a/b.git failed")


def test_unknown_object_is_not_found(upstream: Upstream, proposer: Proposer) -> None:
    other_namespace = ObjectRef(kind="Deployment", name="web", namespace="staging")

    why = reason(proposer, make(source(upstream), other_namespace))

    assert why == ("no manifest defines Deployment staging/web under apps/shop/overlays/prod")
    assert upstream.branches() == ["main"]


def test_missing_path_and_branch(upstream: Upstream, proposer: Proposer) -> None:
    assert reason(proposer, make(source(upstream, "apps/nope"))) == \
        "apps/nope: no such directory"
    wrong = GitSource(repo_url=upstream.url, path="apps/shop/overlays/prod",
                      target_revision="release")
    assert reason(proposer, make(wrong)).startswith("branch release not found in ")


@pytest.mark.parametrize("branch", ["-x", "a..b", "a b", "refs/../x", "x.lock", "@{-1}", ""])
def test_invalid_branch_names_are_refused_before_git(upstream: Upstream, proposer: Proposer,
                                                      branch: str) -> None:
    assert reason(proposer, make(source(upstream), branch=branch)).startswith("branch ")
    assert upstream.branches() == ["main"]


def test_existing_remote_branch_is_not_overwritten(upstream: Upstream,
                                                   proposer: Proposer) -> None:
    git(upstream.work, "push", "-q", "origin", "HEAD:refs/heads/remediator/r-2")

    why = reason(proposer, make(source(upstream)))

    assert why == "branch remediator/r-2 already exists on the remote"


def test_push_rejected_by_a_hook_leaves_no_branch(daemon_upstream: Upstream,
                                                  proposer: Proposer, tmp_path: Path) -> None:
    upstream = daemon_upstream
    hook = upstream.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branches are protected' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)

    why = reason(proposer, make(source(upstream)))

    assert why == "push of refs/heads/remediator/r-2 rejected: pre-receive hook declined"
    assert upstream.branches() == ["main"]
    assert local_refs(tmp_path / "state") == []


@pytest.mark.parametrize("served", ["upstream", "daemon_upstream"])
def test_non_fast_forward_push_to_is_rejected(request: pytest.FixtureRequest,
                                             proposer: Proposer, served: str) -> None:
    upstream = request.getfixturevalue(served)
    git(upstream.work, "checkout", "-q", "-b", "release")
    upstream.work.joinpath("NOTES").write_text("release notes\n")
    git(upstream.work, "add", "NOTES")
    git(upstream.work, "commit", "-qm", "release notes")
    git(upstream.work, "push", "-q", "origin", "release")
    before = git(upstream.bare, "rev-parse", "release")

    why = reason(proposer, make(source(upstream), branch="release", push_to="release"))

    assert why.startswith("push of refs/heads/release rejected: "), why
    assert "fast" in why
    assert git(upstream.bare, "rev-parse", "release") == before


@respx.mock
def test_forge_failure_after_push_deletes_the_remote_branch(daemon_upstream: Upstream,
                                                           tmp_path: Path) -> None:
    upstream = daemon_upstream
    token_file = tmp_path / "token"
    token_file.write_text("forge-token")
    settings = GitopsSettings(token_file=token_file, forge="gitea",
                              forge_url="https://gitea.test/api/v1")
    proposer = Proposer(settings, state_dir=tmp_path / "state")
    respx.post(url__regex=r"https://gitea\.test/api/v1/repos/.*/pulls").mock(
        return_value=httpx.Response(401, json={"message": "token is required"}))
    src = GitSource(repo_url=upstream.url, path="apps/shop/overlays/prod", target_revision="main")

    why = reason(proposer, make(src))

    assert why.startswith("gitea refused the token (401) opening the pull request")
    assert "forge-token" not in why
    assert upstream.branches() == ["main"]
    assert local_refs(tmp_path / "state") == []


def test_nothing_to_change_is_a_failure_not_an_empty_commit(upstream: Upstream,
                                                            proposer: Proposer) -> None:
    same = ProposalRequest(source=source(upstream), target=WEB,
                           change=SetFields({"spec.replicas": 5}), branch="remediator/r-3",
                           title="t", message="m")

    assert reason(proposer, same) == "nothing to change: Deployment web already reads as requested"
    assert upstream.branches() == ["main"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@respx.mock
def test_a_branch_that_cannot_be_deleted_again_is_named_in_the_reason(
        daemon_upstream: Upstream, tmp_path: Path) -> None:
    hook = daemon_upstream.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  case $new in 0000000000000000000000000000000000000000) exit 1;; esac\n"
                    "done\nexit 0\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    token_file = tmp_path / "token"
    token_file.write_text("forge-token")
    proposer = Proposer(GitopsSettings(token_file=token_file, forge="github",
                                       forge_url="https://ghe.test/api/v3"),
                        state_dir=tmp_path / "state")
    respx.post("https://ghe.test/api/v3/repos/team/shop/pulls").mock(
        side_effect=httpx.ConnectTimeout("slow"))

    why = reason(proposer, make(source(daemon_upstream)))

    assert why == ("github API at https://ghe.test/api/v3 timed out; the pushed branch "
                   "remediator/r-2 could not be deleted: push of refs/heads/remediator/r-2 "
                   "rejected: pre-receive hook declined")
    assert local_refs(tmp_path / "state") == []
