"""What a remediation's evidence says, first: the summary the page, the API and on-call read.

A failed action retried three times leaves eight snapshots of the same pod
(before and after each attempt); shown whole they filled a page 3,766 px tall
and pushed the alert's labels out of sight (issue 23). The summary takes the
newest snapshot's containers, log tail and objects, the events of all of them
with repeats folded into one row, the hints with the facts they used, and the
diagnostic plays' findings. `fold` groups identical snapshots for the raw view.

Pure: plain JSON in (`RemediationView.evidence` and `.hints`), a frozen model
out; `now` only for the events' age.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from remediator.evidence.reports import REPORT
from remediator.evidence.revisions import parse_time

LOG_LINES = 20
MAX_EVENTS = 20
MAX_FACT = 300
VOLATILE = frozenset({"elapsed_ms"})
"""Keys that differ between otherwise identical snapshots (how long gathering took)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Fact(_Frozen):
    name: str
    value: str


class ContainerLine(_Frozen):
    name: str
    image: str | None = None
    init: bool = False
    ready: bool | None = None
    state: str | None = None
    """waiting, running or terminated."""
    reason: str | None = None
    restarts: int = 0
    last_reason: str | None = None
    """Why the previous run ended (OOMKilled, Error, Completed)."""
    last_exit_code: int | None = None
    last_finished_at: str | None = None


class LogTail(_Frozen):
    container: str
    lines: list[str]
    """The last lines of the previous container's log (redacted when gathered)."""
    omitted: int = 0
    """Earlier lines the snapshot holds that the summary leaves out."""


class EventLine(_Frozen):
    type: str | None = None
    reason: str | None = None
    message: str
    count: int
    """Kubernetes' own count (cumulative: the highest any snapshot saw)."""
    last: str | None = None
    age: str | None = None
    """How long before `now` it was last seen ("12m")."""
    folded: int = 1
    """Rows of the snapshots that said the same (type, reason, message)."""


class HintBadge(_Frozen):
    name: str
    explanation: str
    facts: list[Fact]


class Finding(_Frozen):
    """A diagnostic play's findings for one host."""

    host: str
    findings: list[str]
    target: str | None = None
    gathered_at: str | None = None


class EvidenceSummary(_Frozen):
    snapshots: int
    gathered_at: str | None = None
    """When the newest snapshot summarised here was taken."""
    target: str | None = None
    objects: list[Fact]
    """One line per object: pod, node, rollout, workload, HPA."""
    containers: list[ContainerLine]
    logs: list[LogTail]
    events: list[EventLine]
    hints: list[HintBadge]
    reports: list[Finding]
    errors: list[Fact]
    """Sections the newest snapshot could not gather, and why."""
    truncated: list[str]


def summarize(evidence: Sequence[Any], hints: Sequence[Any], *, now: datetime | None = None,
              log_lines: int = LOG_LINES) -> EvidenceSummary:
    """The summary of a remediation's snapshots (oldest first) and its hints."""
    snapshots = [s for s in evidence if isinstance(s, Mapping)]
    cluster = [s for s in snapshots if s.get("phase") != REPORT]
    newest = cluster[-1] if cluster else {}
    doc = _latest(cluster)
    return EvidenceSummary(
        snapshots=len(snapshots), gathered_at=_opt(newest.get("gathered_at")),
        target=_opt(doc.get("target")), objects=_objects(doc),
        containers=[_container(c) for c in _list(doc.get("containers")) if isinstance(c, Mapping)],
        logs=_logs(doc, log_lines), events=_events(cluster, now),
        hints=[_hint(h) for h in hints if isinstance(h, Mapping) and h.get("name")],
        reports=_reports(snapshots),
        errors=[Fact(name=str(e.get("section")), value=_text(e.get("error")))
                for e in _list(doc.get("errors")) if isinstance(e, Mapping)],
        truncated=[_text(t) for t in _list(doc.get("truncated"))])


