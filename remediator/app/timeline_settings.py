"""The incident timelines' settings (PagerDuty, Opsgenie, Grafana), mixed into `Settings`.

Keys and tokens come from files (a mounted Secret), like the chat ones. An
integration is on when its key file is set (Grafana: its URL and token).
The label matchers say which alerts also came through PagerDuty or
Opsgenie; they are checked at start-up, naming the setting.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from remediator.app.chat_settings import CommaList, read_secret
from remediator.operate.timeline.events import OPSGENIE_API, PAGERDUTY_EVENTS, parse_matchers

_MATCH = ("label matchers (name=value, name!=value, name=~regex), comma-separated, that "
          "an alert must meet for its actions to be posted to {}; empty: every alert")


class TimelineSettings(BaseSettings):
    pagerduty_routing_key_file: Path | None = Field(
        default=None, description="file holding the routing (integration) key of a PagerDuty "
        "Events API v2 integration; set: each action and its outcome becomes a change event")
    pagerduty_events_url: str = Field(
        default=PAGERDUTY_EVENTS, description="the PagerDuty Events API "
        "(https://events.eu.pagerduty.com for the EU service region)")
    pagerduty_match: CommaList = Field(default=[], description=_MATCH.format("PagerDuty"))
    opsgenie_api_key_file: Path | None = Field(
        default=None, description="file holding an Opsgenie API integration key (GenieKey) "
        "allowed to add notes; set: each action and its outcome becomes a note on the alert")
    opsgenie_api_url: str = Field(
        default=OPSGENIE_API, description="the Opsgenie API (https://api.eu.opsgenie.com "
        "for the EU instance)")
    opsgenie_match: CommaList = Field(default=[], description=_MATCH.format("Opsgenie"))
    opsgenie_alias_label: str | None = Field(
        default=None, description="the alert label holding the Opsgenie alert's alias; "
        "unset: the SHA-256 of the Alertmanager group key, the alias Alertmanager's own "
        "Opsgenie integration sets (same route and grouping only)")
    grafana_url: str | None = Field(
        default=None, description="Grafana (https://grafana.example.com); with "
        "GRAFANA_TOKEN_FILE each executed action and its verification become annotations")
    grafana_token_file: Path | None = Field(
        default=None, description="file holding a Grafana service account token "
        "(annotations:write)")
    grafana_match: CommaList = Field(default=[], description=_MATCH.format("Grafana"))
    timeline_backlog: int = Field(
        default=500, ge=10, le=10000, description="timeline posts waiting to be sent at "
        "most, per integration (the oldest is dropped, counted and logged beyond)")

    @field_validator("pagerduty_match", "opsgenie_match", "grafana_match")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        parse_matchers(value)  # a ValueError names the matcher; pydantic names the field
        return value

    def pagerduty_key(self) -> str | None:
        return read_secret(self.pagerduty_routing_key_file, "pagerduty_routing_key_file")

    def opsgenie_key(self) -> str | None:
        return read_secret(self.opsgenie_api_key_file, "opsgenie_api_key_file")

    def grafana_token(self) -> str | None:
        return read_secret(self.grafana_token_file, "grafana_token_file")

    def timeline_problem(self) -> str | None:
        """What a configured timeline integration lacks, in one line (None when nothing)."""
        if bool(self.grafana_url) != (self.grafana_token_file is not None):
            return "Grafana annotations need both REMEDIATOR_GRAFANA_URL and " \
                   "REMEDIATOR_GRAFANA_TOKEN_FILE"
        return None
