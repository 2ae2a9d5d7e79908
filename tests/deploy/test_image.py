"""The container image: built by scripts/image, run with `buildah run --isolation chroot`.

There is no container engine here; buildah's chroot isolation runs the
image's filesystem and user on the host's network, which is enough to see
the service start as its non-root user, answer `/-/ready`, and decide a real
Alertmanager delivery. The base root filesystem is cached (see
scripts/image), so after the first build this costs well under a minute.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.payloads import crashloop, payload

from .chart import REPO

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
TAG = f"localhost/remediator:{VERSION}"
WEBHOOK_TOKEN = "image-test-webhook-token"
API_TOKEN = "image-test-api-token"
UID = 65532

pytestmark = pytest.mark.slow


def buildah(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(["buildah", *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"buildah {' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """Build the image once for this module; the build's own summary line is kept."""
    started = time.monotonic()
    result = subprocess.run([str(REPO / "scripts" / "image")], cwd=REPO, capture_output=True,
                            text=True, timeout=1800, check=False,
                            env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr[-4000:]
    summary = result.stdout.strip().splitlines()[-1]
    print(f"{summary} (test saw {time.monotonic() - started:.0f}s)")
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", TAG))
    return {"summary": summary, "config": config}


@pytest.fixture
def container(built: dict[str, Any]) -> Iterator[str]:
    name = buildah("from", "--quiet", TAG).strip()
    yield name
    buildah("rm", name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_image_metadata(built: dict[str, Any]) -> None:
    config = built["config"]["OCIv1"]["config"]
    labels = config["Labels"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["remediator"]
    assert config["Cmd"] == ["serve"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.source"].startswith("https://")
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=False).stdout.strip() or "unknown"
    assert labels["org.opencontainers.image.revision"] == revision
    assert "REMEDIATOR_LISTEN=0.0.0.0:9095" in config["Env"]
    assert "size" in built["summary"] or "uncompressed" in built["summary"]


def test_archive_and_sbom_are_written(built: dict[str, Any]) -> None:
    archive = REPO / "dist" / f"remediator-{VERSION}.oci.tar"
    sbom = json.loads((REPO / "dist" / f"remediator-{VERSION}.cdx.json").read_text())
    names = {component["name"].lower() for component in sbom["components"]}
    assert archive.stat().st_size > 10_000_000
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "remediator"
    assert {"fastapi", "kubernetes", "sqlalchemy", "ansible-core"} <= names
    assert "pip" not in names
    debian = {c["name"]: c for c in sbom["components"]
              if c.get("purl", "").startswith("pkg:deb/debian/")}
    assert {"python3", "ca-certificates", "tzdata", "libc6"} <= set(debian)
    assert "arch=" in debian["libc6"]["purl"]
    assert any(c["type"] == "operating-system" for c in sbom["components"])


def test_the_runtime_holds_no_compiler_package_manager_or_cache(container: str) -> None:
    root = Path(buildah("mount", container).strip())
    try:
        for tool in ("usr/bin/gcc", "usr/bin/cc", "usr/bin/apt-get", "opt/remediator/bin/pip"):
            assert not (root / tool).exists(), tool
        caches = [p for d in ("var/cache", "var/lib/apt", "root/.cache")
                  for p in (root / d).rglob("*") if p.is_file()]
        assert caches == []
        assert not list((root / "opt/remediator/lib").glob("python3*/site-packages/pip"))
        data = (root / "var/lib/remediator").stat()
        assert (data.st_uid, data.st_gid) == (UID, UID)
    finally:
        buildah("umount", container)


def test_the_service_runs_as_non_root_and_decides_an_alert(container: str) -> None:
    port = free_port()
    for setting in (f"REMEDIATOR_LISTEN=127.0.0.1:{port}", f"REMEDIATOR_WEBHOOK_TOKEN={WEBHOOK_TOKEN}",
                    f"REMEDIATOR_API_TOKEN={API_TOKEN}", "REMEDIATOR_LOG_FORMAT=console"):
        buildah("config", "--env", setting, container)
    assert buildah("run", "--isolation", "chroot", container, "--",
                   "python3", "-c", "import os; print(os.getuid(), os.getgid())").split() == [
        str(UID), str(UID)]

    # `timeout` inside the image bounds the service even if this test dies.
    process = subprocess.Popen(
        ["buildah", "run", "--isolation", "chroot", container, "--",
         "timeout", "300", "remediator", "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            _wait_ready(client, process)
            delivery = client.post("/webhook/alertmanager", json=payload(crashloop()),
                                   headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
            assert delivery.status_code == 200, delivery.text
            audit = client.get("/api/v1/audit", params={"alertname": "KubePodCrashLooping"},
                               headers={"Authorization": f"Bearer {API_TOKEN}"}).json()
    finally:
        _stop_session(process.pid)
        output, _ = process.communicate(timeout=60)
    print(output)
    outcomes = {item["outcome"] for item in audit["items"]}
    # No cluster inside the image: the decision is recorded as a dry-run.
    assert "dry_run" in outcomes, audit
    assert WEBHOOK_TOKEN not in output
    assert "remediator.db; kubernetes none;" in output  # the start-up line: no cluster here
    assert _written_by_the_service(container) <= {"tmp", "var/lib/remediator"}


def _written_by_the_service(container: str) -> set[str]:
    """Where the files the service's user owns are: a read-only root would allow no more."""
    root = Path(buildah("mount", container).strip())
    try:
        owned = {path.relative_to(root) for path in root.rglob("*")
                 if not path.is_symlink() and path.stat().st_uid == UID}
    finally:
        buildah("umount", container)
    assert Path("var/lib/remediator/remediator.db") in owned
    return {_area(path) for path in owned}


def _area(path: Path) -> str:
    if path.parts[:1] == ("tmp",):
        return "tmp"
    if path.parts[:3] == ("var", "lib", "remediator"):
        return "var/lib/remediator"
    return str(path)


def _session(sid: int) -> list[int]:
    """Processes of session `sid`: buildah's chroot child leaves its process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # zombies are gone, just unreaped
            members.append(int(stat.parent.name))
    return members


def _stop_session(sid: int) -> None:
    """SIGTERM every process this test started (one session), SIGKILL what lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _session(sid):
            time.sleep(0.1)
        if not _session(sid):
            return
    raise AssertionError(f"processes of session {sid} survived SIGKILL")


def _wait_ready(client: httpx.Client, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited: {process.communicate()[0]}"
        try:
            if client.get("/-/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service in the image never answered /-/ready")
