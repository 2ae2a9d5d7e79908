"""Proposals against real git: the field is changed where it is finally set, and only it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from remediator.gitops.proposals import (
    HelmValue,
    ObjectRef,
    ProposalError,
    ProposalRequest,
    Proposer,
    RevertLastTemplateChange,
    SetFields,
)
from remediator.gitops.settings import GitopsSettings
from tests.gitops.conftest import REPLICAS_PATCH, WEB, Upstream, git, source

OVERLAY = "apps/shop/overlays/prod"
BASE_DEPLOYMENT = "apps/shop/base/deployment.yaml"
PATCH = "apps/shop/overlays/prod/replicas.yaml"


def request(upstream: Upstream, change, branch: str = "remediator/r-1", **kw) -> ProposalRequest:
    return ProposalRequest(source=kw.pop("src", None) or source(upstream), target=kw.pop("target", WEB),
                           change=change, branch=branch, title="Scale web to 8",
                           message="alert WebSlow, rule scale-web, remediation r-1", **kw)


def only_line_changed(before: bytes, after: bytes) -> tuple[bytes, bytes]:
    """Byte-level: the files differ in exactly one line; return (old line, new line)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    diffs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(diffs) == 1, diffs
    return diffs[0]


def test_replicas_change_lands_in_the_overlay_patch(upstream: Upstream, proposer: Proposer) -> None:
    proposal = proposer.propose(request(upstream, SetFields({"spec.replicas": 8})))

    assert proposal.files == (PATCH,)
    assert proposal.pr_url is None
    assert upstream.branches() == ["main", "remediator/r-1"]
    old, new = only_line_changed(upstream.show("main", PATCH),
                                 upstream.show("remediator/r-1", PATCH))
    assert (old, new) == (b"  replicas: 5\n", b"  replicas: 8\n")
    assert b"# prod needs more" in upstream.show("remediator/r-1", PATCH)
    assert upstream.show("main", BASE_DEPLOYMENT) == upstream.show("remediator/r-1", BASE_DEPLOYMENT)
    assert "-  replicas: 5\n+  replicas: 8" in proposal.diff
    log = git(upstream.bare, "log", "-1", "--format=%an <%ae>|%s|%b", "remediator/r-1")
    assert log.startswith("remediator <remediator@localhost>|Scale web to 8|alert WebSlow")
    assert git(upstream.bare, "rev-parse", "remediator/r-1").strip() == proposal.commit


def test_without_the_overlay_the_base_is_changed_keeping_its_comment(
        upstream: Upstream, proposer: Proposer) -> None:
    target = ObjectRef(kind="Deployment", name="web", namespace="default")
    proposal = proposer.propose(request(upstream, SetFields({"spec.replicas": 3}),
                                        src=source(upstream, "apps/shop/base"), target=target))

    assert proposal.files == (BASE_DEPLOYMENT,)
    _, new = only_line_changed(upstream.show("main", BASE_DEPLOYMENT),
                                 upstream.show("remediator/r-1", BASE_DEPLOYMENT))
    assert new == b"  replicas: 3  # base default\n"


def test_image_of_one_container_keeps_its_quotes_and_comment(
        daemon_upstream: Upstream, proposer: Proposer) -> None:
    change = SetFields({"image": "registry.local/shop/web:1.1"}, container="app")
    proposal = proposer.propose(request(daemon_upstream, change))

    assert proposal.files == (BASE_DEPLOYMENT,)
    _, new = only_line_changed(daemon_upstream.show("main", BASE_DEPLOYMENT),
                               daemon_upstream.show("remediator/r-1", BASE_DEPLOYMENT))
    assert new == b'          image: "registry.local/shop/web:1.1"   # pinned by release\n'


def test_rollback_reverts_only_the_bad_image_line(daemon_upstream: Upstream,
                                                  proposer: Proposer) -> None:
    from tests.gitops.conftest import DEPLOYMENT

    bad = DEPLOYMENT.replace("web:1.0", "web:1.1-bad")
    daemon_upstream.commit("web: 1.1", {BASE_DEPLOYMENT: bad})
    later = bad.replace("port: 80 ", "port: 81 ")
    daemon_upstream.commit("service: port 81", {BASE_DEPLOYMENT: later})

    proposal = proposer.propose(request(daemon_upstream, RevertLastTemplateChange()))

    old, new = only_line_changed(daemon_upstream.show("main", BASE_DEPLOYMENT),
                                 daemon_upstream.show("remediator/r-1", BASE_DEPLOYMENT))
    assert b"web:1.1-bad" in old
    assert new == b'          image: "registry.local/shop/web:1.0"   # pinned by release\n'
    assert b"port: 81" in daemon_upstream.show("remediator/r-1", BASE_DEPLOYMENT)
    assert proposal.files == (BASE_DEPLOYMENT,)


