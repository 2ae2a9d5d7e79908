"""The service's own proposer: built from `GITOPS_*` settings, git loaded on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.app.gitops import LazyProposer, service_proposer
from remediator.app.settings import load_settings
from remediator.gitops.proposals import ProposalError, ProposalRequest, SetFields
from tests.gitops.conftest import WEB, Upstream, git, source

PATCH_PATH = "apps/shop/overlays/prod/replicas.yaml"


def settings(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}",
                         state_dir=str(tmp_path / "state"), **overrides)


def scale(upstream: Upstream) -> ProposalRequest:
    return ProposalRequest(source=source(upstream), target=WEB,
                           change=SetFields({"spec.replicas": 7}), branch="remediator/svc-1",
                           title="Scale web to 7", message="alert WebSlow, remediation svc-1")


def test_the_service_proposes_with_its_settings_and_caches_in_the_state_dir(
        tmp_path: Path, upstream: Upstream) -> None:
    proposer = service_proposer(settings(tmp_path, gitops_author="Shop SRE <sre@shop.example>"))
    assert isinstance(proposer, LazyProposer)
    assert not (tmp_path / "state" / "gitops").exists()  # nothing before the first proposal

    made = proposer.propose(scale(upstream))

    assert made.branch == "remediator/svc-1" and made.files == (PATCH_PATH,)
    assert upstream.branches() == ["main", "remediator/svc-1"]
    assert b"replicas: 7" in upstream.show("remediator/svc-1", PATCH_PATH)
    assert (tmp_path / "state" / "gitops").is_dir()
    author = git(upstream.bare, "log", "-1", "--format=%an <%ae>", "remediator/svc-1").strip()
    assert author == "Shop SRE <sre@shop.example>"


def test_an_unreadable_token_file_is_a_failed_proposal_not_a_crash(
        tmp_path: Path, upstream: Upstream) -> None:
    proposer = service_proposer(settings(tmp_path, gitops_token_file=str(tmp_path / "absent")))
    with pytest.raises(ProposalError) as caught:
        proposer.propose(scale(upstream))
    assert "absent" in caught.value.reason
    assert upstream.branches() == ["main"]


def test_a_malformed_author_refuses_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gitops_author"):
        settings(tmp_path, gitops_author="no email here")
