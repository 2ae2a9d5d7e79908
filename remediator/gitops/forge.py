"""Pull requests on GitHub, GitLab and Gitea/Forgejo, over their REST APIs (httpx).

The forge and its API base come from settings or, for github.com and
gitlab.com, from the repository's host. A pull request that already exists
for the branch is found and returned (GitHub and Gitea answer 422/409, GitLab
409). Every failure is a `ForgeError` with one line naming the forge and the
status, never the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:  # loaded when a forge is asked, not by every start-up
    import httpx

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")
_KNOWN = {"github.com": ("github", "https://api.github.com"),
          "gitlab.com": ("gitlab", "https://gitlab.com/api/v4")}
_API_PATH = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}


class ForgeError(Exception):
    """The pull request could not be opened; the message is one safe line."""


@dataclass(frozen=True)
class ForgeTarget:
    """Where to open pull requests for one repository."""

    kind: str
    api: str
    project: str
    """owner/name (GitLab: the full namespace path)."""


def host_and_project(url: str) -> tuple[str, str]:
    """The host and owner/name of an https/ssh/scp-like repository URL."""
    scp = _SCP.match(url) if "://" not in url else None
    if scp:
        host, path = scp["host"], scp["path"]
    else:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    return host, path.strip("/").removesuffix(".git")


def forge_target(url: str, kind: str | None, api: str | None) -> ForgeTarget | None:
    """The forge of `url`: from settings, else inferred for github.com and gitlab.com."""
    host, project = host_and_project(url)
    if kind is None:
        if host not in _KNOWN:
            return None
        kind, inferred = _KNOWN[host]
        api = api or inferred
    if not api:
        api = f"https://{host}{_API_PATH[kind]}"
    if not host or "/" not in project:
        raise ForgeError(f"cannot tell owner/repository from {url}")
    return ForgeTarget(kind, api.rstrip("/"), project)


def open_pull_request(client: httpx.Client, target: ForgeTarget, token: str, *, head: str,
                      base: str, title: str, body: str) -> str:
    """The web URL of a new (or the already open) pull request from `head` into `base`."""
    import httpx

    try:
        if target.kind == "gitlab":
            return _gitlab(client, target, token, head, base, title, body)
        return _github_like(client, target, token, head, base, title, body)
    except httpx.TimeoutException:
        raise ForgeError(f"{target.kind} API at {target.api} timed out") from None
    except httpx.HTTPError as exc:
        raise ForgeError(f"{target.kind} API at {target.api} unreachable: "
                         f"{type(exc).__name__}") from None


def _headers(kind: str, token: str) -> dict[str, str]:
    if kind == "gitlab":
        return {"PRIVATE-TOKEN": token}
    if kind == "gitea":
        return {"Authorization": f"token {token}"}
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}


def _github_like(client: httpx.Client, target: ForgeTarget, token: str, head: str,
                 base: str, title: str, body: str) -> str:
    url = f"{target.api}/repos/{target.project}/pulls"
    headers = _headers(target.kind, token)
    answer = client.post(url, headers=headers,
                         json={"title": title, "head": head, "base": base, "body": body})
    if answer.status_code in (409, 422) and _already_exists(answer):
        owner = target.project.split("/", 1)[0]
        params = {"state": "open", "head": f"{owner}:{head}", "base": base}
        found = client.get(url, headers=headers, params=params)
        _check(found, target, "listing pull requests")
        for pull in found.json():
            if (pull.get("head") or {}).get("ref") == head:
                return str(pull["html_url"])
        raise ForgeError(f"{target.kind} says a pull request for {head} exists "
                         "but none is open")
    _check(answer, target, "opening the pull request")
    return str(answer.json()["html_url"])


def _gitlab(client: httpx.Client, target: ForgeTarget, token: str, head: str, base: str,
            title: str, body: str) -> str:
    url = f"{target.api}/projects/{quote(target.project, safe='')}/merge_requests"
    headers = _headers("gitlab", token)
    answer = client.post(url, headers=headers, json={
        "source_branch": head, "target_branch": base, "title": title, "description": body})
    if answer.status_code in (409, 422) and _already_exists(answer):
        params = {"state": "opened", "source_branch": head, "target_branch": base}
        found = client.get(url, headers=headers, params=params)
        _check(found, target, "listing merge requests")
        for request in found.json():
            return str(request["web_url"])
        raise ForgeError(f"gitlab says a merge request for {head} exists but none is open")
    _check(answer, target, "opening the merge request")
    return str(answer.json()["web_url"])


def _already_exists(answer: httpx.Response) -> bool:
    return "already exist" in answer.text.lower()


def _check(answer: httpx.Response, target: ForgeTarget, doing: str) -> None:
    if answer.status_code in (401, 403):
        raise ForgeError(f"{target.kind} refused the token ({answer.status_code}) "
                         f"{doing} for {target.project}")
    if answer.status_code >= 400:
        raise ForgeError(f"{target.kind} answered {answer.status_code} {doing} for "
                         f"{target.project}: {_message(answer)}")


def _message(answer: httpx.Response) -> str:
    try:
        data: Any = answer.json()
    except ValueError:
        return answer.text[:200].replace("\n", " ")
    text = data.get("message") if isinstance(data, dict) else None
    return str(text or data)[:200].replace("\n", " ")


PullState = Literal["open", "merged", "closed"]
"""Closed: closed without merging (declined)."""

_PULL_URL = re.compile(r"^(?P<repo>https?://[^\s?#]+?)(?:/-/merge_requests|/pulls?)/"
                       r"(?P<number>[0-9]{1,9})/?$")


def pull_request_of(url: str) -> tuple[str, int] | None:
    """The repository's web URL and the number of a pull (merge) request's web URL."""
    match = _PULL_URL.match(url)
    return (match["repo"], int(match["number"])) if match else None


def pull_request_state(client: httpx.Client, target: ForgeTarget, token: str,
                       number: int) -> PullState:
    """Whether pull request `number` is still open, merged, or closed unmerged."""
    import httpx

    try:
        if target.kind == "gitlab":
            url = (f"{target.api}/projects/{quote(target.project, safe='')}/merge_requests/"
                   f"{number}")
        else:
            url = f"{target.api}/repos/{target.project}/pulls/{number}"
        answer = client.get(url, headers=_headers(target.kind, token))
        _check(answer, target, f"reading pull request {number}")
        data: Any = answer.json()
    except httpx.TimeoutException:
        raise ForgeError(f"{target.kind} API at {target.api} timed out") from None
    except httpx.HTTPError as exc:
        raise ForgeError(f"{target.kind} API at {target.api} unreachable: "
                         f"{type(exc).__name__}") from None
    except ValueError:
        raise ForgeError(f"{target.kind} answered pull request {number} with no JSON") from None
    if not isinstance(data, dict):
        raise ForgeError(f"{target.kind} answered pull request {number} with no object")
    state = str(data.get("state") or "")
    if state in ("merged", "closed") and (state == "merged" or data.get("merged") is True
                                          or data.get("merged_at")):
        return "merged"
    if state in ("opened", "open", "locked"):  # GitLab locks a request while merging it
        return "open"
    if state == "closed":
        return "closed"
    raise ForgeError(f"{target.kind} answered pull request {number} with state {state!r}")
