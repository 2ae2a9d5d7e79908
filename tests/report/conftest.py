"""The running app of tests/web (SQLite, recording actions) for reports over its audit."""

from tests.web.conftest import app_settings, client, recorder

__all__ = ["app_settings", "client", "recorder"]
