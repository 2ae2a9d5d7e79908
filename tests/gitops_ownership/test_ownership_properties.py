"""Whatever the labels and annotations say (they are untrusted), the walk answers.

`read_ownership` over a dict of API paths: any marker value, any mix of
controller objects present, missing or unreadable gives an `Ownership`
(never an exception), and a managed answer always names its app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from remediator.evidence.ownership import (
    ARGO_APPS,
    KUSTOMIZATIONS,
    Ownership,
    Unreadable,
    read_ownership,
)

MARKERS = ["argocd.argoproj.io/tracking-id", "app.kubernetes.io/instance",
           "kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace",
           "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace", "app"]
values = st.text(min_size=0, max_size=40)
markers = st.dictionaries(st.sampled_from(MARKERS), values, max_size=4)
answer = st.sampled_from(["present", "missing", "forbidden"])
DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/web"


@given(labels=markers, annotations=markers, argo=answer, flux=answer)
def test_any_markers_give_an_answer(labels: dict[str, str], annotations: dict[str, str],
                                    argo: str, flux: str) -> None:
    target = {"metadata": {"name": "web", "labels": labels, "annotations": annotations},
              "spec": {"replicas": 2}}

    asked: list[str] = []

    def get(path: str) -> Mapping[str, Any] | None:
        asked.append(path)
        if path == DEPLOYMENT:
            return target
        kind = argo if path.startswith(ARGO_APPS.split("{")[0]) else flux
        if kind == "forbidden":
            raise Unreadable(403, f"HTTP 403 on GET {path}")
        if kind == "missing":
            return None
        return {"spec": {"source": {"repoURL": "https://git.example/x.git", "path": "a"},
                         "sourceRef": {"kind": "GitRepository", "name": "r"},
                         "chart": {"spec": {"sourceRef": {"kind": "HelmRepository"}}}}}

    found = read_ownership(get, "deployment", "shop", "web")
    assert isinstance(found, Ownership)
    if found.managed:
        assert found.app and found.app_kind in {"Application", "Kustomization", "HelmRelease"}
    if not found.managed and not found.unknown:
        assert found.repo is None
    assert found.live == {"replicas": 2}
    Ownership.from_json(found.to_json())  # the evidence section reads back
    for path in asked:  # untrusted values never shape a path: names only, no list reads
        segments = path.split("/")
        assert all(NAME.match(part) for part in segments[-3::2]), path
        assert segments[-2] in PLURALS, path


NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
PLURALS = {"deployments", "applications", "kustomizations", "helmreleases", "gitrepositories"}


def test_kustomization_path_names_flux() -> None:
    assert KUSTOMIZATIONS.startswith("/apis/kustomize.toolkit.fluxcd.io/v1/")
