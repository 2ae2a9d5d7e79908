"""A diagnostic play's report as evidence: redacted, within the evidence size cap.

A play such as `playbooks/diagnose/node.yml` publishes what it found with
`set_stats` (`diagnosis: {host: {findings, disk, services, journal, ...}}`).
It used to stay in the audit entry's detail only, out of the remediation's
evidence (issue 23); now the worker keeps it as a snapshot of its own
(phase `report`), so the API, the page's summary and `remediator show`
show it beside the Kubernetes snapshots.

Every string is redacted as other evidence is (the play's output may quote
a journal line with a password) and cut to a line's length; a report over
`max_bytes` loses its journal lines first, then whole sections, then (only
if that is not enough) the later half of its findings, and names what was
cut in `truncated`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from remediator.evidence.redact import redact

REPORT = "report"
"""The phase of the snapshot that holds a play's report (`store.evidence.REPORT`)."""
VERSION = 1
MAX_TEXT = 500
MAX_FINDINGS = 50
SHED = ("journal", "disk", "services", "tailscale", "runtime", "memory")
"""The sections a report too big for the cap loses, in this order (findings stay)."""


def play_report(detail: Mapping[str, Any], *, target: str,
                max_bytes: int) -> dict[str, Any] | None:
    """The evidence document for a play's result detail, or None when it published none."""
    stats = detail.get("stats")
    diagnosis = stats.get("diagnosis") if isinstance(stats, Mapping) else None
    if not isinstance(diagnosis, Mapping) or not diagnosis:
        return None
    hosts = {redact(str(host), limit=253): _clean(report)
             for host, report in diagnosis.items()}
    document: dict[str, Any] = {"version": VERSION, "source": "ansible.playbook",
                                "target": target, "status": _clean(detail.get("status")),
                                "diagnosis": hosts}
    return cap(document, max_bytes)


def _clean(value: Any) -> Any:
    """Plain JSON with every string redacted and bounded; findings lists bounded too."""
    if isinstance(value, Mapping):
        return {redact(str(k), limit=100): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value[:MAX_FINDINGS * 4]]
    if isinstance(value, str):
        return redact(value, limit=MAX_TEXT)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value), limit=MAX_TEXT)


def size_of(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), default=str).encode())


def cap(document: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """`document` within `max_bytes`: journals halved, sections shed, then findings halved
    and, for a play over very many hosts, the last hosts dropped."""
    if size_of(document) <= max_bytes:
        return document
    cut: list[str] = []
    hosts = {host: dict(report) if isinstance(report, Mapping) else {"findings": []}
             for host, report in document["diagnosis"].items()}
    doc = {**document, "diagnosis": hosts, "truncated": cut}
    while size_of(doc) > max_bytes and _halve_journals(hosts):
        _note(cut, "journal lines")
    for section in SHED:
        if size_of(doc) <= max_bytes:
            break
        if any(report.pop(section, None) is not None for report in hosts.values()):
            _note(cut, section)
    while size_of(doc) > max_bytes and _halve_findings(hosts):
        _note(cut, "findings")
    while size_of(doc) > max_bytes and len(hosts) > 1:  # the first hosts' findings stay
        hosts.pop(sorted(hosts)[-1])
        _note(cut, "hosts")
    return doc


def _halve_findings(hosts: Mapping[str, dict[str, Any]]) -> bool:
    """Keep the first half of every host's findings; False when each has one at most."""
    halved = False
    for report in hosts.values():
        findings = report.get("findings")
        if isinstance(findings, list) and len(findings) > 1:
            report["findings"] = findings[:len(findings) // 2]
            halved = True
    return halved


def _halve_journals(hosts: Mapping[str, dict[str, Any]]) -> bool:
    """Keep the newer half of every journal's lines; False when none is left to halve."""
    halved = False
    for report in hosts.values():
        journal = report.get("journal")
        if not isinstance(journal, Mapping):
            continue
        kept = {}
        for unit, lines in journal.items():
            if isinstance(lines, list) and lines:
                kept[unit] = lines[len(lines) // 2 + 1:]
                halved = True
            else:
                kept[unit] = lines
        report["journal"] = kept
    return halved


def _note(cut: list[str], what: str) -> None:
    if what not in cut:
        cut.append(what)
