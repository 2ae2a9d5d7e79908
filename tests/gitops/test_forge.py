"""Pull requests on GitHub, GitLab and Gitea through their REST APIs (respx)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from remediator.gitops.forge import (
    ForgeError,
    ForgeTarget,
    forge_target,
    host_and_project,
    open_pull_request,
)

GITHUB = ForgeTarget("github", "https://api.github.com", "acme/shop")
GITLAB = ForgeTarget("gitlab", "https://gitlab.com/api/v4", "acme/apps/shop")
GITEA = ForgeTarget("gitea", "https://gitea.acme.test/api/v1", "acme/shop")


def open_pr(target: ForgeTarget, timeout: float = 5.0) -> str:
    with httpx.Client(timeout=timeout) as client:
        return open_pull_request(client, target, "tok-123", head="remediator/r-1",
                                 base="main", title="Scale web", body="remediation r-1")


@pytest.mark.parametrize(("url", "kind", "api", "expected"), [
    pytest.param("https://github.com/acme/shop.git", None, None,
                 GITHUB, id="github-inferred"),
    pytest.param("git@github.com:acme/shop.git", None, None, GITHUB, id="github-scp"),
    pytest.param("https://gitlab.com/acme/apps/shop", None, None, GITLAB, id="gitlab-inferred"),
    pytest.param("ssh://git@gitea.acme.test:2222/acme/shop.git", "gitea", None,
                 ForgeTarget("gitea", "https://gitea.acme.test/api/v1", "acme/shop"),
                 id="gitea-from-setting"),
    pytest.param("https://git.acme.test/acme/shop", "github", "https://ghe.acme.test/api/v3/",
                 ForgeTarget("github", "https://ghe.acme.test/api/v3", "acme/shop"),
                 id="explicit-api"),
    pytest.param("https://git.acme.test/acme/shop", None, None, None, id="unknown-host"),
])
def test_forge_is_configured_or_inferred(url: str, kind: str | None, api: str | None,
                                         expected: ForgeTarget | None) -> None:
    assert forge_target(url, kind, api) == expected


def test_host_and_project_of_urls() -> None:
    assert host_and_project("ssh://git@h.test:22/a/b.git") == ("h.test", "a/b")
    assert host_and_project("git@h.test:a/b") == ("h.test", "a/b")


@respx.mock
def test_github_opens_a_pull_request() -> None:
    route = respx.post("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(201, json={"html_url": "https://github.com/acme/shop/pull/7"}))

    assert open_pr(GITHUB) == "https://github.com/acme/shop/pull/7"
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer tok-123"
    assert json.loads(sent.content) == {"title": "Scale web", "head": "remediator/r-1",
                                        "base": "main", "body": "remediation r-1"}


@respx.mock
def test_github_422_already_exists_returns_the_open_one() -> None:
    respx.post("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(422, json={
            "message": "Validation Failed",
            "errors": [{"message": "A pull request already exists for acme:remediator/r-1."}]}))
    listing = respx.get("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(200, json=[
            {"head": {"ref": "remediator/r-1"}, "html_url": "https://github.com/acme/shop/pull/3"}]))

    assert open_pr(GITHUB) == "https://github.com/acme/shop/pull/3"
    assert listing.calls.last.request.url.params["head"] == "acme:remediator/r-1"


@respx.mock
def test_gitlab_opens_a_merge_request_and_finds_an_existing_one() -> None:
    url = "https://gitlab.com/api/v4/projects/acme%2Fapps%2Fshop/merge_requests"
    created = respx.post(url).mock(side_effect=[
        httpx.Response(201, json={"web_url": "https://gitlab.com/acme/apps/shop/-/merge_requests/4"}),
        httpx.Response(409, json={"message": ["Another open merge request already exists for "
                                              "this source branch: !4"]}),
    ])
    respx.get(url).mock(return_value=httpx.Response(200, json=[
        {"web_url": "https://gitlab.com/acme/apps/shop/-/merge_requests/4"}]))

    assert open_pr(GITLAB).endswith("/merge_requests/4")
    assert created.calls.last.request.headers["PRIVATE-TOKEN"] == "tok-123"
    assert json.loads(created.calls.last.request.content)["source_branch"] == "remediator/r-1"
    assert open_pr(GITLAB).endswith("/merge_requests/4")


@respx.mock
def test_gitea_opens_a_pull_request_and_finds_an_existing_one() -> None:
    url = "https://gitea.acme.test/api/v1/repos/acme/shop/pulls"
    route = respx.post(url).mock(side_effect=[
        httpx.Response(201, json={"html_url": "https://gitea.acme.test/acme/shop/pulls/2"}),
        httpx.Response(409, json={"message": "pull request already exists for these targets"}),
    ])
    respx.get(url).mock(return_value=httpx.Response(200, json=[
        {"head": {"ref": "other"}, "html_url": "https://gitea.acme.test/acme/shop/pulls/1"},
        {"head": {"ref": "remediator/r-1"}, "html_url": "https://gitea.acme.test/acme/shop/pulls/2"},
    ]))

    assert open_pr(GITEA).endswith("/pulls/2")
    assert route.calls.last.request.headers["Authorization"] == "token tok-123"
    assert open_pr(GITEA).endswith("/pulls/2")


@pytest.mark.parametrize("target", [GITHUB, GITLAB, GITEA], ids=lambda t: t.kind)
@respx.mock
def test_401_is_a_refused_token(target: ForgeTarget) -> None:
    respx.post(url__startswith=target.api).mock(
        return_value=httpx.Response(401, json={"message": "Bad credentials"}))

    with pytest.raises(ForgeError) as caught:
        open_pr(target)

    assert str(caught.value).startswith(f"{target.kind} refused the token (401) opening the ")
    assert "tok-123" not in str(caught.value)


@pytest.mark.parametrize("target", [GITHUB, GITLAB, GITEA], ids=lambda t: t.kind)
@respx.mock
def test_timeout_is_named(target: ForgeTarget) -> None:
    respx.post(url__startswith=target.api).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(ForgeError, match=f"^{target.kind} API at .* timed out$"):
        open_pr(target)


@respx.mock
def test_other_errors_carry_the_forge_message() -> None:
    respx.post("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(422, json={"message": "Validation Failed: base invalid"}))

    with pytest.raises(ForgeError) as caught:
        open_pr(GITHUB)

    assert str(caught.value) == ("github answered 422 opening the pull request for acme/shop: "
                                 "Validation Failed: base invalid")


@respx.mock
def test_existing_pull_request_that_is_not_open_is_an_error() -> None:
    respx.post("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(422, json={"message": "A pull request already exists"}))
    respx.get("https://api.github.com/repos/acme/shop/pulls").mock(
        return_value=httpx.Response(200, json=[]))

    with pytest.raises(ForgeError, match="exists but none is open"):
        open_pr(GITHUB)
