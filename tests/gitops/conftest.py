"""Real git repositories for the proposal tests: a bare repository on disk and one
served by `git daemon` on loopback, seeded with a Kustomize base and overlay."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from remediator.gitops.proposals import GitSource, ObjectRef, Proposer
from remediator.gitops.settings import GitopsSettings

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="needs Debian's git")

KUSTOMIZATION_BASE = """\
# the shop's base
resources:
  - deployment.yaml
"""
DEPLOYMENT = """\
# Service and Deployment of the web shop
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80   # http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2  # base default
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: app
          image: "registry.local/shop/web:1.0"   # pinned by release
          ports:
            - containerPort: 8080
        - name: sidecar
          image: registry.local/proxy:2.3
"""
KUSTOMIZATION_PROD = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop   # everything of prod lives here
resources:
  - ../../base
patches:
  - path: replicas.yaml
"""
REPLICAS_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  # prod needs more
  replicas: 5
"""
VALUES = """\
# chart values
web:
  image:
    tag: "1.0"
  replicaCount: 3 # per zone
"""


def git(cwd: Path, *args: str) -> str:
    """Run real git (identity fixed) and return stdout."""
    done = subprocess.run(
        [GIT or "git", "-c", "user.name=dev", "-c", "user.email=dev@example.org",
         "-c", "init.defaultBranch=main", *args],
        cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


@dataclass
class Upstream:
    """A bare repository and a work clone to make history in."""

    bare: Path
    work: Path
    url: str

    def commit(self, message: str, files: dict[str, str]) -> str:
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-qm", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def show(self, ref: str, path: str) -> bytes:
        return subprocess.run([GIT or "git", "show", f"{ref}:{path}"], cwd=self.bare,
                              check=True, capture_output=True).stdout

    def branches(self) -> list[str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return sorted(out.split())


def _seed(root: Path) -> Upstream:
    root.mkdir(parents=True, exist_ok=True)
    bare, work = root / "team" / "shop.git", root / "work"
    git(root, "init", "-q", "--bare", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    upstream = Upstream(bare, work, str(bare))
    upstream.commit("shop: base and prod overlay", {
        "apps/shop/base/kustomization.yaml": KUSTOMIZATION_BASE,
        "apps/shop/base/deployment.yaml": DEPLOYMENT,
        "apps/shop/overlays/prod/kustomization.yaml": KUSTOMIZATION_PROD,
        "apps/shop/overlays/prod/replicas.yaml": REPLICAS_PATCH,
        "charts/shop/values.yaml": VALUES,
    })
    git(bare, "symbolic-ref", "HEAD", "refs/heads/main")
    return upstream


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """The seeded repository, reached as a local path."""
    return _seed(tmp_path / "remote")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def daemon_upstream(tmp_path: Path) -> Iterator[Upstream]:
    """The seeded repository served by `git daemon` (push enabled) on loopback."""
    upstream = _seed(tmp_path / "remote")
    port = _free_port()
    base = upstream.bare.parent.parent
    process = subprocess.Popen(
        [GIT or "git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         "--export-all", "--enable=receive-pack", f"--base-path={base}", str(base)],
        stderr=subprocess.DEVNULL)
    _wait_for_port(port, process)
    upstream.url = f"git://127.0.0.1:{port}/team/shop.git"
    yield upstream
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def proposer(tmp_path: Path) -> Proposer:
    """A proposer without a forge (branches are pushed only)."""
    return Proposer(GitopsSettings(), state_dir=tmp_path / "state")


def source(upstream: Upstream, path: str = "apps/shop/overlays/prod") -> GitSource:
    """The Argo CD-like source of the shop."""
    return GitSource(repo_url=upstream.url, path=path, target_revision="main")


WEB = ObjectRef(kind="Deployment", name="web", namespace="shop")


SSHD = Path("/usr/sbin/sshd")


@dataclass
class SshServer:
    """sshd on loopback that accepts one client key; git runs over it."""

    port: int
    client_key: Path
    known_hosts_line: str


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """A real OpenSSH server on a free loopback port (skipped without openssh-server)."""
    if not SSHD.exists() or GIT is None:
        pytest.skip("needs Debian's openssh-server")
    root = tmp_path / "sshd"
    root.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)],
                       check=True)
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"PidFile {root / 'pid'}\nPermitRootLogin prohibit-password\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                               stderr=subprocess.DEVNULL)
    _wait_for_port(port, process)
    kind, key = (root / "host.pub").read_text().split()[:2]
    yield SshServer(port, root / "client", f"[127.0.0.1]:{port} {kind} {key}\n")
    process.terminate()
    process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"server on port {port} did not start") from None
            time.sleep(0.02)
