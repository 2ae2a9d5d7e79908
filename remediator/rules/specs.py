"""Action specs as written in rules, and their rendering into `ActionRequest`s.

A spec holds templates; `render()` fills them from one alert's labels and
annotations and validates every value that names something (namespace,
object name, host), so nothing unvalidated ever reaches an action.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from remediator.model import validation
from remediator.model.actions import ActionRequest
from remediator.model.durations import Duration
from remediator.rules.templating import Template, TemplateError


def _to_template(value: Any) -> Template:
    if isinstance(value, Template):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string (a literal or a {{ labels.<name> }} template)")
    return Template(value)


TemplateStr = Annotated[Template, PlainValidator(_to_template), PlainSerializer(str),
                        WithJsonSchema({"type": "string", "x-remediator-type": "template",
                                        "description": (
                            "a literal or a template: {{ labels.pod }}, "
                            "{{ annotations.x | lower }}")})]


class RenderError(ValueError):
    """A spec that cannot produce a valid request for this alert (-> `denied`)."""


def _render(template: Template, labels: Mapping[str, str],
            annotations: Mapping[str, str]) -> str:
    try:
        return template.render(labels, annotations)
    except TemplateError as error:
        raise RenderError(str(error)) from None


def _checked(check: Any, value: str) -> str:
    try:
        result: str = check(value)
    except validation.InvalidTarget as error:
        raise RenderError(str(error)) from None
    return result


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    timeout: Duration = Field(default=timedelta(seconds=60), description=(
        "the action is stopped (and failed) after this"))


class _NamespacedSpec(_Spec):
    namespace: TemplateStr = Field(description=(
        "the target's namespace (validated: RFC 1123, allowed, not denied)"))
    name: TemplateStr = Field(description="the target's name (validated: RFC 1123)")

    def _target(self, labels: Mapping[str, str],
                annotations: Mapping[str, str]) -> tuple[str, str]:
        namespace = _checked(validation.namespace, _render(self.namespace, labels, annotations))
        name = _checked(validation.object_name, _render(self.name, labels, annotations))
        return namespace, name


class DeletePod(_NamespacedSpec):
    """Delete a pod so its controller recreates it (a pod restart)."""

    type: Literal["kubernetes.delete_pod"]
    grace_period_seconds: int | None = Field(default=None, ge=0, le=3600, description=(
        "the pod's termination grace period; unset: the pod's own"))

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        namespace, name = self._target(labels, annotations)
        return ActionRequest(type=self.type, kind="pod", namespace=namespace, name=name,
                             params={"grace_period_seconds": self.grace_period_seconds},
                             timeout=self.timeout.total_seconds())


class RolloutRestart(_NamespacedSpec):
    """`kubectl rollout restart`: bump the pod template's restartedAt annotation."""

    type: Literal["kubernetes.rollout_restart"]
    kind: Literal["deployment", "statefulset", "daemonset"] = Field(
        default="deployment", description="the workload's kind")

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        namespace, name = self._target(labels, annotations)
        return ActionRequest(type=self.type, kind=self.kind, namespace=namespace, name=name,
                             timeout=self.timeout.total_seconds())


class Scale(_NamespacedSpec):
    """Change replicas by `step` (or to `replicas`), always clamped to [min, max]."""

    type: Literal["kubernetes.scale"]
    kind: Literal["deployment", "statefulset"] = Field(default="deployment",
                                                      description="the workload's kind")
    step: int = Field(default=1, ge=-100, le=100, description=(
        "replicas to add (negative: remove)"))
    replicas: int | None = Field(default=None, ge=0, description=(
        "set exactly this many instead of stepping"))
    min: int = Field(default=1, ge=0, description="never fewer replicas than this")
    max: int = Field(ge=1, le=1000, description="never more replicas than this")

    @model_validator(mode="after")
    def _bounds(self) -> Scale:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        if self.replicas is not None and not self.min <= self.replicas <= self.max:
            raise ValueError(f"replicas ({self.replicas}) must lie within [min, max]")
        return self

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        namespace, name = self._target(labels, annotations)
        params = {"step": self.step, "replicas": self.replicas, "min": self.min, "max": self.max}
        return ActionRequest(type=self.type, kind=self.kind, namespace=namespace, name=name,
                             params=params, timeout=self.timeout.total_seconds())


