"""The Kubernetes actions for `serve`: configuration checked now, client imported later.

Importing and configuring the official client costs seconds (issue 11:
start-up < 1 s with a kubeconfig). `deferred_kubernetes` reads the
configuration without it (`kube_peek`: a broken kubeconfig is still one
line at start-up) and returns a `DeferredActions` that imports the client,
loads the same configuration and builds every Kubernetes action in a
background thread, which the web app starts once it serves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from remediator.actions.deferred import DeferredActions
from remediator.actions.kubernetes.peek import api_server
from remediator.actions.kubernetes.source import NO_CONFIGURATION, KubeConfigError, find_kube_source
from remediator.actions.kubernetes.target_check import EXISTS_ACTION
from remediator.evidence.limits import SNAPSHOT_ACTION
from remediator.evidence.ownership import GITOPS_OWNER_ACTION, GITOPS_SUSPEND_ACTION
from remediator.model.abc import Action

# Every type `kubernetes.kubernetes_actions` builds (a test holds them equal), named
# here without importing the client.
KUBERNETES_ACTION_TYPES = frozenset({
    "kubernetes.delete_pod", "kubernetes.rollout_restart", "kubernetes.scale",
    "kubernetes.hpa_patch", "kubernetes.hpa_revert", "kubernetes.rollout_undo",
    SNAPSHOT_ACTION, EXISTS_ACTION, GITOPS_OWNER_ACTION, GITOPS_SUSPEND_ACTION,
})


def deferred_kubernetes(mode: str, *, environ: Mapping[str, str] | None = None,
                        evidence_readers: int = 4) -> tuple[DeferredActions | None, str]:
    """The deferred Kubernetes actions and their API server, or (None, "none").

    Same contract as `kube_client.load_api_client`: "off" loads nothing,
    "auto" runs without Kubernetes when no configuration is found, "on"
    requires one; a configuration that is present but broken raises
    KubeConfigError in both.
    """
    if mode not in {"off", "auto", "on"}:
        raise ValueError(f"kubernetes mode must be 'off', 'auto' or 'on', not {mode!r}")
    if mode == "off":
        return None, "none"
    env = dict(os.environ if environ is None else environ)
    source = find_kube_source(env)
    if source is None:
        if mode == "on":
            raise KubeConfigError(NO_CONFIGURATION)
        return None, "none"
    server = api_server(source)

    def build() -> Mapping[str, Action]:
        from remediator.actions.kubernetes import actions as kubernetes

        client = kubernetes.load_api_client(mode, environ=env)
        if client is None:  # the configuration vanished between the peek and the load
            raise KubeConfigError(NO_CONFIGURATION)
        return kubernetes.kubernetes_actions(client, evidence_readers=evidence_readers)

    return DeferredActions(KUBERNETES_ACTION_TYPES, build, name="the Kubernetes client"), server
