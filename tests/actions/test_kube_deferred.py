"""The Kubernetes client loads after start-up; decisions and actions are the same as before.

`serve` reads the kubeconfig without the client (`kube_peek`), registers
every Kubernetes action type at once, and builds the actions in a thread:
the peek must accept and refuse what the client's loader does, and a
service built that way decides `executed` and acts against kmock's emulator
exactly as with the client imported up front.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
from kubernetes.client import ApiClient

from remediator.actions.deferred import DeferredActions
from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.kubernetes.client import KubeConfigError, close_api_client, load_api_client
from remediator.actions.kubernetes.deferred import KUBERNETES_ACTION_TYPES, deferred_kubernetes
from remediator.actions.kubernetes.peek import api_server
from remediator.actions.kubernetes.source import InCluster, find_kube_source
from remediator.actions.registry import ActionRegistry
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.model.alerts import Alert
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from tests.actions.conftest import PODS, Cluster, pod
from tests.edge.serving import environment, serve_argv
from tests.support.payloads import crashloop, payload
from tests.support.promstack import free_port

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_every_kubernetes_action_type_is_known_without_the_client(client: ApiClient) -> None:
    assert set(kubernetes_actions(client)) == KUBERNETES_ACTION_TYPES


def _config(*, server: str | None = "http://k8s.example:8080", current: str | None = "c",
            context_cluster: str = "k", cluster: dict[str, Any] | None = None,
            user: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "k", "cluster": cluster or ({"server": server} if server else {})}],
        "users": [{"name": "u", "user": user or {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": context_cluster, "user": "u"}}]}
    if current is not None:
        config["current-context"] = current
    return config


PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").decode()


@pytest.mark.parametrize("files", [
    pytest.param([_config()], id="plain"),
    pytest.param([_config(server="http://k8s.example:8080/")], id="trailing-slash"),
    pytest.param([_config(server=None)], id="no-server"),
    pytest.param([_config(current=None)], id="no-current-context"),
    pytest.param([_config(current="elsewhere")], id="unknown-context"),
    pytest.param([_config(context_cluster="gone")], id="unknown-cluster"),
    pytest.param([_config(cluster={"server": "https://k:6443",
                                   "certificate-authority": "missing-ca.crt"})],
                 id="missing-ca-file"),
    pytest.param([_config(cluster={"server": "https://k:6443",
                                   "certificate-authority": "ca.crt"})], id="relative-ca-file"),
    pytest.param([_config(cluster={"server": "https://k:6443",
                                   "certificate-authority-data": PEM})], id="inline-ca"),
    pytest.param([_config(cluster={"server": "https://k:6443"},
                          user={"client-certificate": "nope.crt", "client-key": "ca.crt"})],
                 id="missing-client-certificate"),
    pytest.param([_config(user={"tokenFile": "missing-token"})], id="missing-token-file"),
    pytest.param([_config(user={"tokenFile": "ca.crt"})], id="token-file"),
    pytest.param([_config(current=None), _config(server="http://second:1")],
                 id="current-context-from-the-second-file"),
    pytest.param([_config(server="http://first:1"), _config(server="http://second:1")],
                 id="first-cluster-of-a-name-wins"),
    pytest.param(["", _config()], id="empty-first-file"),
    pytest.param(["{not yaml: [", _config()], id="invalid-yaml"),
])
def test_the_peek_accepts_and_refuses_what_the_client_does(tmp_path: Path,
                                                           files: list[Any]) -> None:
    (tmp_path / "ca.crt").write_text("ca")
    paths = []
    for index, content in enumerate(files):
        path = tmp_path / f"config-{index}"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        paths.append(str(path))
    environ = {"KUBECONFIG": os.pathsep.join(paths)}
    source = find_kube_source(environ)
    assert source is not None

    try:
        client = load_api_client("on", environ=environ)
    except Exception:  # KubeConfigError, or the YAML parser's own error
        with pytest.raises(KubeConfigError, match=f"from {source}: "):
            api_server(source)
        return
    assert client is not None
    try:
        assert api_server(source) == client.configuration.host
    finally:
        close_api_client(client)


@pytest.mark.parametrize(("host", "expected"), [
    pytest.param("10.43.0.1", "https://10.43.0.1:443", id="ipv4"),
    pytest.param("fd00::1", "https://[fd00::1]:443", id="ipv6"),
])
def test_the_peek_names_the_in_cluster_api_server(tmp_path: Path, host: str,
                                                  expected: str) -> None:
    (tmp_path / "token").write_text("t")
    (tmp_path / "ca.crt").write_text("ca")
    assert api_server(InCluster(host=host, port="443", serviceaccount_dir=tmp_path)) == expected


def test_the_peek_refuses_an_in_cluster_account_without_its_token(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match=r"in-cluster ServiceAccount.*token does not exist"):
        api_server(InCluster(host="10.43.0.1", port="443", serviceaccount_dir=tmp_path))


@pytest.mark.parametrize(("mode", "environ", "expected"), [
    pytest.param("off", {"KUBECONFIG": "set"}, "none", id="off"),
    pytest.param("auto", {}, "none", id="auto-without-configuration"),
])
def test_no_kubernetes_builds_no_deferred_actions(mode: str, environ: dict[str, str],
                                                  expected: str) -> None:
    assert deferred_kubernetes(mode, environ=environ) == (None, expected)


def test_on_without_configuration_is_refused_at_once() -> None:
    with pytest.raises(KubeConfigError, match="no Kubernetes configuration found"):
        deferred_kubernetes("on", environ={})


async def test_a_failed_load_is_reported_and_claims_nothing() -> None:
    failures: list[BaseException] = []

    def build() -> dict[str, Any]:
        raise KubeConfigError("exec plugin failed")

    group = DeferredActions({"kubernetes.delete_pod"}, build, name="the client")
    group.on_failure = failures.append
    registry = ActionRegistry()
    registry.register_deferred(group)

    assert "kubernetes.delete_pod" in registry.types()
    assert await registry.ready() is False
    assert [str(error) for error in failures] == ["exec plugin failed"]
    assert not registry.loaded()


def _outcomes(services: Services) -> list[str]:
    with services.database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery())
    return [i["outcome"] for i in reversed(items)]


async def test_a_service_with_a_kubeconfig_decides_and_acts_as_before(
        kmock: kmock.KubernetesEmulator, cluster: Cluster, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(_config(server=str(kmock.url).rstrip("/"))))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    settings = load_settings(rules=[str(RULES)], dev=True, kubernetes="on",
                             database_url=f"sqlite:///{tmp_path / 'r.db'}")
    cluster.add(pod("web-1"))
    services = Services.build(settings)
    try:
        assert services.kubernetes is not None
        assert not services.kubernetes.loaded  # nothing imported or started yet
        assert services.executable >= KUBERNETES_ACTION_TYPES

        [decision] = services.intake.receive(
            [Alert.model_validate(crashloop(pod="web-1"))], group_key="g")
        assert decision["outcome"] == "executed"
        assert await services.worker.tick() == 0  # no claim before the client is loaded

        await services.worker.drain()
    finally:
        await services.aclose()
    assert services.kubernetes.loaded
    assert not cluster.exists(PODS, "web-1")
    assert _outcomes(services)[:2] == ["executed", "succeeded"]


async def _until(predicate: Callable[[], Awaitable[bool]], *, seconds: float, what: str,
                 process: asyncio.subprocess.Process) -> None:
    """Poll while the emulator keeps serving in this loop; fail on a deadline or an exit."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        assert process.returncode is None, f"serve exited with {process.returncode}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not within {seconds:g}s")