class HpaPatch(_NamespacedSpec):
    """Raise an HPA's minReplicas and/or maxReplicas by `step`, never above `ceiling`."""

    type: Literal["kubernetes.hpa_patch"]
    step: int = Field(default=1, ge=1, le=100, description="added to the bounds")
    ceiling: int = Field(ge=1, le=1000, description="never raised above this")
    fields: Literal["min", "max", "both"] = Field(default="max", description=(
        "which bounds to raise: minReplicas, maxReplicas or both"))
    revert: bool = Field(default=False, description=(
        "put the old values back when the alert resolves"))

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        namespace, name = self._target(labels, annotations)
        params = {"step": self.step, "ceiling": self.ceiling, "fields": self.fields,
                  "revert": self.revert}
        return ActionRequest(type=self.type, kind="hpa", namespace=namespace, name=name,
                             params=params, timeout=self.timeout.total_seconds())


class RolloutUndo(_NamespacedSpec):
    """`kubectl rollout undo`: put the previous ReplicaSet's pod template back.

    Only while the current revision is younger than `max_age`: an old
    revision is not what broke things just now.
    """

    type: Literal["kubernetes.rollout_undo"]
    kind: Literal["deployment"] = Field(default="deployment",
                                        description="only Deployments roll back")
    max_age: Duration = Field(default=timedelta(hours=1), description=(
        "act only while the current revision is younger than this"))

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        namespace, name = self._target(labels, annotations)
        return ActionRequest(type=self.type, kind=self.kind, namespace=namespace, name=name,
                             params={"max_age": self.max_age.total_seconds()},
                             timeout=self.timeout.total_seconds())


class AnsiblePlaybook(_Spec):
    """Run a repair playbook through ansible-runner; labels reach it only as extravars."""

    type: Literal["ansible.playbook"]
    playbook: str = Field(min_length=1, max_length=255, description=(
        "a .yml path relative to the playbook directory (REMEDIATOR_PLAYBOOK_DIR)"))
    limit: TemplateStr | None = Field(default=None, description=(
        "the host; from labels it must be exactly one inventory host; unset: all"))
    extravars: dict[str, TemplateStr] = Field(default_factory=dict, description=(
        "variables passed to the play as unsafe data, never on a command line"))
    tags: list[str] = Field(default_factory=list, description="run only these tags")
    check: bool = Field(default=False, description=(
        "always run in check mode (`--check`): the play reports, never changes"))
    check_in_dry_run: bool = Field(default=False, description=(
        "in dry-run, run the play in check mode instead of not at all"))
    timeout: Duration = Field(default=timedelta(minutes=10), description=(
        "the play and its workers are killed after this"))

    @model_validator(mode="after")
    def _safe_paths(self) -> AnsiblePlaybook:
        normal = posixpath.normpath(self.playbook)
        if normal.startswith(("/", "..")) or not normal.endswith((".yml", ".yaml")):
            raise ValueError("playbook must be a relative .yml path inside the playbook directory")
        for key in self.extravars:
            validation.identifier(key)
        for tag in self.tags:
            validation.identifier(tag)
        return self

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> ActionRequest:
        host = "all"
        if self.limit is not None:
            host = _checked(validation.host, _render(self.limit, labels, annotations))
        extravars = {key: _render(value, labels, annotations)
                     for key, value in self.extravars.items()}
        # A limit from alert labels must be exactly one inventory host; the
        # engine checks it against the inventory (see guards.limit_denial).
        from_labels = self.limit is not None and "{{" in str(self.limit)
        params = {"playbook": self.playbook, "limit": host, "extravars": extravars,
                  "tags": list(self.tags), "check": self.check,
                  "check_in_dry_run": self.check_in_dry_run, "limit_from_labels": from_labels}
        # The target names the play too: two plays on one host keep their own cooldowns.
        return ActionRequest(type=self.type, kind=f"playbook:{self.playbook}", name=host,
                             params=params, timeout=self.timeout.total_seconds())


ActionSpec = Annotated[
    DeletePod | RolloutRestart | Scale | HpaPatch | AnsiblePlaybook | RolloutUndo,
    Field(discriminator="type"),
]
