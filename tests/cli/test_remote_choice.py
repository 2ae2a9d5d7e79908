"""Which mode an on-call verb uses, and with what token (`remediator.cli.remote.choose`):
a table, as docs/cli.md states it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from remediator.cli.remote import Client, Remote, Target, choose, path_id

SERVER = "https://remediator.example.org"


@pytest.mark.parametrize(("target", "environ", "expected"), [
    pytest.param(Target(), {}, None, id="nothing-is-break-glass"),
    pytest.param(Target(), {"REMEDIATOR_SERVER": SERVER}, Remote(url=SERVER), id="env"),
    pytest.param(Target(server=SERVER + "/"), {}, Remote(url=SERVER), id="flag-trailing-slash"),
    pytest.param(Target(server="http://other:9095"), {"REMEDIATOR_SERVER": SERVER},
                 Remote(url="http://other:9095"), id="flag-beats-env"),
    pytest.param(Target(database_url="sqlite:///r.db"), {"REMEDIATOR_SERVER": SERVER}, None,
                 id="database-url-forces-break-glass"),
    pytest.param(Target(), {"REMEDIATOR_SERVER": ""}, None, id="empty-env-is-unset"),
    pytest.param(Target(), {"REMEDIATOR_SERVER": SERVER, "REMEDIATOR_TOKEN": " t1\n"},
                 Remote(url=SERVER, token="t1"), id="token-from-env"),
    pytest.param(Target(), {"REMEDIATOR_SERVER": SERVER, "REMEDIATOR_CA_FILE": "ca.pem"},
                 Remote(url=SERVER, ca_file=Path("ca.pem")), id="ca-from-env"),
    pytest.param(Target(ca_file=Path("mine.pem")),
                 {"REMEDIATOR_SERVER": SERVER, "REMEDIATOR_CA_FILE": "ca.pem"},
                 Remote(url=SERVER, ca_file=Path("mine.pem")), id="ca-flag-beats-env"),
])
def test_which_mode(target: Target, environ: dict[str, str], expected: Remote | None) -> None:
    assert choose(target, environ) == expected


def test_token_files_and_their_order(tmp_path: Path) -> None:
    flag, env_file = tmp_path / "flag", tmp_path / "env"
    flag.write_text("from-flag\n")
    env_file.write_text("from-env-file\n")
    env = {"REMEDIATOR_SERVER": SERVER, "REMEDIATOR_TOKEN_FILE": str(env_file)}
    assert choose(Target(), env) == Remote(url=SERVER, token="from-env-file")
    assert choose(Target(), {**env, "REMEDIATOR_TOKEN": "from-env"}) == Remote(
        url=SERVER, token="from-env")
    found = choose(Target(token_file=flag), {**env, "REMEDIATOR_TOKEN": "from-env"})
    assert found == Remote(url=SERVER, token="from-flag")


@pytest.mark.parametrize("target", [
    pytest.param(Target(server=SERVER, database_url="sqlite:///r.db"), id="both"),
    pytest.param(Target(server="remediator.example.org"), id="no-scheme"),
    pytest.param(Target(server="ftp://remediator.example.org"), id="other-scheme"),
])
def test_contradictions_and_non_urls_exit_2(target: Target,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        choose(target, {})
    assert exit_.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(("given", "segment"), [
    ("3f2a9c1e", "3f2a9c1e"), ("..", "%2E%2E"), ("../../status", "%2E%2E%2F%2E%2E%2Fstatus"),
    ("a?b#c", "a%3Fb%23c")])
def test_an_id_is_one_path_segment(given: str, segment: str) -> None:
    assert path_id(given) == segment


@pytest.mark.parametrize(("response", "says"), [
    pytest.param(httpx.Response(302, headers={"location": "https://sso.example.org/login"}),
                 f"{SERVER} redirected GET /api/v1/status to https://sso.example.org/login: "
                 "give the service's own URL (a sign-in proxy in front of it?)", id="redirect"),
    pytest.param(httpx.Response(200, text="<html>hello</html>"),
                 f"{SERVER} answered GET /api/v1/status with something that is not JSON: "
                 "is this the remediator service?", id="not-json"),
    pytest.param(httpx.Response(502, text="<html>bad gateway</html>"),
                 f"{SERVER}: Bad Gateway (502)", id="proxy-error-page"),
    pytest.param(httpx.Response(400, json={"detail": [{"loc": ["query", "limit"],
                                                       "msg": "too big"}]}),
                 f"{SERVER}: query.limit: too big (400)", id="validation-error"),
])
def test_what_a_proxy_or_another_server_answers_is_one_line(
        response: httpx.Response, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Answers the real service never gives (tests/cli/test_server_mode.py has those):
    faked at the transport, as a proxy in front of it would answer."""
    transport = httpx.MockTransport(lambda _: response)
    with Client(Remote(url=SERVER), transport=transport) as client, \
            pytest.raises(SystemExit) as exit_:
        client.get("/api/v1/status")
    assert exit_.value.code == 1
    assert capsys.readouterr().err == says + "\n"
