"""Both code paths that look for a cluster agree: start-up and the client adapter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from remediator.actions.kubernetes.client import close_api_client, load_api_client
from remediator.actions.kubernetes.source import (
    SERVICEACCOUNT_DIR,
    InCluster,
    KubeConfigFiles,
    find_kube_source,
)
from remediator.app.services import kube_config_present

from .test_kubernetes_client import write_kubeconfig


def _environ(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


@pytest.mark.parametrize(("listed", "expected"), [
    pytest.param("~/kc", "kc", id="tilde"),
    pytest.param(f"~/missing{os.pathsep}~/kc", "kc", id="tilde-list-first-missing"),
    pytest.param("~/missing", None, id="only-missing"),
    pytest.param("", ".kube/config", id="unset-falls-back-to-home"),
])
def test_kubeconfig_with_tilde_is_seen_by_both_paths(
        tmp_path: Path, listed: str, expected: str | None) -> None:
    write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    write_kubeconfig(tmp_path / ".kube" / "config", "https://127.0.0.1:1")
    environ = _environ(tmp_path, **({"KUBECONFIG": listed} if listed else {}))

    source = find_kube_source(environ)
    client = load_api_client("auto", environ=environ)

    if expected is None:
        assert source is None
        assert client is None
        assert not kube_config_present(environ)
        return
    assert source == KubeConfigFiles(paths=str(tmp_path / expected))
    assert kube_config_present(environ)
    assert client is not None
    assert client.configuration.host == "https://127.0.0.1:1"
    close_api_client(client)


def test_without_home_there_is_no_default_kubeconfig_and_no_error() -> None:
    """A container uid without a passwd entry may have no HOME: no lookup, no crash."""
    assert find_kube_source({}) is None
    assert not kube_config_present({})


def test_in_cluster_defaults_to_the_kubelet_mount(tmp_path: Path) -> None:
    source = find_kube_source(_environ(tmp_path, KUBERNETES_SERVICE_HOST="10.43.0.1",
                                       KUBERNETES_SERVICE_PORT="443"))
    assert source == InCluster(host="10.43.0.1", port="443", serviceaccount_dir=SERVICEACCOUNT_DIR)


def test_in_cluster_reads_a_projected_token_from_the_configured_dir(tmp_path: Path) -> None:
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("projected-token")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    environ = _environ(tmp_path, KUBERNETES_SERVICE_HOST="10.43.0.1",
                       KUBERNETES_SERVICE_PORT="443",
                       REMEDIATOR_KUBE_SERVICEACCOUNT_DIR=str(account))

    client = load_api_client("on", environ=environ)

    assert client is not None
    assert client.configuration.host == "https://10.43.0.1:443"
    assert client.configuration.ssl_ca_cert == str(account / "ca.crt")
    assert client.configuration.get_api_key_with_prefix("BearerToken") == "bearer projected-token"
    close_api_client(client)
