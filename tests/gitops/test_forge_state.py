"""Is a pull request open, merged or declined? GitHub, GitLab and Gitea (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from remediator.gitops.forge import (
    ForgeError,
    ForgeTarget,
    pull_request_of,
    pull_request_state,
)

GITHUB = ForgeTarget("github", "https://api.github.com", "acme/shop")
GITLAB = ForgeTarget("gitlab", "https://gitlab.com/api/v4", "acme/apps/shop")
GITEA = ForgeTarget("gitea", "https://gitea.acme.test/api/v1", "acme/shop")
URLS = {"github": "https://api.github.com/repos/acme/shop/pulls/7",
        "gitlab": "https://gitlab.com/api/v4/projects/acme%2Fapps%2Fshop/merge_requests/7",
        "gitea": "https://gitea.acme.test/api/v1/repos/acme/shop/pulls/7"}
TARGETS = [pytest.param(GITHUB, id="github"), pytest.param(GITLAB, id="gitlab"),
           pytest.param(GITEA, id="gitea")]


def state(target: ForgeTarget, timeout: float = 5.0) -> str:
    with httpx.Client(timeout=timeout) as client:
        return pull_request_state(client, target, "tok-123", 7)


@pytest.mark.parametrize(("target", "body", "expected"), [
    pytest.param(GITHUB, {"state": "closed", "merged": True,
                          "merged_at": "2026-12-07T22:00:00Z"}, "merged", id="github-merged"),
    pytest.param(GITHUB, {"state": "closed", "merged": False, "merged_at": None}, "closed",
                 id="github-declined"),
    pytest.param(GITHUB, {"state": "open", "merged": False}, "open", id="github-open"),
    pytest.param(GITLAB, {"state": "merged"}, "merged", id="gitlab-merged"),
    pytest.param(GITLAB, {"state": "closed"}, "closed", id="gitlab-declined"),
    pytest.param(GITLAB, {"state": "opened"}, "open", id="gitlab-open"),
    pytest.param(GITLAB, {"state": "locked"}, "open", id="gitlab-merging"),
    pytest.param(GITEA, {"state": "closed", "merged": True}, "merged", id="gitea-merged"),
    pytest.param(GITEA, {"state": "closed", "merged": False}, "closed", id="gitea-declined"),
    pytest.param(GITEA, {"state": "open", "merged": False}, "open", id="gitea-open"),
])
@respx.mock
def test_state_of_a_pull_request(target: ForgeTarget, body: dict[str, object],
                                 expected: str) -> None:
    route = respx.get(URLS[target.kind]).mock(return_value=httpx.Response(200, json=body))
    assert state(target) == expected
    sent = route.calls.last.request.headers
    assert "tok-123" in (sent.get("Authorization", "") + sent.get("PRIVATE-TOKEN", ""))


@pytest.mark.parametrize("target", TARGETS)
@respx.mock
def test_401_is_a_refused_token_without_the_token(target: ForgeTarget) -> None:
    respx.get(URLS[target.kind]).mock(return_value=httpx.Response(401, json={"message": "no"}))
    with pytest.raises(ForgeError, match=r"refused the token \(401\)") as caught:
        state(target)
    assert "tok-123" not in str(caught.value)


@respx.mock
def test_404_names_the_status() -> None:
    respx.get(URLS["github"]).mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
    with pytest.raises(ForgeError, match="github answered 404 reading pull request 7"):
        state(GITHUB)


@pytest.mark.parametrize("target", TARGETS)
@respx.mock
def test_timeout_is_named(target: ForgeTarget) -> None:
    respx.get(URLS[target.kind]).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ForgeError, match="timed out"):
        state(target)


@respx.mock
def test_an_unknown_state_or_no_json_is_an_error() -> None:
    respx.get(URLS["gitea"]).mock(return_value=httpx.Response(200, json={"state": "odd"}))
    with pytest.raises(ForgeError, match="state 'odd'"):
        state(GITEA)
    respx.get(URLS["github"]).mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(ForgeError, match="no JSON"):
        state(GITHUB)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/acme/shop/pull/7", ("https://github.com/acme/shop", 7)),
    ("https://gitlab.com/acme/apps/shop/-/merge_requests/12",
     ("https://gitlab.com/acme/apps/shop", 12)),
    ("https://gitea.acme.test/acme/shop/pulls/3", ("https://gitea.acme.test/acme/shop", 3)),
    ("https://github.com/acme/shop/tree/main", None),
    ("https://github.com/acme/shop/pull/7?x=1", None),
])
def test_pull_request_of_web_urls(url: str, expected: tuple[str, int] | None) -> None:
    assert pull_request_of(url) == expected
