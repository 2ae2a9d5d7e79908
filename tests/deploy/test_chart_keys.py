"""The chart's HA mode: the audit and session keys every replica shares, from one Secret.

Rendered by the real Helm engine; the last test feeds the rendered environment
to the service's own settings, so the chart and the start-up check agree.
"""

from __future__ import annotations

import base64
import copy
import os
from pathlib import Path
from typing import Any

import pytest

from remediator.app.settings import Settings

from .chart import VALUE_SETS, Rendered, render
from .test_chart import container, env, mounts, volumes

HA = VALUE_SETS["ha-postgresql"]


def _secrets(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in rendered.of_kind("Secret")}


def _annotations(rendered: Rendered) -> dict[str, str]:
    found: dict[str, str] = rendered.one("Deployment")["spec"]["template"]["metadata"][
        "annotations"]
    return found


def test_postgresql_gets_one_generated_secret_with_both_keys_as_files() -> None:
    rendered = render(HA)
    keys = _secrets(rendered)["remediator-keys"]
    assert set(keys["data"]) == {"audit-key", "session-key"}
    assert all(len(base64.b64decode(v)) == 64 for v in keys["data"].values())
    assert keys["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volume = volumes(rendered)["keys"]["secret"]
    assert volume["secretName"] == "remediator-keys"
    assert volume["defaultMode"] == 0o440
    assert mounts(rendered)["keys"] == "/etc/remediator/keys"
    assert env(rendered)["REMEDIATOR_AUDIT_KEY_FILE"] == "/etc/remediator/keys/audit-key"
    assert env(rendered)["REMEDIATOR_SESSION_KEY_FILE"] == "/etc/remediator/keys/session-key"
    assert not any("secretKeyRef" in str(item) for item in container(rendered)["env"])
    assert "checksum/keys" in _annotations(rendered)


def test_the_generated_keys_are_kept_across_upgrades_through_lookup() -> None:
    template = (Path(__file__).resolve().parents[2] / "helm" / "remediator" / "templates"
                / "secret-keys.yaml").read_text()
    assert 'lookup "v1" "Secret" .Release.Namespace $name' in template
    assert "get $existing .Values.keys.auditKeyKey | default (randAlphaNum 64" in template


def test_an_existing_secret_replaces_the_generated_keys() -> None:
    values = copy.deepcopy(HA)
    values["keys"] = {"existingSecret": "shared-keys", "auditKeyKey": "audit",
                      "sessionKeyKey": "session"}
    rendered = render(values)
    assert "remediator-keys" not in _secrets(rendered)
    volume = volumes(rendered)["keys"]["secret"]
    assert volume["secretName"] == "shared-keys"
    assert [item["key"] for item in volume["items"]] == ["audit", "session"]
    assert env(rendered)["REMEDIATOR_AUDIT_KEY_FILE"] == "/etc/remediator/keys/audit"
    assert "checksum/keys" not in _annotations(rendered)


def test_sqlite_keeps_its_generated_key_on_the_data_volume() -> None:
    rendered = render()
    assert "remediator-keys" not in _secrets(rendered)
    assert "keys" not in volumes(rendered)
    assert "REMEDIATOR_AUDIT_KEY_FILE" not in env(rendered)


def test_a_rules_change_rolls_every_replica() -> None:
    """`/-/reload` reaches one replica; a new rules ConfigMap changes the pod template."""
    inline = VALUE_SETS["existing-secrets"]["rules"]
    changed = copy.deepcopy(inline)
    changed["files"]["mine.yml"]["rules"][0]["name"] = "renamed"
    before = _annotations(render({**HA, "rules": inline}))["checksum/rules"]
    after = _annotations(render({**HA, "rules": changed}))["checksum/rules"]
    assert before != after
    assert render(HA).one("Deployment")["spec"]["replicas"] == 3


def test_the_service_accepts_the_rendered_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(HA)
    data = _secrets(rendered)["remediator-keys"]["data"]
    mounted = tmp_path / "keys"
    mounted.mkdir()
    for key, value in data.items():
        (mounted / key).write_bytes(base64.b64decode(value))
    (tmp_path / "database-url").write_text("postgresql://remediator@db/remediator\n")
    for name in [n for n in os.environ if n.startswith("REMEDIATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env(rendered).items():
        if name.startswith("REMEDIATOR_"):
            value = value.replace("/etc/remediator/keys", str(mounted)).replace(
                "/etc/remediator/database/database-url", str(tmp_path / "database-url"))
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("REMEDIATOR_WEBHOOK_TOKEN_FILE")
    monkeypatch.delenv("REMEDIATOR_API_TOKEN_FILE")
    monkeypatch.delenv("REMEDIATOR_KUBE_SERVICEACCOUNT_DIR", raising=False)
    settings = Settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.shared_secrets_problem() is None
    assert settings.resolved_session_key() == base64.b64decode(data["session-key"]).decode()
