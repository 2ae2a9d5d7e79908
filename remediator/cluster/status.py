"""What `remediator cluster status` shows: the inventory's nodes joined with the cluster API's.

The join is pure (`node_rows`); reading the API is one small function over the
official client (`api_nodes`), so tests drive it against an emulated API server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

_ROLE_LABEL = "node-role.kubernetes.io/"
GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True, kw_only=True)
class ApiNode:
    """The parts of a Kubernetes Node that status shows."""

    name: str
    ready: bool
    version: str
    roles: tuple[str, ...] = ()
    gpus: int = 0
    unschedulable: bool = False


@dataclass(frozen=True, kw_only=True)
class NodeRow:
    """One line of the status table; `None` where the cluster API was not asked."""

    name: str
    role: str
    address: str
    gpu_wanted: bool
    in_inventory: bool = True
    in_cluster: bool | None = None
    ready: bool | None = None
    version: str | None = None
    gpus: int | None = None
    cordoned: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def api_node(raw: Mapping[str, Any]) -> ApiNode:
    """An ApiNode from a Node as a dict (the client's `to_dict()` or the API's JSON)."""
    metadata = raw.get("metadata") or {}
    status = raw.get("status") or {}
    spec = raw.get("spec") or {}
    labels = metadata.get("labels") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    info = status.get("node_info") or status.get("nodeInfo") or {}
    version = info.get("kubelet_version") or info.get("kubeletVersion") or ""
    allocatable = status.get("allocatable") or {}
    try:
        gpus = int(str(allocatable.get(GPU_RESOURCE, "0")))
    except ValueError:
        gpus = 0
    roles = tuple(sorted(key.removeprefix(_ROLE_LABEL) for key in labels
                         if key.startswith(_ROLE_LABEL)))
    return ApiNode(name=str(metadata.get("name", "")), ready=ready, version=str(version),
                   roles=roles, gpus=gpus, unschedulable=bool(spec.get("unschedulable")))


def inventory_nodes(hosts: Mapping[str, Mapping[str, Any]],
                    roles: Mapping[str, str]) -> list[NodeRow]:
    """Rows for the inventory's nodes (`roles`: host -> server/agent)."""
    return [NodeRow(name=name, role=roles.get(name, "?"),
                    address=str(hosts[name].get("ansible_host", "")),
                    gpu_wanted=bool(hosts[name].get("k3s_gpu", False)))
            for name in hosts if name in roles]


def node_rows(inventory: Sequence[NodeRow], cluster: Sequence[ApiNode] | None) -> list[NodeRow]:
    """The inventory rows completed from the API; nodes only the API knows come last."""
    if cluster is None:
        return list(inventory)
    by_name = {node.name: node for node in cluster}
    rows = []
    for row in inventory:
        node = by_name.pop(row.name, None)
        if node is None:
            rows.append(_replace(row, in_cluster=False))
        else:
            rows.append(_replace(row, in_cluster=True, ready=node.ready, version=node.version,
                                 gpus=node.gpus, cordoned=node.unschedulable))
    for node in sorted(by_name.values(), key=lambda n: n.name):
        role = "server" if {"control-plane", "master"} & set(node.roles) else "agent"
        rows.append(NodeRow(name=node.name, role=role, address="", gpu_wanted=False,
                            in_inventory=False, in_cluster=True, ready=node.ready,
                            version=node.version, gpus=node.gpus, cordoned=node.unschedulable))
    return rows


def row_notes(row: NodeRow) -> list[str]:
    """What needs an operator's attention on this node."""
    notes = []
    if not row.in_inventory:
        notes.append("not in the inventory")
    if row.in_cluster is False:
        notes.append("not in the cluster")
    if row.cordoned:
        notes.append("cordoned")
    if row.gpu_wanted and row.gpus == 0:
        notes.append("k3s_gpu set, no nvidia.com/gpu")
    return notes


def _gpu_cell(row: NodeRow) -> str:
    if row.gpus:
        return str(row.gpus)
    return "wanted" if row.gpu_wanted else "-"


def _ready_cell(row: NodeRow) -> str:
    if row.ready is None:
        return "-"
    return "[green]Ready[/]" if row.ready else "[bold red]NotReady[/]"


def status_table(rows: Sequence[NodeRow], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("node", "role", "tailscale ip", "version", "ready", "gpu", "notes"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, row.role, row.address or "-", row.version or "-",
                      _ready_cell(row), _gpu_cell(row), ", ".join(row_notes(row)))
    return table


def _replace(row: NodeRow, **changes: Any) -> NodeRow:
    return NodeRow(**{**row.to_json(), **changes})


class ApiUnavailable(Exception):
    """The cluster API could not be asked (bad kubeconfig, no answer, refused)."""


def api_nodes(kubeconfig: Path, timeout: float = 15.0) -> list[ApiNode]:
    """The cluster's nodes through the official client and `kubeconfig`."""
    from kubernetes import client, config
    from urllib3.exceptions import HTTPError

    try:
        api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError, ValueError, TypeError) as error:
        raise ApiUnavailable(f"unusable kubeconfig: {error}") from None
    try:
        # The raw JSON, not the client's models: a node list is read, not validated
        # field by field (a missing nodeInfo field must not hide every node).
        response: Any = client.CoreV1Api(api).list_node(_request_timeout=timeout,
                                                        _preload_content=False)
        listed = json.loads(response.data)
        return [api_node(item) for item in listed.get("items") or []]
    except (client.ApiException, HTTPError, OSError, ValueError) as error:
        raise ApiUnavailable(str(error).splitlines()[0] if str(error) else repr(error)) from None
    finally:
        api.close()


def read_cluster(kubeconfig: Path | None) -> tuple[list[ApiNode] | None, str]:
    """The cluster API's nodes (None when it cannot be asked) and a note on where from.

    `kubeconfig` defaults to ~/.kube/k3s.yaml, the file site.yml writes.
    """
    config = kubeconfig or Path.home() / ".kube" / "k3s.yaml"
    if not config.is_file():
        return None, f"no kubeconfig at {config}: inventory only"
    try:
        return api_nodes(config), f"cluster API via {config}"
    except ApiUnavailable as error:
        return None, f"cluster API not reachable via {config}: {str(error)[:200]}"
