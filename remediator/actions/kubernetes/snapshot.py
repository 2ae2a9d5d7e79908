"""Gather one evidence snapshot of an action's target, within a budget and a size cap.

For a pod: phase and conditions, container states and last terminations,
the previous containers' last log lines (redacted), recent events, the owner
chain up to the Deployment with its revision and rollout time, and the
node's conditions. For a Deployment, StatefulSet, DaemonSet or HPA: its spec
and status in brief, its events, and (Deployments) the rollout history.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient

from remediator.actions.kubernetes.client import Operation
from remediator.actions.kubernetes.reader import KubeReader
from remediator.evidence import revisions, summary
from remediator.evidence.budget import Gathering
from remediator.evidence.limits import Limits
from remediator.evidence.redact import redact_lines
from remediator.model.actions import ActionError, ActionRequest, ActionResult

VERSION = 1
_WORKLOADS = {"deployment": "deployments", "statefulset": "statefulsets",
              "daemonset": "daemonsets"}
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}


class SnapshotAction:
    """`kubernetes.snapshot`: read-only; its result's detail is the evidence document.

    Registered with the other Kubernetes actions so that it shares their
    client; it never raises for its target (failures are inside the document),
    only for a malformed request.
    """

    def __init__(self, api_client: ApiClient, *, workers: int = 4) -> None:
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evidence")
        weakref.finalize(self, executor.shutdown, wait=False)
        self._reader = KubeReader(api_client, executor)

    async def run(self, request: ActionRequest) -> ActionResult:
        try:
            limits = Limits.from_params(request.params)
        except (TypeError, ValueError) as error:  # a malformed request: the Action contract
            raise ActionError(f"invalid evidence limits: {error}") from None
        document = await gather(self._reader, request, limits)
        return ActionResult(message=f"evidence for {request.target}", detail=document)


async def gather(reader: KubeReader, request: ActionRequest, limits: Limits) -> dict[str, Any]:
    gathering = Gathering(limits.budget)
    namespace = request.namespace or ""
    if request.kind == "pod":
        work = _pod(reader, gathering, namespace, request.name, limits)
    elif request.kind in _WORKLOADS:
        work = _workload(reader, gathering, request.kind, namespace, request.name)
    elif request.kind == "hpa":
        work = _hpa(reader, gathering, namespace, request.name)
    else:
        work = _nothing()
    await gathering.run(work)
    document = {"version": VERSION, "target": request.target, "kind": request.kind,
                "gathered_at": datetime.now(UTC).isoformat(),
                "elapsed_ms": gathering.elapsed_ms(), "budget_s": limits.budget,
                **gathering.document, "errors": gathering.errors}
    return cap(document, limits.max_bytes)


async def _nothing() -> None:
    return None


def _op(verb: str, resource: str, namespace: str, name: str) -> Operation:
    return Operation(verb=verb, resource=resource, namespace=namespace, name=name)


async def _pod(reader: KubeReader, g: Gathering, namespace: str, name: str,
               limits: Limits) -> None:
    async def rest() -> None:
        obj = await g.section("pod", reader.read(
            g, _op("get", "pods", namespace, name),
            lambda t: reader.core.read_namespaced_pod(name, namespace, _request_timeout=t,
                                                      _preload_content=False)))
        if obj is None:
            return
        g.document["pod"] = summary.pod(obj)
        g.document["containers"] = summary.containers(obj.get("status") or {})
        parts = [_logs(reader, g, namespace, name, obj, limits.log_lines),
                 _owners(reader, g, namespace, obj)]
        node_name = (obj.get("spec") or {}).get("nodeName")
        if node_name:
            parts.append(_node(reader, g, node_name))
        await asyncio.gather(*parts)

    await asyncio.gather(_events(reader, g, namespace, "Pod", name), rest())


async def _events(reader: KubeReader, g: Gathering, namespace: str, kind: str,
                  name: str) -> None:
    found = await g.section("events", reader.read(
        g, _op("list", "events", namespace, name), lambda t: (
            reader.core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name}",
                _request_timeout=t, _preload_content=False))))
    if found is not None:
        g.document["events"] = summary.events(found.get("items") or [], kind=kind, name=name)


async def _logs(reader: KubeReader, g: Gathering, namespace: str, name: str,
                obj: dict[str, Any], lines: int) -> None:
    """The previous container's last lines, for each container that has restarted."""
    status = obj.get("status") or {}
    restarted = [c.get("name") for c in status.get("containerStatuses") or []
                 if c.get("restartCount") or (c.get("lastState") or {}).get("terminated")]
    if lines <= 0 or not restarted:
        return
    logs: dict[str, list[str]] = {}
    g.document["previous_logs"] = logs

    async def one(container: str) -> None:
        text = await g.section(f"previous_logs.{container}", reader.read(
            g, _op("get", "pods/log", namespace, name), lambda t: (
                reader.core.read_namespaced_pod_log(
                    name, namespace, container=container, previous=True, tail_lines=lines,
                    limit_bytes=lines * 512, _request_timeout=t, _preload_content=False))))
        if isinstance(text, str):
            # Off the event loop: a full log costs ~2 ms per KB to redact, and the
            # webhook shares the loop.
            logs[container] = await asyncio.to_thread(redact_lines, text, last=lines)

    await asyncio.gather(*(one(str(c)) for c in restarted))


