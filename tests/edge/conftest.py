"""The network edge's tests use the web tests' running app (lifespan and all)."""

from tests.web.conftest import app_settings, client, recorder

__all__ = ["app_settings", "client", "recorder"]
