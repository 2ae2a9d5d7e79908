"""Credentials: a token from a file goes to the server as the password and nowhere else."""

from __future__ import annotations

import base64
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import CredentialType

from remediator.gitops.credentials import Callbacks, GitFailure
from remediator.gitops.gitrepo import cache_dir, public_url
from remediator.gitops.proposals import (
    GitSource,
    ProposalError,
    ProposalRequest,
    Proposer,
    SetFields,
)
from remediator.gitops.settings import GitopsSettings
from tests.gitops.conftest import WEB, SshServer, Upstream
from tests.gitops.http_backend import BACKEND, serve

TOKEN = "glpat-0123456789abcdefghij"


def proposer_with(tmp_path: Path, token: str) -> Proposer:
    token_file = tmp_path / "secret" / "token"
    token_file.parent.mkdir(exist_ok=True)
    token_file.write_text(token + "\n")
    settings = GitopsSettings(token_file=token_file, git_username="oauth2", timeout=10)
    return Proposer(settings, state_dir=tmp_path / "state")


def scale(url: str) -> ProposalRequest:
    return ProposalRequest(
        source=GitSource(repo_url=url, path="apps/shop/overlays/prod", target_revision="main"),
        target=WEB, change=SetFields({"spec.replicas": 7}), branch="remediator/c-1",
        title="t", message="m")


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


@pytest.mark.skipif(not Path(BACKEND).exists(), reason="needs git http-backend")
def test_token_over_http_is_the_password_and_is_not_stored(upstream: Upstream,
                                                           tmp_path: Path) -> None:
    with serve(upstream.bare.parent.parent, "oauth2", TOKEN) as (base, seen):
        proposal = proposer_with(tmp_path, TOKEN).propose(scale(f"{base}/team/shop.git"))

    assert proposal.files == ("apps/shop/overlays/prod/replicas.yaml",)
    assert upstream.branches() == ["main", "remediator/c-1"]
    basic = "Basic " + base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()
    assert basic in seen
    for path in files_under(tmp_path / "state"):
        assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.skipif(not Path(BACKEND).exists(), reason="needs git http-backend")
def test_a_wrong_token_is_an_authentication_failure(upstream: Upstream, tmp_path: Path) -> None:
    with serve(upstream.bare.parent.parent, "oauth2", TOKEN) as (base, _), \
            pytest.raises(ProposalError) as caught:
        proposer_with(tmp_path, "wrong-token-value").propose(scale(f"{base}/team/shop.git"))

    assert caught.value.reason == (f"clone of {base}/team/shop.git failed: "
                                   "authentication failed (credentials refused)")
    assert "wrong-token" not in caught.value.reason


def test_ssh_key_is_offered_for_ssh_and_unknown_hosts_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    callbacks = Callbacks(token=None, username="x", ssh_key=key)

    offered = callbacks.credentials("ssh://git@h/x", "git", CredentialType.SSH_KEY)

    assert isinstance(offered, pygit2.Keypair)
    assert offered.credential_tuple[0] == "git"
    assert offered.credential_tuple[2] == str(key)
    with pytest.raises(GitFailure, match="not trusted"):
        callbacks.certificate_check(None, False, b"git.example")
    assert callbacks.certificate_check(None, True, b"git.example") is True


def test_without_a_credential_auth_is_refused_clearly() -> None:
    callbacks = Callbacks(token=None, username="x", ssh_key=None)

    with pytest.raises(GitFailure, match="no usable credential"):
        callbacks.credentials("https://h/x", None, CredentialType.USERPASS_PLAINTEXT)


@pytest.mark.parametrize(("url", "public"), [
    ("https://bot:tok@git.example/a/b.git", "https://git.example/a/b.git"),
    ("ssh://git@git.example:22/a/b.git", "ssh://git@git.example:22/a/b.git"),
    ("ssh://git:pw@git.example/a/b.git", "ssh://git@git.example/a/b.git"),
    ("git@git.example:a/b.git", "git@git.example:a/b.git"),
    ("/srv/git/a.git", "/srv/git/a.git"),
])
def test_urls_lose_their_secrets_before_they_are_stored(url: str, public: str) -> None:
    assert public_url(url) == public


def test_cache_directories_are_safe_names(tmp_path: Path) -> None:
    made = cache_dir(tmp_path, "https://git.example/../../etc/passwd?x=$(id)")

    assert made.parent == tmp_path / "gitops" / "repos"
    assert all(c.isalnum() or c in "._-" for c in made.name)
    assert made != cache_dir(tmp_path, "https://git.example/etc/passwd")


def test_ssh_key_and_known_host(upstream: Upstream, sshd: SshServer, tmp_path: Path) -> None:
    import getpass

    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line)
    settings = GitopsSettings(ssh_key_file=sshd.client_key, ssh_known_hosts_file=known)
    proposer = Proposer(settings, state_dir=tmp_path / "state")
    url = f"ssh://{getpass.getuser()}@127.0.0.1:{sshd.port}{upstream.bare}"

    proposal = proposer.propose(scale(url))

    assert proposal.files == ("apps/shop/overlays/prod/replicas.yaml",)
    assert upstream.branches() == ["main", "remediator/c-1"]


def test_ssh_host_not_in_known_hosts_is_refused(upstream: Upstream, sshd: SshServer,
                                                tmp_path: Path) -> None:
    import getpass

    proposer = Proposer(GitopsSettings(ssh_key_file=sshd.client_key),
                        state_dir=tmp_path / "state")
    url = f"ssh://{getpass.getuser()}@127.0.0.1:{sshd.port}{upstream.bare}"

    with pytest.raises(ProposalError) as caught:
        proposer.propose(scale(url))

    assert caught.value.reason == (f"clone of {url} failed: host key or certificate of "
                                   "127.0.0.1 is not trusted")
    assert upstream.branches() == ["main"]
