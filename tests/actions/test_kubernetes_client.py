"""Building the client the way kubectl finds a cluster: KUBECONFIG, ~/.kube/config, in-cluster."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration
from kubernetes.config import load_kube_config

from remediator.actions.kubernetes.actions import (
    KubeConfigError,
    close_api_client,
    kubernetes_actions,
    load_api_client,
)
from remediator.actions.kubernetes.client import ThrottledRefresh
from remediator.model.actions import ActionRequest

from .conftest import NAMESPACE, PODS, Cluster, pod, requests


def write_kubeconfig(path: Path, server: str, token: str = "kubeconfig-token") -> Path:
    """A minimal kubeconfig (JSON is YAML) pointing at `server`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    return path


def request_delete(name: str) -> ActionRequest:
    return ActionRequest(type="kubernetes.delete_pod", kind="pod", namespace=NAMESPACE,
                         name=name, timeout=5.0)


@pytest.fixture(autouse=True)
def outside_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-cluster loader reads os.environ: make sure no real pod's settings leak in."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


@pytest.fixture
def closing() -> Iterator[list[ApiClient]]:
    clients: list[ApiClient] = []
    yield clients
    for client in clients:
        close_api_client(client)


def test_off_never_loads(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1")
    assert load_api_client("off", environ={"KUBECONFIG": str(kubeconfig)}) is None


def test_auto_without_any_configuration_runs_without_kubernetes(tmp_path: Path) -> None:
    assert load_api_client("auto", environ={"HOME": str(tmp_path)}) is None


def test_on_without_any_configuration_says_what_to_provide(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match=r"set KUBECONFIG, create ~/\.kube/config"):
        load_api_client("on", environ={"HOME": str(tmp_path)})


@pytest.mark.parametrize("mode", [pytest.param("auto", id="auto"), pytest.param("on", id="on")])
def test_a_broken_kubeconfig_is_an_error(tmp_path: Path, mode: str) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")

    with pytest.raises(KubeConfigError, match=f"from {re.escape(str(kubeconfig))}"):
        load_api_client(mode, environ={"KUBECONFIG": str(kubeconfig)})


def test_in_cluster_without_a_service_account_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="in-cluster ServiceAccount"):
        load_api_client("auto", environ={"HOME": str(tmp_path),
                                         "KUBERNETES_SERVICE_HOST": "10.43.0.1"})


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="'off', 'auto' or 'on'"):
        load_api_client("maybe", environ={})


@pytest.mark.parametrize("where", [
    pytest.param("KUBECONFIG", id="KUBECONFIG"),
    pytest.param("HOME", id="home-kube-config"),
])
async def test_a_kubeconfig_reaches_the_cluster_with_its_token(
        kmock: kmock.KubernetesEmulator, cluster: Cluster, tmp_path: Path,
        closing: list[ApiClient], where: str) -> None:
    server = str(kmock.url).rstrip("/")
    if where == "KUBECONFIG":
        listed = [str(tmp_path / "missing"), str(write_kubeconfig(tmp_path / "k", server))]
        environ = {"KUBECONFIG": os.pathsep.join(listed)}
    else:
        write_kubeconfig(tmp_path / ".kube" / "config", server)
        environ = {"HOME": str(tmp_path)}
    cluster.add(pod("web-1"))
    client = load_api_client("on", environ=environ)
    assert client is not None
    closing.append(client)

    await kubernetes_actions(client)["kubernetes.delete_pod"].run(request_delete("web-1"))

    assert not cluster.exists(PODS, "web-1")
    assert requests(kmock["delete"])[0].headers["Authorization"] == "Bearer kubeconfig-token"


def test_the_credential_refresh_runs_once_a_second_not_per_request(tmp_path: Path) -> None:
    """The kubeconfig loader's hook re-applies the whole configuration before every
    request (~2 ms each); throttled, it runs once per interval, and keeps its
    place although the loader's hook installs itself again when it runs."""
    kubeconfig = write_kubeconfig(tmp_path / "k", "https://api.example:6443", token="tok")
    client = load_api_client("on", environ={"KUBECONFIG": str(kubeconfig)})
    assert client is not None
    assert isinstance(client.configuration.refresh_api_key_hook, ThrottledRefresh)

    configuration = Configuration()
    load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    now = [100.0]
    throttle = ThrottledRefresh(configuration.refresh_api_key_hook, interval=1.0,
                                clock=lambda: now[0])
    configuration.refresh_api_key_hook = throttle

    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer tok"
    assert configuration.refresh_api_key_hook is throttle
    del configuration.api_key["BearerToken"]  # only a refresh puts it back
    now[0] += 0.9
    assert configuration.get_api_key_with_prefix("BearerToken") is None
    now[0] += 0.1
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer tok"
    assert configuration.refresh_api_key_hook is throttle
