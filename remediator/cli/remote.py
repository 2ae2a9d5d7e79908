"""The on-call commands' way to the running service: its URL, a token, and one line per
failure (issue 23: `status` read the CLI's own settings, not the service's).

`--server URL` (or `REMEDIATOR_SERVER`) sends `status`, `show`, `audit`, `approve`,
`decline`, `pause`, `resume` and `breaker reset` to the service's HTTP API
(DESIGN.md), with the token from `--token-file`, `REMEDIATOR_TOKEN` or
`REMEDIATOR_TOKEN_FILE`, as `amtool --alertmanager.url` does. Without a
server, or with `--database-url` given explicitly, they read and write the
database directly: break-glass, for when the service is down.

Every failure of the service ends the command with one line naming the server
(unreachable, 401, 403, 404, 409, ...) and exit status 1, never a traceback.
No typer, no pydantic, httpx only once a request is made: `remediator audit`
runs through here too (issue 11: a CLI command in < 0.5 s).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Never
from urllib.parse import quote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import ssl

    import httpx

SERVER_ENV = "REMEDIATOR_SERVER"
TOKEN_ENV = "REMEDIATOR_TOKEN"  # noqa: S105 (a variable name, not a token)
TOKEN_FILE_ENV = "REMEDIATOR_TOKEN_FILE"  # noqa: S105 (a variable name)
CA_FILE_ENV = "REMEDIATOR_CA_FILE"
CLIENT_ENV = frozenset({SERVER_ENV, TOKEN_ENV, TOKEN_FILE_ENV, CA_FILE_ENV})
"""The CLI's own variables: no setting of the service (`Settings` ignores them)."""
TIMEOUT = 30.0


@dataclass(frozen=True, kw_only=True)
class Remote:
    """Where the service is and how to prove who we are (the token is never printed)."""

    url: str
    token: str | None = None
    ca_file: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Target:
    """What a command was pointed at: the service (`--server`), or the database."""

    server: str | None = None
    token_file: Path | None = None
    ca_file: Path | None = None
    database_url: str | None = None


def choose(target: Target, environ: Mapping[str, str] | None = None) -> Remote | None:
    """The service to talk to, or None for break-glass (the database directly).

    `--database-url` given on the command line forces break-glass, even with
    `REMEDIATOR_SERVER` set; `--server` with it is a contradiction (exit 2).
    Otherwise `--server`, then `REMEDIATOR_SERVER`; neither means break-glass.
    """
    env = os.environ if environ is None else environ
    if target.database_url is not None:
        if target.server:
            fail("give --server or --database-url, not both (--database-url is "
                 "break-glass: the database directly)", status=2)
        return None
    url = target.server or env.get(SERVER_ENV, "")
    if not url:
        return None
    ca_file = target.ca_file or _path(env.get(CA_FILE_ENV))
    return Remote(url=_checked_url(url), token=_token(target.token_file, env), ca_file=ca_file)


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fail(f"--server {url!r}: give the service's URL, e.g. https://remediator.example.org",
             status=2)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _token(token_file: Path | None, env: Mapping[str, str]) -> str | None:
    """`--token-file`, else `REMEDIATOR_TOKEN`, else `REMEDIATOR_TOKEN_FILE`; None: no token."""
    if token_file is None and env.get(TOKEN_ENV):
        return env[TOKEN_ENV].strip()
    path = token_file or _path(env.get(TOKEN_FILE_ENV))
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        fail(f"cannot read the token file {path}: {error.strerror}", status=2)
    if not token:
        fail(f"the token file {path} is empty", status=2)
    return token


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def fail(message: str, *, status: int = 1) -> Never:
    """End the command with `message` on one line of stderr (typer lets SystemExit through)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    raise SystemExit(status)


def masked(database_url: str) -> str:
    """`database_url` without its password, fit for a notice on a shared screen."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def break_glass_notice(database_url: str, *, acting: bool = False) -> None:
    """Say on stderr that this command went around the service, and what that means."""
    if acting:
        what = ("writing the database directly (DATABASE_URL={}); the audit entry says "
                "via break-glass - use --server while the service runs")
    else:
        what = ("reading the database directly (DATABASE_URL={}); the service's live "
                "settings are not shown - use --server")
    sys.stderr.write("break-glass: " + what.format(masked(database_url)) + "\n")
    sys.stderr.flush()


def path_id(value: str) -> str:
    """A remediation id (user input) as one path segment: no `/`, `?` or `..` tricks
    (dots encoded too, so no client or proxy resolves `..` away)."""
    return quote(value, safe="").replace(".", "%2E")


class Client:
    """A blocking JSON client of the service's /api/v1, ending the command on any failure."""

    def __init__(self, remote: Remote, *, transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        from remediator import __version__

        self.remote = remote
        headers = {"User-Agent": f"remediator-cli/{__version__}", "Accept": "application/json"}
        if remote.token:
            headers["Authorization"] = f"Bearer {remote.token}"
        self._http = httpx.Client(base_url=remote.url, headers=headers, verify=_verify(remote),
                                  timeout=TIMEOUT, transport=transport)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._send("POST", path, json=body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **options: Any) -> Any:
        import httpx

        where = self.remote.url
        try:
            response = self._http.request(method, path, **options)
        except httpx.RequestError as error:
            fail(f"cannot reach the remediator service at {where}: "
                 f"{_one_line(error) or type(error).__name__}")
        if response.is_redirect:
            fail(f"{where} redirected {method} {path} to "
                 f"{response.headers.get('location', '?')}: give the service's own URL "
                 "(a sign-in proxy in front of it?)")
        if response.status_code >= 400:
            fail(refusal(where, response.status_code, _detail(response),
                         has_token=self.remote.token is not None))
        try:
            return response.json()
        except ValueError:
            fail(f"{where} answered {method} {path} with something that is not JSON: "
                 "is this the remediator service?")


def _verify(remote: Remote) -> ssl.SSLContext | bool:
    """Verify the server's certificate: against `--ca-file` when given, else the system's."""
    import ssl

    if remote.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(remote.ca_file))
    except (OSError, ssl.SSLError) as error:
        fail(f"cannot use the CA file {remote.ca_file} (--ca-file): "
             f"{_one_line(getattr(error, 'strerror', None) or error)}", status=2)


def refusal(where: str, status: int, detail: str, *, has_token: bool) -> str:
    """One line for a refused request, saying what to do about it."""
    if status == 401:
        hint = ("the token was refused" if has_token else
                "no token given: use --token-file or REMEDIATOR_TOKEN")
        return f"{where}: {detail or 'unauthorized'} (401): {hint}"
    if status == 403:
        return (f"{where}: {detail or 'forbidden'} (403): acting needs the webhook "
                "token, not the read-only API token")
    return f"{where}: {detail or 'error'} ({status})"


def _detail(response: httpx.Response) -> str:
    """FastAPI's `{"detail": ...}` as one line (a proxy's HTML page: its status alone)."""
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        return response.reason_phrase
    if not isinstance(detail, str):  # a validation error: a list of problems
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}"
                           for d in detail if isinstance(d, dict))
    return _one_line(detail)[:500]


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