def _latest(snapshots: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each section as the newest snapshot that has it saw it; errors and cuts the newest's.

    The snapshot after a failed delete may find the pod gone: its containers and
    logs are then the ones seen just before, and `errors` says why they are not newer.
    """
    merged: dict[str, Any] = {}
    for snapshot in snapshots:
        doc = _document(snapshot)
        merged.update({k: v for k, v in doc.items() if v not in (None, [], {})})
        merged["errors"], merged["truncated"] = doc.get("errors"), doc.get("truncated")
    return merged


def _document(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    doc = snapshot.get("document")
    return doc if isinstance(doc, Mapping) else {}


def _container(c: Mapping[str, Any]) -> ContainerLine:
    state, last = _map(c.get("state")), _map(c.get("lastTermination"))
    exit_code = last.get("exitCode")
    return ContainerLine(
        name=str(c.get("name")), image=_opt(c.get("image")), init=bool(c.get("init")),
        ready=c.get("ready") if isinstance(c.get("ready"), bool) else None,
        state=_opt(state.get("state")), reason=_opt(state.get("reason")),
        restarts=_int(c.get("restartCount")), last_reason=_opt(last.get("reason")),
        last_exit_code=exit_code if isinstance(exit_code, int) else None,
        last_finished_at=_opt(last.get("finishedAt")))


def _logs(doc: Mapping[str, Any], last: int) -> list[LogTail]:
    logs = doc.get("previous_logs")
    if not isinstance(logs, Mapping):
        return []
    return [LogTail(container=str(name), lines=[str(x) for x in lines[-last:]],
                    omitted=max(len(lines) - last, 0))
            for name, lines in logs.items() if isinstance(lines, list) and lines]


@dataclass
class _Folding:
    type: str | None
    reason: str | None
    message: str
    count: int = 0
    last: str | None = None
    folded: int = 0
    order: list[str] = field(default_factory=list)


def _events(snapshots: Sequence[Mapping[str, Any]], now: datetime | None) -> list[EventLine]:
    """Every snapshot's events, one row per (type, reason, message), newest first."""
    rows: dict[tuple[str | None, str | None, str], _Folding] = {}
    for snapshot in snapshots:
        for event in _list(_document(snapshot).get("events")):
            if not isinstance(event, Mapping):
                continue
            key = (_opt(event.get("type")), _opt(event.get("reason")),
                   _text(event.get("message")))
            row = rows.setdefault(key, _Folding(*key))
            row.count = max(row.count, _int(event.get("count")) or 1)
            row.last = max(filter(None, [row.last, _opt(event.get("last"))]), default=None)
            row.folded += 1
    ordered = sorted(rows.values(), key=lambda r: r.last or "", reverse=True)[:MAX_EVENTS]
    return [EventLine(type=r.type, reason=r.reason, message=r.message, count=r.count,
                      last=r.last, age=age(r.last, now), folded=r.folded) for r in ordered]


def age(when: str | None, now: datetime | None) -> str | None:
    """`now - when` in the largest whole unit ("45s", "12m", "3h", "2d"); None if unknown."""
    at = parse_time(when) if when else None
    if at is None or now is None:
        return None
    seconds = int((now - at).total_seconds())
    if seconds < 0:
        return None
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _hint(hint: Mapping[str, Any]) -> HintBadge:
    facts = _map(hint.get("facts"))
    return HintBadge(name=str(hint.get("name")), explanation=_text(hint.get("explanation")),
                     facts=[Fact(name=str(k), value=fact_text(v)) for k, v in facts.items()
                            if v not in (None, "", [], {})])


def fact_text(value: Any) -> str:
    """A fact as one short line: lists joined, mappings as `key=value`, at most MAX_FACT."""
    if isinstance(value, Mapping):
        text = " ".join(f"{k}={fact_text(v)}" for k, v in value.items() if v is not None)
    elif isinstance(value, list | tuple):
        text = "; ".join(fact_text(v) for v in value)
    else:
        text = str(value)
    return _text(text)


def _reports(snapshots: Sequence[Mapping[str, Any]]) -> list[Finding]:
    found = []
    for snapshot in snapshots:
        if snapshot.get("phase") != REPORT:
            continue
        doc = _document(snapshot)
        for host, report in sorted(_map(doc.get("diagnosis")).items()):
            findings = report.get("findings") if isinstance(report, Mapping) else None
            found.append(Finding(host=str(host), target=_opt(doc.get("target")),
                                 gathered_at=_opt(snapshot.get("gathered_at")),
                                 findings=[_text(f) for f in findings or []]
                                 if isinstance(findings, list) else []))
    return found


def _objects(doc: Mapping[str, Any]) -> list[Fact]:
    lines: list[Fact] = []
    pod, node, rollout = (_map(doc.get(k)) for k in ("pod", "node", "rollout"))
    if pod:
        ready = _condition(pod, "Ready")
        lines.append(Fact(name="pod", value=_text(
            f"{pod.get('name')} {pod.get('phase')} on node {pod.get('node')}"
            + (f", Ready={ready}" if ready else ""))))
    if node:
        lines.append(Fact(name="node", value=_text(
            f"{node.get('name')} Ready={_condition(node, 'Ready')}"
            + (", unschedulable" if node.get("unschedulable") else ""))))
    if rollout:
        lines.append(Fact(name="rollout", value=_text(
            f"deployment {rollout.get('name')} revision {rollout.get('revision')} rolled out "
            f"{rollout.get('rolledOutAt')} (previous {rollout.get('previousRevision')})")))
    for kind in ("workload", "hpa"):
        obj = doc.get(kind)
        if isinstance(obj, Mapping):
            status = {k: v for k, v in _map(obj.get("status")).items() if k != "conditions"}
            lines.append(Fact(name=kind, value=fact_text(
                {"name": f"{obj.get('kind') or kind}/{obj.get('name')}",
                 **_map(obj.get("spec")), **status})))
    return lines


def _condition(obj: Mapping[str, Any], kind: str) -> str | None:
    found = next((c for c in _list(obj.get("conditions"))
                  if isinstance(c, Mapping) and c.get("type") == kind), None)
    if found is None:
        return None
    return str(found.get("status")) + (f" ({found['reason']})" if found.get("reason") else "")


@dataclass
class RawGroup:
    """Identical snapshots (but for how long they took) shown once, with their count."""

    document: Any
    phases: dict[str, int]
    first_at: str | None
    last_at: str | None
    count: int = 1


def fold(evidence: Sequence[Any]) -> list[RawGroup]:
    """The snapshots grouped by identical document, in order of first appearance."""
    groups: dict[str, RawGroup] = {}
    for snapshot in evidence:
        mapping = isinstance(snapshot, Mapping)
        doc = snapshot.get("document", snapshot) if mapping else snapshot
        phase = str(snapshot.get("phase") or "snapshot") if mapping else "snapshot"
        at = _opt(snapshot.get("gathered_at")) if mapping else None
        key = json.dumps({k: v for k, v in doc.items() if k not in VOLATILE}
                         if isinstance(doc, Mapping) else doc, sort_keys=True, default=str)
        group = groups.get(key)
        if group is None:
            groups[key] = RawGroup(document=doc, phases={phase: 1}, first_at=at, last_at=at)
            continue
        group.count += 1
        group.phases[phase] = group.phases.get(phase, 0) + 1
        group.last_at = at or group.last_at
    return list(groups.values())


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _opt(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_FACT else text[:MAX_FACT - 3] + "..."
