"""What start-up can tell about a Kubernetes configuration without importing the client.

Importing the official client takes seconds, so the service loads it in the
background once it serves (`kube_deferred`). An operator must still see a
broken kubeconfig as one line at start-up, before anything is served: this
module reads the configuration the way the client's loader will (files merged
in KUBECONFIG order, the first cluster/context/user of a name wins, the last
`current-context` wins; relative file paths resolve against the file that
names them) and refuses what the loader would refuse: unreadable or empty
files, no current context, a context or cluster that is not defined, a
certificate or token file that does not exist, an in-cluster account without
its token. Anything subtler (an exec plugin that fails) is reported by the
background load, with the same message, and stops the service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from remediator.actions.kubernetes.source import (
    InCluster,
    KubeConfigError,
    KubeConfigFiles,
    KubeSource,
)

# A file key and the inline key that takes precedence over it, as the client reads them.
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}
_CERT_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}
_TOKEN_FILE = {"tokenFile": "token"}


def api_server(source: KubeSource) -> str:
    """The API server URL the client will use; KubeConfigError when it would refuse."""
    try:
        if isinstance(source, InCluster):
            return _in_cluster(source)
        return _kubeconfig(source)
    except KubeConfigError as error:
        raise KubeConfigError(f"cannot load Kubernetes configuration from {source}: "
                              f"{error}") from None


def _in_cluster(source: InCluster) -> str:
    if not source.host or not source.port:
        raise KubeConfigError("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
    for path in (source.token_file, source.ca_file):
        if not path.is_file():
            raise KubeConfigError(f"{path} does not exist")
    host = f"[{source.host}]" if ":" in source.host else source.host
    return f"https://{host}:{source.port}"


class _Named:
    """One kind of named entry (clusters, contexts, users) over all files: first wins."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[Mapping[str, Any], Path]] = {}

    def add(self, items: Any, path: Path, key: str) -> None:
        for item in items or []:
            if isinstance(item, Mapping) and "name" in item:
                body = item.get(key) or {}
                self.entries.setdefault(str(item["name"]), (body, path))


def _kubeconfig(source: KubeConfigFiles) -> str:
    clusters, contexts, users = _Named(), _Named(), _Named()
    current: str | None = None
    for name in source.paths.split(os.pathsep):
        path = Path(name)
        config = _read(path)
        clusters.add(config.get("clusters"), path, "cluster")
        contexts.add(config.get("contexts"), path, "context")
        users.add(config.get("users"), path, "user")
        if "current-context" in config:
            current = config["current-context"]
    if not current:
        raise KubeConfigError("no current-context is set")
    if current not in contexts.entries:
        raise KubeConfigError(f"context {current!r} is not defined")
    context = contexts.entries[current][0]
    cluster_name = context.get("cluster")
    if cluster_name not in clusters.entries:
        raise KubeConfigError(f"cluster {cluster_name!r} of context {current!r} is not defined")
    cluster, cluster_file = clusters.entries[cluster_name]
    server = str(cluster.get("server") or "").rstrip("/")
    user = users.entries.get(str(context.get("user")))
    if server.startswith("https"):
        _files_exist(cluster, cluster_file, _CLUSTER_FILES)
        if user is not None:
            _files_exist(user[0], cluster_file, _CERT_FILES)
    if user is not None and "auth-provider" not in user[0]:
        _files_exist(user[0], user[1], _TOKEN_FILE)
    return server


def _read(path: Path) -> Mapping[str, Any]:
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise KubeConfigError(f"{path}: {type(error).__name__}: {' '.join(str(error).split())}"
                              ) from None
    if not isinstance(config, Mapping):
        raise KubeConfigError(f"{path} is empty or not a kubeconfig")
    return config


def _files_exist(entry: Mapping[str, Any], base: Path, keys: Mapping[str, str]) -> None:
    """The client resolves relative paths against the directory of the file that names them
    (for client certificates: the cluster's file); inline data wins over a file."""
    for key, inline in keys.items():
        if entry.get(key) and inline not in entry:
            path = Path(os.path.normpath(base.parent / str(entry[key])))
            if not path.is_file():
                raise KubeConfigError(f"{key} file {path} does not exist")