async def _owners(reader: KubeReader, g: Gathering, namespace: str,
                  obj: dict[str, Any]) -> None:
    """Pod -> ReplicaSet -> Deployment, with the Deployment's revisions."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    owner = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if owner is None:
        return
    chain: list[dict[str, Any]] = [{"kind": owner.get("kind"), "name": owner.get("name")}]
    g.document["owners"] = chain
    if owner.get("kind") != "ReplicaSet":
        return
    rs_name = str(owner.get("name"))
    rs = await g.section("owners", reader.read(
        g, _op("get", "replicasets", namespace, rs_name), lambda t: (
            reader.apps.read_namespaced_replica_set(rs_name, namespace, _request_timeout=t,
                                                    _preload_content=False))))
    if rs is None:
        return
    chain[0]["revision"] = revisions.revision_of(rs)
    parent = next((r for r in (rs.get("metadata") or {}).get("ownerReferences") or []
                   if r.get("kind") == "Deployment"), None)
    if parent is not None:
        chain.append({"kind": "Deployment", "name": parent.get("name")})
        await _deployment(reader, g, namespace, str(parent.get("name")))


async def _deployment(reader: KubeReader, g: Gathering, namespace: str, name: str,
                      obj: dict[str, Any] | None = None) -> None:
    """`rollout`: the Deployment's current revision, when it rolled out, the previous one."""
    if obj is None:
        obj = await g.section("rollout", reader.read(
            g, _op("get", "deployments", namespace, name), lambda t: (
                reader.apps.read_namespaced_deployment(name, namespace, _request_timeout=t,
                                                       _preload_content=False))))
        if obj is None:
            return
    listed = await g.section("rollout", reader.replicasets(g, namespace, obj))
    if listed is None:
        return
    history = revisions.history(obj, listed)
    current, previous = revisions.current_and_previous(obj, history)
    g.document["rollout"] = summary.rollout(obj, current, previous)


async def _node(reader: KubeReader, g: Gathering, name: str) -> None:
    obj = await g.section("node", reader.read(g, _op("get", "nodes", "", name), lambda t: (
        reader.core.read_node(name, _request_timeout=t, _preload_content=False))))
    if obj is not None:
        g.document["node"] = summary.node(obj)


async def _workload(reader: KubeReader, g: Gathering, kind: str, namespace: str,
                    name: str) -> None:
    apps = reader.apps
    readers = {"deployment": apps.read_namespaced_deployment,
               "statefulset": apps.read_namespaced_stateful_set,
               "daemonset": apps.read_namespaced_daemon_set}
    read = readers[kind]

    async def rest() -> None:
        obj = await g.section("workload", reader.read(
            g, _op("get", _WORKLOADS[kind], namespace, name),
            lambda t: read(name, namespace, _request_timeout=t, _preload_content=False)))
        if obj is not None:
            g.document["workload"] = summary.workload(obj)
            if kind == "deployment":
                await _deployment(reader, g, namespace, name, obj)

    await asyncio.gather(_events(reader, g, namespace, _KINDS[kind], name), rest())


async def _hpa(reader: KubeReader, g: Gathering, namespace: str, name: str) -> None:
    async def rest() -> None:
        obj = await g.section("hpa", reader.read(
            g, _op("get", "horizontalpodautoscalers", namespace, name), lambda t: (
                reader.autoscaling.read_namespaced_horizontal_pod_autoscaler(
                    name, namespace, _request_timeout=t, _preload_content=False))))
        if obj is not None:
            g.document["hpa"] = summary.hpa(obj)

    await asyncio.gather(_events(reader, g, namespace, "HorizontalPodAutoscaler", name),
                         rest())


def size_of(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), default=str).encode())


def cap(document: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Shrink a document to `max_bytes`: fewer log lines and events, then whole sections.

    What was cut is named in `truncated`, so a reader knows the evidence is partial.
    """
    if size_of(document) <= max_bytes:
        return document
    doc = dict(document)
    cut: list[str] = []
    doc["truncated"] = cut
    logs = {k: list(v) for k, v in (doc.get("previous_logs") or {}).items()}
    events = list(doc.get("events") or [])
    while (any(logs.values()) or events) and size_of(
            {**doc, "previous_logs": logs, "events": events}) > max_bytes:
        # Halve the bigger of the two, keeping the newest lines and events.
        if size_of(logs) >= size_of(events):
            logs = {k: v[len(v) // 2 + 1:] for k, v in logs.items()}
            _note(cut, "previous_logs")
        else:
            events = events[len(events) // 2 + 1:]
            _note(cut, "events")
    if "previous_logs" in doc:
        doc["previous_logs"] = logs
    if "events" in doc:
        doc["events"] = events
    for section in ("previous_logs", "events", "node", "containers", "owners", "workload",
                    "hpa", "pod", "rollout", "errors"):
        if size_of(doc) <= max_bytes:
            break
        if doc.pop(section, None) is not None:
            _note(cut, section)
    return doc


def _note(cut: list[str], section: str) -> None:
    if section not in cut:
        cut.append(section)
