"""What an approval request and its outcome look like in Slack (Block Kit) and Mattermost.

Built from the console's own view of the remediation (`RemediationView`), so
chat shows what the console shows: alert, target, rule, evidence summary,
hints, runbook and console links. Label values are untrusted text: Slack's
control characters (`&`, `<`, `>`) are escaped so a label cannot forge a link
or a mention, and every field is cut to Slack's limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from remediator.store.views import RemediationView

TEXT_MAX = 2900
"""Slack refuses a section text over 3000 characters."""


@dataclass(frozen=True, kw_only=True)
class Summary:
    id: str
    short_id: str
    alertname: str
    target: str
    namespace: str
    rule: str
    expires: str = ""
    evidence: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    runbook_url: str = ""
    console_url: str = ""


def summary_of(view: RemediationView, external_url: str | None) -> Summary:
    console = (f"{external_url.rstrip('/')}/remediations/{view.id}" if external_url else "")
    return Summary(id=view.id, short_id=view.short_id, alertname=view.alert.alertname,
                   target=view.action.target, namespace=view.action.namespace, rule=view.rule,
                   expires=view.approval_expires or "", evidence=evidence_lines(view.evidence),
                   hints=[f"{h.get('name')}: {h.get('explanation')}" for h in view.hints
                          if isinstance(h, Mapping)],
                   runbook_url=view.alert.runbook_url, console_url=console)


_ANSWERS = ("approved", "declined", "expired")


def decided(view: RemediationView) -> str:
    """`approved: approved by alice; ...`: how the request was answered ("" if not yet).

    The first answer in the timeline: the one that won (a later one was refused).
    """
    for entry in view.timeline:
        if entry.outcome == "operator":
            continue
        if entry.outcome in _ANSWERS or entry.reason.startswith(("approved by",
                                                                 "declined by")):
            return f"{entry.outcome}: {entry.reason}"
    return ""


def evidence_lines(snapshots: Sequence[Any], *, limit: int = 8) -> list[str]:
    """A few lines on what was wrong (pod phase, containers, last events)."""
    lines: list[str] = []
    for snapshot in snapshots:
        doc = (snapshot.get("document") if isinstance(snapshot, Mapping) else None) or {}
        pod = doc.get("pod") or {}
        if pod:
            lines.append(f"pod {pod.get('phase')} on {pod.get('node')}")
        for c in doc.get("containers") or []:
            last = c.get("lastTermination") or {}
            lines.append(f"container {c.get('name')}: restarts {c.get('restartCount')}"
                         + (f", last exit {last.get('reason')}" if last else ""))
        for event in (doc.get("events") or [])[:3]:
            lines.append(f"event {event.get('reason')}: {event.get('message')}")
    return lines[:limit]


def escape(text: str) -> str:
    """Slack mrkdwn: `&`, `<`, `>` are control characters (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def headline(s: Summary) -> str:
    return f"Approval needed: {s.alertname} on {s.target} (rule {s.rule})"


def slack_blocks(s: Summary, *, outcome: str | None = None) -> list[dict[str, Any]]:
    """The request; with `outcome`, the same message answered (no buttons)."""
    def md(text: str) -> dict[str, Any]:
        return {"type": "mrkdwn", "text": _cut(text)}

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(
            f"Approval needed: {s.alertname}", 150)}},
        {"type": "section", "fields": [
            md(f"*Target*\n{escape(s.target)}"),
            md(f"*Rule*\n{escape(s.rule)}"), md(f"*Remediation*\n{s.short_id}"),
            md(f"*Expires*\n{escape(s.expires) or '-'}")]}]
    if s.evidence:
        blocks.append({"type": "section", "text": md(
            "*Evidence*\n" + "\n".join(escape(line) for line in s.evidence))})
    if s.hints:
        blocks.append({"type": "section", "text": md(
            "*Hints*\n" + "\n".join(f"• {escape(h)}" for h in s.hints))})
    links = [f"<{escape(u)}|{name}>" for name, u in (("Runbook", s.runbook_url),
                                                     ("Console", s.console_url))
             if u.startswith(("https://", "http://"))]
    if links:
        blocks.append({"type": "context", "elements": [md(" · ".join(links))]})
    if outcome is not None:
        blocks.append({"type": "section", "text": md(f"*Outcome*: {escape(outcome)}")})
        return blocks
    blocks.append({"type": "actions", "block_id": "answer", "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": s.id,
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "decline", "style": "danger", "value": s.id,
         "text": {"type": "plain_text", "text": "Decline"}}]})
    return blocks


DECLINE_CALLBACK = "remediator-decline"


def decline_view(s: Summary, private: str) -> dict[str, Any]:
    """The modal asking why (Slack): its submission carries the reason."""
    return {"type": "modal", "callback_id": DECLINE_CALLBACK, "private_metadata": private,
            "title": {"type": "plain_text", "text": "Decline remediation"},
            "submit": {"type": "plain_text", "text": "Decline"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(
                    headline(s)))}},
                {"type": "input", "block_id": "reason", "label": {
                    "type": "plain_text", "text": "Why decline?"},
                 "element": {"type": "plain_text_input", "action_id": "reason",
                             "multiline": True, "max_length": 500}}]}


def mattermost_dialog(s: Summary, state: str) -> dict[str, Any]:
    """Mattermost's decline form: its submission carries the reason and `state`."""
    return {"callback_id": DECLINE_CALLBACK, "title": "Decline remediation",
            "introduction_text": _cut(headline(s), 500), "submit_label": "Decline",
            "state": state, "notify_on_cancel": False,
            "elements": [{"display_name": "Why decline?", "name": "reason",
                          "type": "textarea", "max_length": 500, "optional": True}]}


def mattermost_props(s: Summary, *, url: str, token: str,
                     outcome: str | None = None) -> dict[str, Any]:
    """One attachment: the request's fields, then buttons or the outcome."""
    fields = [{"short": True, "title": "Target", "value": s.target},
              {"short": True, "title": "Rule", "value": s.rule},
              {"short": True, "title": "Remediation", "value": s.short_id},
              {"short": True, "title": "Expires", "value": s.expires or "-"}]
    text = "\n".join([*(f"evidence: {line}" for line in s.evidence),
                      *(f"hint {h}" for h in s.hints),
                      *(f"[{name}]({u})" for name, u in (("Runbook", s.runbook_url),
                                                        ("Console", s.console_url)) if u)])
    attachment: dict[str, Any] = {"fallback": headline(s), "title": headline(s),
                                  "text": _cut(text), "fields": fields}
    if outcome is not None:
        attachment["fields"] = [*fields, {"short": False, "title": "Outcome",
                                          "value": outcome}]
        attachment["actions"] = []
    else:
        attachment["actions"] = [
            {"id": verb, "name": verb.title(), "type": "button", "style": style,
             "integration": {"url": url, "context": {"action": verb, "remediation_id": s.id,
                                                     "token": token}}}
            for verb, style in (("approve", "success"), ("decline", "danger"))]
    return {"attachments": [attachment]}
