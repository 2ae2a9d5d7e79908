"""Incident timelines: each action and its outcome posted to the PagerDuty service or
Opsgenie alert the same alert opened, and to Grafana as annotations (issue 26).

Reuses the chat approvals' machinery (`operate.chat`): its own audit cursor,
the bounded per-integration `Outbox` and the `Transport` that honours
Retry-After, so a timeline server never delays a decision.
"""
