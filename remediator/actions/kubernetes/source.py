"""Where the Kubernetes configuration comes from, decided without importing the client.

Two code paths ask this question: the service's start-up (should it pay a
second and 30 MB to import the client at all?) and the client adapter
(`kube_client.load_api_client`). Both call `find_kube_source`, so a
`KUBECONFIG=~/kc` or an in-cluster ServiceAccount is seen the same way by
both: kubectl's conventions, with `~` expanded from the given environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Where the kubelet mounts a pod's ServiceAccount token, CA and namespace.
SERVICEACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Overrides SERVICEACCOUNT_DIR, e.g. for a projected token volume mounted elsewhere.
SERVICEACCOUNT_DIR_ENV = "REMEDIATOR_KUBE_SERVICEACCOUNT_DIR"


@dataclass(frozen=True, kw_only=True)
class KubeConfigFiles:
    """Kubeconfig files to load, as an os.pathsep-joined list of existing paths."""

    paths: str

    def __str__(self) -> str:
        return self.paths


@dataclass(frozen=True, kw_only=True)
class InCluster:
    """A pod's ServiceAccount: the API server from KUBERNETES_SERVICE_HOST/PORT."""

    host: str
    port: str
    serviceaccount_dir: Path

    @property
    def token_file(self) -> Path:
        return self.serviceaccount_dir / "token"

    @property
    def ca_file(self) -> Path:
        return self.serviceaccount_dir / "ca.crt"

    def __str__(self) -> str:
        return f"in-cluster ServiceAccount ({self.serviceaccount_dir}, API {self.host}:{self.port})"


KubeSource = KubeConfigFiles | InCluster


class KubeConfigError(RuntimeError):
    """No usable Kubernetes configuration where one was required.

    Defined here, not in the client adapter, so that start-up can raise and
    catch it without importing the client.
    """


NO_CONFIGURATION = ("no Kubernetes configuration found: set KUBECONFIG, create ~/.kube/config, "
                    "or run in a pod with a ServiceAccount (KUBERNETES_SERVICE_HOST)")


def find_kube_source(environ: Mapping[str, str] | None = None) -> KubeSource | None:
    """KUBECONFIG (or ~/.kube/config) if a file exists, else the in-cluster account, else None.

    A KUBECONFIG that names only missing files falls through, as with
    kubectl. `~` expands from the environment's HOME; an environment
    without HOME (a container whose uid has no passwd entry) has no
    ~/.kube/config rather than an error.
    """
    env = os.environ if environ is None else environ
    paths = kubeconfig_paths(env)
    existing = [str(path) for path in paths if path.is_file()]
    if existing:
        return KubeConfigFiles(paths=os.pathsep.join(existing))
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    if host:
        directory = env.get(SERVICEACCOUNT_DIR_ENV) or str(SERVICEACCOUNT_DIR)
        return InCluster(host=host, port=env.get("KUBERNETES_SERVICE_PORT", ""),
                         serviceaccount_dir=Path(directory))
    return None


def kubeconfig_paths(env: Mapping[str, str]) -> list[Path]:
    """The kubeconfig paths kubectl would consider, `~` expanded from `env`."""
    listed = env.get("KUBECONFIG", "")
    if listed:
        return [_expand(item, env) for item in listed.split(os.pathsep) if item]
    home = env.get("HOME")
    return [Path(home, ".kube", "config")] if home else []


def _expand(path: str, env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    if home and (path == "~" or path.startswith("~/")):
        return Path(home, path[2:])
    return Path(path)
