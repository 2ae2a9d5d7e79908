"""The service as the chart runs it in a pod, against an API server over TLS.

kmock's KubernetesEmulator is served over HTTPS with a certificate from a CA
generated here. The files the pod would see are laid out under a fake root
exactly where the rendered Deployment mounts them (the projected ServiceAccount
token, ca.crt and namespace; the token Secret; the rules ConfigMap; /tmp and
the data volume), the service runs as a real process with the rendered
container's env (paths moved under the fake root, plus the
KUBERNETES_SERVICE_HOST/PORT the kubelet injects), and an Alertmanager
delivery becomes a pod deletion in the emulator, authenticated with the
ServiceAccount token.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import os
import re
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import httpx
import kmock
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.payloads import crashloop, payload

from .chart import NAMESPACE, REPO, Rendered, render

APPS = "apps-a"
SA_TOKEN = "projected-serviceaccount-token"
PODS = "v1/pods"


@dataclass(frozen=True)
class Pki:
    ca_pem: bytes
    server: ssl.SSLContext


def make_pki(directory: Path) -> Pki:
    """A CA and a server certificate for 127.0.0.1 signed by it (as a cluster's CA is)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = directory / "apiserver.crt", directory / "apiserver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return Pki(ca_pem=ca.public_bytes(serialization.Encoding.PEM), server=server)


@asynccontextmanager
async def serve_tls(emulator: kmock.KubernetesEmulator,
                    context: ssl.SSLContext) -> AsyncIterator[int]:
    """Serve the emulator (an aiohttp low-level handler) over HTTPS; yield its port."""
    runner = aiohttp.web.ServerRunner(aiohttp.web.Server(emulator))
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        server: Any = site._server
        yield int(server.sockets[0].getsockname()[1])
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Pod:
    """The rendered pod's container, its mounts laid out under `root`."""

    def __init__(self, rendered: Rendered, root: Path) -> None:
        self.rendered = rendered
        self.root = root
        spec = rendered.one("Deployment")["spec"]["template"]["spec"]
        [self.container] = spec["containers"]
        self.volumes = {v["name"]: v for v in spec["volumes"]}
        self.mounts = {m["name"]: m["mountPath"] for m in self.container["volumeMounts"]}
        paths = sorted(self.mounts.values(), key=len, reverse=True)
        self._mounted = re.compile("(?<![\\w.-])(" + "|".join(map(re.escape, paths)) + ")(?![\\w.-])")

    def path(self, mount_path: str) -> Path:
        return self.root / mount_path.lstrip("/")

    def lay_out(self, ca_pem: bytes) -> None:
        """Write what the kubelet would mount, volume by volume."""
        for name, mount_path in self.mounts.items():
            target = self.path(mount_path)
            target.mkdir(parents=True, exist_ok=True)
            volume = self.volumes[name]
            if "configMap" in volume:
                data = self._object("ConfigMap", volume["configMap"]["name"])["data"]
                for file, text in data.items():
                    (target / file).write_text(text)
            elif "secret" in volume:
                data = self._object("Secret", volume["secret"]["secretName"])["data"]
                for item in volume["secret"]["items"]:
                    (target / item["path"]).write_bytes(base64.b64decode(data[item["key"]]))
            elif "projected" in volume:
                self._project(volume["projected"]["sources"], target, ca_pem)

    def _project(self, sources: list[dict[str, Any]], target: Path, ca_pem: bytes) -> None:
        for source in sources:
            if "serviceAccountToken" in source:
                (target / source["serviceAccountToken"]["path"]).write_text(SA_TOKEN)
            elif "configMap" in source:
                assert source["configMap"]["name"] == "kube-root-ca.crt"
                (target / source["configMap"]["items"][0]["path"]).write_bytes(ca_pem)
            elif "downwardAPI" in source:
                (target / source["downwardAPI"]["items"][0]["path"]).write_text(NAMESPACE)

    def _object(self, kind: str, name: str) -> dict[str, Any]:
        [found] = [o for o in self.rendered.of_kind(kind) if o["metadata"]["name"] == name]
        return found

    def env(self, **injected: str) -> dict[str, str]:
        """The container's env, paths under mounts moved below the fake root."""
        env = {item["name"]: self._mounted.sub(lambda m: str(self.path(m.group(1))),
                                                item["value"])
               for item in self.container["env"]}
        return {**env, **injected}

    def token(self, key: str) -> str:
        [secret] = self.rendered.of_kind("Secret")
        return base64.b64decode(secret["data"][key]).decode()


async def until(condition: Callable[[], Any], what: str, *, seconds: float = 30.0,
                process: asyncio.subprocess.Process | None = None) -> Any:
    """Poll `condition` until it is truthy; fail naming `what` (and a dead process)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if process is not None and process.returncode is not None:
            raise AssertionError(f"the service exited ({process.returncode}) before {what}")
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_an_alert_becomes_a_pod_deletion_through_the_in_cluster_config(
        tmp_path: Path) -> None:
    rendered = render({"rbac": {"namespaces": [APPS]}, "config": {"logFormat": "console"}})
    pod = Pod(rendered, tmp_path / "pod")
    pki = make_pki(tmp_path)
    pod.lay_out(pki.ca_pem)
    port = free_port()
    log = (tmp_path / "service.log").open("w+")

    async with kmock.KubernetesEmulator() as emulator, serve_tls(emulator, pki.server) as api:
        emulator.objects[PODS, APPS, "web-1"] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": APPS, "resourceVersion": "1"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
        env = pod.env(REMEDIATOR_LISTEN=f"0.0.0.0:{port}", KUBERNETES_SERVICE_HOST="127.0.0.1",
                      KUBERNETES_SERVICE_PORT=str(api), PATH=os.environ["PATH"],
                      PYTHONPATH=str(REPO))
        assert env["REMEDIATOR_KUBERNETES"] == "on"  # no cluster would be a start-up error
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "remediator", *pod.container["args"], env=env,
            cwd=pod.path("/var/lib/remediator"), stdout=log, stderr=log)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                async def ready() -> bool:
                    try:
                        return (await client.get("/-/ready")).status_code == 200
                    except httpx.TransportError:
                        return False

                await until(ready, "/-/ready", seconds=60, process=process)
                delivery = await client.post(
                    "/webhook/alertmanager", json=payload(crashloop("web-1", APPS)),
                    headers={"Authorization": f"Bearer {pod.token('webhook-token')}"})
                assert delivery.status_code == 200, delivery.text

                await until(lambda: emulator.objects[PODS, APPS, "web-1"].deleted,
                            "the pod deletion", process=process)
                api_view = await client.get("/api/v1/status", headers={
                    "Authorization": f"Bearer {pod.token('api-token')}"})
                assert api_view.status_code == 200
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 30)
            log.seek(0)
            output = log.read()
            print(output)  # shown by pytest when the test fails
            log.close()

        [delete] = list(emulator["delete"])
        assert delete.headers["Authorization"] == f"bearer {SA_TOKEN}"
        assert str(delete.url.path) == f"/api/v1/namespaces/{APPS}/pods/web-1"
    # The start-up line says what it loaded: the rules, the database, the cluster.
    assert f"kubernetes https://127.0.0.1:{api};" in output
    files = len(list((REPO / "helm/remediator/files/rules").glob("*.yml")))
    assert re.search(rf"loaded \d+ rules from {files} file\(s\)", output), output
    assert SA_TOKEN not in output
    assert pod.token("webhook-token") not in output