def test_rollback_that_conflicts_is_refused_and_leaves_no_branch(
        upstream: Upstream, proposer: Proposer, tmp_path: Path) -> None:
    from tests.gitops.conftest import DEPLOYMENT

    bad = DEPLOYMENT.replace("web:1.0", "web:1.1-bad")
    upstream.commit("web: 1.1", {BASE_DEPLOYMENT: bad})
    requoted = bad.replace('"registry.local/shop/web:1.1-bad"', "registry.local/shop/web:1.1-bad")
    upstream.commit("style: unquote images", {BASE_DEPLOYMENT: requoted})

    with pytest.raises(ProposalError) as caught:
        proposer.propose(request(upstream, RevertLastTemplateChange()))

    assert caught.value.reason.startswith("merge conflict: reverting ")
    assert BASE_DEPLOYMENT in caught.value.reason
    assert upstream.branches() == ["main"]
    assert not _local_branches(tmp_path)


def test_helm_value_is_set_at_its_dotted_key(upstream: Upstream, proposer: Proposer) -> None:
    change = HelmValue(file="values.yaml", key="web.image.tag", value="0.9")
    proposal = proposer.propose(request(upstream, change, src=source(upstream, "charts/shop")))

    assert proposal.files == ("charts/shop/values.yaml",)
    _, new = only_line_changed(upstream.show("main", "charts/shop/values.yaml"),
                               upstream.show("remediator/r-1", "charts/shop/values.yaml"))
    assert new == b'    tag: "0.9"\n'


def test_push_to_the_target_branch_needs_push_to(upstream: Upstream, proposer: Proposer) -> None:
    change = SetFields({"spec.replicas": 6})
    with pytest.raises(ProposalError, match="refusing to push to the target branch main"):
        proposer.propose(request(upstream, change, branch="main"))

    proposal = proposer.propose(request(upstream, change, branch="main", push_to="main"))

    assert proposal.branch == "main"
    assert git(upstream.bare, "rev-parse", "main").strip() == proposal.commit
    assert upstream.show("main", PATCH).endswith(b"  replicas: 6\n")


def _local_branches(tmp_path: Path) -> list[str]:
    repos = tmp_path / "state" / "gitops" / "repos"
    found = []
    for cache in repos.iterdir() if repos.exists() else []:
        if cache.is_dir():
            found += git(cache, "for-each-ref", "--format=%(refname)", "refs/heads/remediator").split()
    return found


@respx.mock
def test_with_a_forge_the_pushed_branch_gets_a_pull_request(daemon_upstream: Upstream,
                                                            tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("forge-token\n")
    settings = GitopsSettings(token_file=token_file, forge="gitea",
                              forge_url="https://gitea.test/api/v1", author="bot <bot@acme.test>")
    proposer = Proposer(settings, state_dir=tmp_path / "state")
    route = respx.post("https://gitea.test/api/v1/repos/team/shop/pulls").mock(
        return_value=httpx.Response(201, json={"html_url": "https://gitea.test/team/shop/pulls/9"}))

    proposal = proposer.propose(request(daemon_upstream, SetFields({"spec.replicas": 8})))

    assert proposal.pr_url == "https://gitea.test/team/shop/pulls/9"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"title": "Scale web to 8", "head": "remediator/r-1", "base": "main",
                    "body": "alert WebSlow, rule scale-web, remediation r-1"}
    assert route.calls.last.request.headers["Authorization"] == "token forge-token"
    assert daemon_upstream.branches() == ["main", "remediator/r-1"]
    assert git(daemon_upstream.bare, "log", "-1", "--format=%an <%ae>",
               "remediator/r-1") == "bot <bot@acme.test>\n"
    remote = git(tmp_path / "state" / "gitops" / "repos" / next(
        p.name for p in (tmp_path / "state" / "gitops" / "repos").iterdir() if p.is_dir()),
        "config", "remote.origin.url")
    assert remote.strip() == daemon_upstream.url


def test_a_second_proposal_fetches_the_cached_clone(upstream: Upstream, proposer: Proposer) -> None:
    proposer.propose(request(upstream, SetFields({"spec.replicas": 8})))
    upstream.commit("prod: 6 replicas", {PATCH: REPLICAS_PATCH.replace("replicas: 5", "replicas: 6")})

    proposal = proposer.propose(request(upstream, SetFields({"spec.replicas": 9}),
                                        branch="remediator/r-2"))

    assert "-  replicas: 6\n+  replicas: 9" in proposal.diff
