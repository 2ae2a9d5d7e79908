"""Fuzz every endpoint from the published OpenAPI schema: no input gets a 5xx.

schemathesis generates requests from `/openapi.json` (paths, query and body
schemas) and sends them to the running app in-process, with the acting
token, the read-only token, and none, on SQLite and on a real PostgreSQL.
Examples are bounded so each backend's run stays around a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.web.app import create_app
from tests.support.keys import shared_audit_key
from tests.support.postgres import create_database
from tests.web.conftest import READ_TOKEN, RULES, TOKEN

pytestmark = pytest.mark.slow


class _Forward:
    """The ASGI app schemathesis calls; the module fixture points it at a fresh service.

    (schemathesis wants its schema when the module is collected, and the
    service its temporary database only when the tests run.)
    """

    target: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.target is not None, "the fuzzed_app fixture is not active"
        await self.target(scope, receive, send)


_FORWARD = _Forward()


def _build(database_url: str, state: Path) -> FastAPI:
    return create_app(load_settings(rules=[str(RULES)], webhook_token=TOKEN,
                                    api_token=READ_TOKEN, database_url=database_url,
                                    state_dir=state, audit_key_file=state / "audit.key",
                                    session_key="k" * 32),
                      scheduler=False, actions=ActionRegistry({}))


schema = schemathesis.openapi.from_dict(
    _build("sqlite:///unused.db", Path("unused")).openapi())
schema.app = _FORWARD


@pytest.fixture(scope="module", autouse=True,
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed_app(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The same fuzzing against each backend: PostgreSQL enforces lengths, NUL-free
    text and index entry sizes that SQLite does not, so a 500 may hide on one only."""
    directory = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{directory / 'r.db'}"
    if request.param == "postgres":
        shared_audit_key(directory)
        url = create_database(request.getfixturevalue("postgres_admin_url"),
                              f"fuzz_{directory.name.replace('-', '_')}")
    _FORWARD.target = _build(url, directory)
    yield _FORWARD.target
    asgi.shutdown_lifespans()
    _FORWARD.target = None


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any) -> None:
    for token in (TOKEN, READ_TOKEN, None):  # acting, read-only, anonymous
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])


def test_the_schema_is_published(fuzzed_app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    with TestClient(fuzzed_app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert "/webhook/alertmanager" in response.json()["paths"]
