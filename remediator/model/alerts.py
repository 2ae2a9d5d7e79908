"""Alertmanager's webhook payload (version 4), its API's alert shape, and fingerprints.

Pure models: the decision core imports them, so the HTTP client that reads
Alertmanager's API lives apart, in `alertmanager_client.py`.

The models are strict about what Alertmanager promises (types, the version,
the status vocabulary) and lenient about what it may add later (unknown keys
are ignored), so a newer Alertmanager keeps working while garbage is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from remediator.model.validation import ALERTNAME_MAX, NAMESPACE_MAX

# No NUL characters: PostgreSQL text cannot hold them, and no exporter sends them.
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=1024,
                                             pattern=r"^[^\x00]+$")]
LabelValue = Annotated[str, StringConstraints(max_length=16384, pattern=r"^[^\x00]*$")]
Labels = dict[LabelName, LabelValue]
Text = Annotated[str, StringConstraints(max_length=8192, pattern=r"^[^\x00]*$")]
"""A free string of the envelope (group key, URLs): stored as text, so no NUL either."""

_INDEXED_LABELS = {"alertname": ALERTNAME_MAX, "namespace": NAMESPACE_MAX}

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted pairs).

    Used when an alert arrives without one (older senders, tests), so the
    idempotency key is the same one Alertmanager itself would report.
    """
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), labels[name].encode()):
            for byte in part:
                digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            digest = ((digest ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


class Alert(BaseModel):
    """One alert as Alertmanager sends it in a webhook notification."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: Text = Field(default="", alias="generatorURL")
    fingerprint_: str = Field(default="", alias="fingerprint", max_length=64,
                              pattern=r"^[^\x00]*$")

    @field_validator("labels")
    @classmethod
    def _indexed_labels_fit(cls, labels: dict[str, str]) -> dict[str, str]:
        """Refuse (422, naming the label) what the indexed columns cannot hold, the
        same on SQLite (which does not enforce lengths) as on PostgreSQL."""
        for name, longest in _INDEXED_LABELS.items():
            value = labels.get(name, "")
            if len(value) > longest:
                raise ValueError(f"label {name} is {len(value)} characters long; at most "
                                 f"{longest} are accepted")
        return labels

    @model_validator(mode="after")
    def _fill_fingerprint(self) -> Alert:
        # Computed once here rather than on every access (it is hashed per byte).
        if not self.fingerprint_:
            object.__setattr__(self, "fingerprint_", fingerprint(self.labels))
        return self

    @property
    def fingerprint(self) -> str:
        return self.fingerprint_

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def runbook_url(self) -> str:
        return self.annotations.get("runbook_url", "")

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def unusable_time(self) -> str:
        """Why this alert's times cannot be used, or "" when they can.

        `0001-01-01T00:00:00+05:00` parses, but is a moment before year 1 in
        UTC: no database column, key or comparison in UTC can hold it. Such an
        alert is rejected alone (its delivery's other alerts are decided).
        """
        for name, value in (("startsAt", self.starts_at), ("endsAt", self.ends_at)):
            if value is not None and not _fits_utc(value):
                return f"{name} {value.isoformat()} is outside the range of UTC time"
        return ""


def _fits_utc(value: datetime) -> bool:
    offset = value.utcoffset()
    if offset is not None and not offset:  # UTC (as Alertmanager sends): nothing to convert
        return True
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (the only version it has sent since 0.x)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    version: Literal["4"]
    group_key: Text = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=1024, pattern=r"^[^\x00]*$")
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    alerts: list[Alert] = Field(max_length=10000)


class _ApiAlertStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")
    state: str = "active"


class ApiAlert(BaseModel):
    """An alert from Alertmanager's `GET /api/v2/alerts` (gettableAlert)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""
    status: _ApiAlertStatus = Field(default_factory=_ApiAlertStatus)

    def decidable(self, now: datetime | None = None) -> Alert | None:
        """`as_alert`, or None for an alert the webhook would refuse (422: an alertname
        longer than the columns hold...): reconciliation skips it instead of failing."""
        try:
            return self.as_alert(now)
        except ValidationError:
            return None

    def as_alert(self, now: datetime | None = None) -> Alert:
        """The same alert in webhook form, so it can take the same decision path."""
        now = now or datetime.now(UTC)
        resolved = self.ends_at is not None and self.ends_at <= now
        return Alert(
            status="resolved" if resolved else "firing",
            labels=self.labels,
            annotations=self.annotations,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            generator_url=self.generator_url,
            fingerprint_=self.fingerprint,
        )
