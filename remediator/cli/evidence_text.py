"""A remediation's evidence as text: what `remediator show ID` prints under its timeline.

The API returns the same evidence as JSON (`RemediationView.evidence` and
`.hints`, read by `store.readmodel.ReadModel`); this is only its rendering
for a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def render_text(view: Mapping[str, Any]) -> str:
    """A few readable lines per snapshot: what was wrong, what the logs said, hints."""
    lines: list[str] = []
    for hint in view.get("hints") or []:
        lines.append(f"hint {hint['name']}: {hint['explanation']}")
    for snapshot in view.get("evidence") or []:
        doc = snapshot.get("document") or {}
        lines.append(f"evidence ({snapshot['phase']}, {snapshot['gathered_at']}) "
                     f"{doc.get('target', '')} in {doc.get('elapsed_ms', '?')} ms")
        lines.extend(f"  {line}" for line in _document_lines(doc))
    return "\n".join(lines) if lines else "no evidence gathered"


def _document_lines(doc: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    pod = doc.get("pod")
    if pod:
        out.append(f"pod phase {pod.get('phase')} on node {pod.get('node')}")
    for c in doc.get("containers") or []:
        last = c.get("lastTermination") or {}
        state = c.get("state") or {}
        out.append(f"container {c.get('name')}: {state.get('state')} {state.get('reason') or ''}"
                   f" restarts {c.get('restartCount')}"
                   + (f", last exit {last.get('reason')} ({last.get('exitCode')})"
                      if last else ""))
    rollout = doc.get("rollout")
    if rollout:
        out.append(f"deployment {rollout.get('name')} revision {rollout.get('revision')} "
                   f"rolled out {rollout.get('rolledOutAt')} (previous "
                   f"{rollout.get('previousRevision')})")
    node = doc.get("node")
    if node:
        ready: Mapping[str, Any] = next(
            (c for c in node.get("conditions") or [] if c.get("type") == "Ready"), {})
        out.append(f"node {node.get('name')} Ready={ready.get('status')}")
    for kind in ("workload", "hpa"):
        if doc.get(kind):
            status = {k: v for k, v in (doc[kind].get("status") or {}).items()
                      if k != "conditions"}
            out.append(f"{kind}: spec {doc[kind].get('spec')} status {status}")
    for event in doc.get("events") or []:
        out.append(f"event {event.get('type')} {event.get('reason')} x{event.get('count')}: "
                   f"{event.get('message')}")
    for container, log in (doc.get("previous_logs") or {}).items():
        out.append(f"previous log of {container} (last {len(log)} lines):")
        out.extend(f"    {line}" for line in log)
    for host, report in (doc.get("diagnosis") or {}).items():  # a play's report
        found = report.get("findings") if isinstance(report, Mapping) else None
        out.append(f"diagnosis of {host}: "
                   + ("; ".join(map(str, found)) if found else "nothing wrong found"))
    for error in doc.get("errors") or []:
        out.append(f"not gathered: {error.get('section')}: {error.get('error')}")
    if doc.get("truncated"):
        out.append(f"truncated to the size cap: {', '.join(doc['truncated'])}")
    return out