@pytest.mark.slow
async def test_serve_with_a_kubeconfig_is_ready_first_and_then_acts(
        kmock: kmock.KubernetesEmulator, cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(_config(server=str(kmock.url).rstrip("/"))))
    cluster.add(pod("web-1"))
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            *serve_argv("--dev", "--listen", f"127.0.0.1:{port}", "--rules", str(RULES),
                        "--database-url", f"sqlite:///{tmp_path / 'r.db'}",
                        "--kubernetes", "on"),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr, cwd=tmp_path,
            env=environment(KUBECONFIG=str(kubeconfig), REMEDIATOR_LOG_LEVEL="debug"))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            async def ready() -> bool:
                try:
                    return (await http.get(f"{url}/-/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(ready, seconds=30, what="/-/ready", process=process)
            answer = await http.post(f"{url}/webhook/alertmanager",
                                     json=payload(crashloop(pod="web-1")))
            assert answer.json()["decisions"][0]["outcome"] == "executed"

            async def deleted() -> bool:
                return not cluster.exists(PODS, "web-1")

            await _until(deleted, seconds=60, what="the pod's deletion", process=process)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    lines = [json.loads(line)["msg"] for line in log.read_text().splitlines() if line]
    summary = next(m for m in lines if m.startswith("loaded "))
    assert f"kubernetes {str(kmock.url).rstrip('/')};" in summary
    loaded = lines.index(next(m for m in lines if m.startswith("the Kubernetes client loaded in")))
    assert lines.index("Application startup complete.") < loaded
    # What the client built lives as long as the service: out of full GC passes (heap.py).
    frozen = [i for i, m in enumerate(lines) if m.startswith("the Kubernetes client: ")
              and m.endswith("objects kept out of full garbage collections")]
    assert len(frozen) == 1 and frozen[0] > loaded


async def test_on_loaded_runs_once_the_build_succeeded_and_before_anyone_gets_the_actions(
        ) -> None:
    events: list[str] = []

    def build() -> dict[str, Any]:
        events.append("built")
        return {"kubernetes.delete_pod": object()}

    group = DeferredActions({"kubernetes.delete_pod"}, build, name="the client")
    group.on_loaded = lambda: events.append(f"on_loaded, loaded={group.loaded}")
    actions = await group.wait()
    events.append("waiter released")
    assert set(actions) == {"kubernetes.delete_pod"}
    assert events == ["built", "on_loaded, loaded=False", "waiter released"]
