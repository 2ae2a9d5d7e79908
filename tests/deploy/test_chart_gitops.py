"""The chart's GitOps values: git credentials from the user's Secret, mounted as files;
the rendered environment is what the service's settings accept, and the proposals'
repository cache lands on a writable volume (rendered by real Helm)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python as helm
import pytest

from remediator.app.gitops import gitops_cache_dir, gitops_settings
from remediator.app.settings import Settings

from .chart import CHART, NAMESPACE, VALUE_SETS, render, render_error
from .test_chart import container, env, mounts, volumes
from .validation import validate

GITOPS: dict[str, Any] = {
    "rbac": {"gitops": True, "gitopsSuspend": True},
    "gitops": {"enabled": True, "existingSecret": "remediator-git",
               "sshKeyKey": "ssh-key", "knownHostsKey": "known-hosts",
               "gitUsername": "oauth2", "forge": "gitlab",
               "forgeUrl": "https://git.example.org/api/v4",
               "author": "Remediator Bot <remediator@example.org>",
               "default": "propose", "trackingLabel": "argocd.argoproj.io/instance",
               "argocdNamespace": "gitops", "suspendTimeout": "90m"}}

KEYS = ["gitops-token", "ssh-key", "known-hosts"]


def test_the_gitops_values_lint_and_render_valid_objects() -> None:
    for values in (GITOPS, {**VALUE_SETS["ha-postgresql"], **GITOPS}):
        result = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE,
                           kube_version="1.31.0")
        assert result["errors"] == []
        assert [m for m in result["messages"] if m["severity"] > 1] == []
        for manifest in render(values):
            validate(manifest.body)


def test_nothing_about_gitops_is_rendered_by_default() -> None:
    rendered = render()
    assert "gitops" not in volumes(rendered)
    assert "gitops" not in mounts(rendered)
    assert not [name for name in env(rendered) if "GITOPS" in name]


def test_the_credentials_are_mounted_as_files_and_the_rest_set_as_values() -> None:
    rendered = render(GITOPS)
    volume = volumes(rendered)["gitops"]["secret"]
    assert volume["secretName"] == "remediator-git"
    assert volume["defaultMode"] == 0o440
    assert [item["key"] for item in volume["items"]] == KEYS
    assert [item["path"] for item in volume["items"]] == KEYS
    assert mounts(rendered)["gitops"] == "/etc/remediator/gitops"
    [mount] = [m for m in container(rendered)["volumeMounts"] if m["name"] == "gitops"]
    assert mount["readOnly"] is True
    found = {name: value for name, value in env(rendered).items() if "GITOPS" in name}
    assert found == {
        "REMEDIATOR_GITOPS_TOKEN_FILE": "/etc/remediator/gitops/gitops-token",
        "REMEDIATOR_GITOPS_SSH_KEY_FILE": "/etc/remediator/gitops/ssh-key",
        "REMEDIATOR_GITOPS_SSH_KNOWN_HOSTS_FILE": "/etc/remediator/gitops/known-hosts",
        "REMEDIATOR_GITOPS_GIT_USERNAME": "oauth2",
        "REMEDIATOR_GITOPS_FORGE": "gitlab",
        "REMEDIATOR_GITOPS_FORGE_URL": "https://git.example.org/api/v4",
        "REMEDIATOR_GITOPS_AUTHOR": "Remediator Bot <remediator@example.org>",
        "REMEDIATOR_GITOPS_DEFAULT": "propose",
        "REMEDIATOR_GITOPS_TRACKING_LABEL": "argocd.argoproj.io/instance",
        "REMEDIATOR_GITOPS_ARGOCD_NAMESPACE": "gitops",
        "REMEDIATOR_GITOPS_SUSPEND_TIMEOUT": "90m"}
    assert not any("secretKeyRef" in str(item) for item in container(rendered)["env"])


def test_an_empty_key_is_neither_mounted_nor_set() -> None:
    rendered = render({"gitops": {"enabled": True, "existingSecret": "git"}})
    assert [item["key"] for item in volumes(rendered)["gitops"]["secret"]["items"]] == [
        "gitops-token"]
    assert {name for name in env(rendered) if "GITOPS" in name} == {
        "REMEDIATOR_GITOPS_TOKEN_FILE"}
    ssh_only = render({"gitops": {"enabled": True, "existingSecret": "git", "tokenKey": "",
                                  "sshKeyKey": "id", "knownHostsKey": "hosts"}})
    assert [item["key"] for item in volumes(ssh_only)["gitops"]["secret"]["items"]] == [
        "id", "hosts"]
    assert "REMEDIATOR_GITOPS_TOKEN_FILE" not in env(ssh_only)


def test_ownership_values_need_no_git_secret() -> None:
    rendered = render({"gitops": {"argocdNamespace": "argo", "default": "refuse"}})
    assert "gitops" not in volumes(rendered)
    assert {n: v for n, v in env(rendered).items() if "GITOPS" in n} == {
        "REMEDIATOR_GITOPS_DEFAULT": "refuse", "REMEDIATOR_GITOPS_ARGOCD_NAMESPACE": "argo"}


@pytest.mark.parametrize(("values", "named"), [
    ({"gitops": {"enabled": True}}, "gitops.existingSecret"),
    ({"gitops": {"enabled": True, "existingSecret": "git", "tokenKey": ""}},
     "gitops.tokenKey or gitops.sshKeyKey"),
    ({"gitops": {"enabled": True, "existingSecret": "git", "sshKeyKey": "id"}},
     "gitops.knownHostsKey"),
])
def test_an_incomplete_gitops_block_is_refused_by_name(values: dict[str, Any],
                                                       named: str) -> None:
    assert named in render_error(values)


@pytest.mark.parametrize(("field", "value"), [
    ("forge", "bitbucket"), ("default", "maybe"), ("author", "no email"),
    ("argocdNamespace", "Argo CD"), ("suspendTimeout", "2 hours"), ("tokenKey", "../token"),
    ("forgeUrl", "git.example.org"), ("trackingLabel", "a label"),
])
def test_the_schema_refuses_what_the_service_would(field: str, value: str) -> None:
    assert field in render_error({"gitops": {field: value}})


def test_the_service_accepts_the_rendered_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(GITOPS)
    for name in [n for n in os.environ if n.startswith("REMEDIATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env(rendered).items():
        if name.startswith("REMEDIATOR_GITOPS"):
            monkeypatch.setenv(name, value.replace("/etc/remediator/gitops", str(tmp_path)))
    settings = Settings()
    assert settings.gitops_default == "propose"
    assert settings.gitops_argocd_namespace == "gitops"
    assert settings.gitops_suspend_timeout.total_seconds() == 90 * 60
    proposer = gitops_settings(settings)
    assert proposer.token_file == tmp_path / "gitops-token"
    assert proposer.ssh_known_hosts_file == tmp_path / "known-hosts"
    assert (proposer.forge, proposer.git_username) == ("gitlab", "oauth2")
    assert proposer.author == "Remediator Bot <remediator@example.org>"


@pytest.mark.parametrize("base", ["defaults", "ha-postgresql"])
def test_the_repository_cache_is_on_a_writable_volume(base: str) -> None:
    """With PostgreSQL the audit key is a read-only Secret file: the cache must not
    go beside it, but to the state directory on the data volume."""
    rendered = render({**VALUE_SETS[base], **GITOPS})
    found = env(rendered)
    settings = Settings(
        database_url=(found.get("REMEDIATOR_DATABASE_URL")
                      or "postgresql+psycopg://remediator@db/remediator"),
        state_dir=found["REMEDIATOR_STATE_DIR"],
        audit_key_file=found.get("REMEDIATOR_AUDIT_KEY_FILE"))
    cache = PurePosixPath(gitops_cache_dir(settings))
    assert cache == PurePosixPath("/var/lib/remediator/gitops")
    holding = [m for m in container(rendered)["volumeMounts"]
               if cache.is_relative_to(m["mountPath"])]
    assert [(m["name"], m.get("readOnly", False)) for m in holding] == [("data", False)]
    assert container(rendered)["securityContext"]["readOnlyRootFilesystem"] is True
