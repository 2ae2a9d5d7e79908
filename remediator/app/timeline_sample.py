"""`remediator notify test pagerduty|opsgenie|grafana`: one sample through the service's
own sink, and what the server answered.

The sample is a made-up remediation (all zeros); its labels are the
matchers' own values where they are plain `name=value`, so a sample is
sent even when PAGERDUTY_MATCH or OPSGENIE_MATCH narrow what is posted.
Opsgenie needs an existing alert: the sample's alias is `remediator-test`
unless `--alias` names one (a 404 then says the alias is unknown).
"""

from __future__ import annotations

from datetime import UTC, datetime

from remediator.app.settings import Settings
from remediator.app.timeline import timeline_sinks
from remediator.operate.chat.transport import Transport
from remediator.operate.timeline.events import Event
from remediator.operate.timeline.sinks import OpsgenieSink, TimelineSink, note_text

TIMELINES = ("pagerduty", "opsgenie", "grafana")

NEEDS = {"pagerduty": "set REMEDIATOR_PAGERDUTY_ROUTING_KEY_FILE",
         "opsgenie": "set REMEDIATOR_OPSGENIE_API_KEY_FILE",
         "grafana": "set REMEDIATOR_GRAFANA_URL and REMEDIATOR_GRAFANA_TOKEN_FILE"}

TIMELINE_HINTS = {
    "pagerduty change event: HTTP 400": "PagerDuty refused the event: is the routing key an "
    "Events API v2 integration key (32 characters) of the service?",
    "opsgenie note: HTTP 401": "the GenieKey is wrong: check REMEDIATOR_OPSGENIE_API_KEY_FILE "
    "(and REMEDIATOR_OPSGENIE_API_URL for the EU instance)",
    "opsgenie note: HTTP 403": "the API integration lacks the right to update alerts",
    "opsgenie note: HTTP 404": "no alert has that alias: pass --alias of an open alert",
    "grafana annotation: HTTP 401": "the token is wrong or expired: check "
    "REMEDIATOR_GRAFANA_TOKEN_FILE",
    "grafana annotation: HTTP 403": "the service account needs the annotations:write "
    "permission (role Editor)",
}


class TimelineNotConfigured(ValueError):
    """The integration has no settings: what to set."""


def sample_event(settings: Settings, integration: str) -> Event:
    matchers = {"pagerduty": settings.pagerduty_match, "opsgenie": settings.opsgenie_match,
                "grafana": settings.grafana_match}[integration]
    labels = {"alertname": "KubePodCrashLooping", "namespace": "apps-payments"}
    labels |= {name: value for name, op, value in
               (m.partition("=") for m in matchers) if "!" not in name and "~" not in value}
    url = (f"{settings.external_url.rstrip('/')}/remediations/"
           "00000000-0000-0000-0000-000000000000" if settings.external_url else "")
    return Event(remediation_id="00000000-0000-0000-0000-000000000000", outcome="executed",
                 reason="a test message from `remediator notify test`: nothing was done",
                 rule="restart-crashlooping-pod", namespace="apps-payments",
                 alertname="KubePodCrashLooping", action="kubernetes.delete_pod",
                 target="pay-0", ts=datetime.now(UTC), labels=labels, group_key="", url=url)


async def send_timeline_sample(settings: Settings, integration: str, transport: Transport,
                               alias: str = "remediator-test") -> str:
    sink = _sink(settings, integration, transport)
    event = sample_event(settings, integration)
    if isinstance(sink, OpsgenieSink):  # an existing alert's alias, not the sample's labels
        await sink.api.add_note(alias, note_text(event))
    else:
        await sink.send(event)
    where = {"pagerduty": "a change event to the PagerDuty service",
             "opsgenie": f"a note to the Opsgenie alert with alias {alias!r}",
             "grafana": f"an annotation to {settings.grafana_url} (tags remediator, "
                        "namespace:apps-payments)"}[integration]
    return f"{integration}: sent {where}; the server accepted it"


def _sink(settings: Settings, integration: str, transport: Transport) -> TimelineSink:
    for sink in timeline_sinks(settings, transport):
        if sink.integration == integration:
            return sink
    raise TimelineNotConfigured(f"{integration} is not configured: {NEEDS[integration]}")
