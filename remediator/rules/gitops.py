"""A rule's `gitops:` setting: what to do when Argo CD or Flux owns the target.

Acting on an object a GitOps controller owns starts a fight: with self-heal
on, the controller puts git's state back within minutes. A rule says per
target whether to act anyway (`act`), to write the change to git instead
(`propose`) or to refuse and tell a human (`refuse`). The shorthand is the
mode alone (`gitops: propose`); the long form adds the details. Without a
`gitops:` entry the service-wide default (`REMEDIATOR_GITOPS_DEFAULT`) holds,
except for pod deletion, which git never describes and which is always `act`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GitopsMode = Literal["act", "propose", "refuse"]
MODES: tuple[str, ...] = ("act", "propose", "refuse")


class HelmValues(BaseModel):
    """Where a Helm-sourced application keeps the value the action changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.\-/]+$",
                      description="Values file, relative to the source path "
                                  "(e.g. values-prod.yaml).")
    key: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.\-\[\]]+$",
                     description="Dotted key in that file (e.g. replicaCount).")

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("values.file is a path inside the source directory "
                             "(no leading / and no ..)")
        return value


class GitopsPolicy(BaseModel):
    """The long form of `gitops:`; `gitops: propose` is `gitops: {mode: propose}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: GitopsMode = Field(description="act: change the cluster as without GitOps; "
                             "propose: write the change to git as a branch/pull request; "
                             "refuse: do nothing, record `gitops_managed` and notify.")
    also_act: bool = Field(default=False, description="With propose: change the cluster "
                           "too, until the pull request merges.")
    push_to: str | None = Field(default=None, min_length=1, max_length=200,
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$",
                                description="Push the commit straight to this branch "
                                            "instead of opening a new one.")
    suspend_while_proposed: bool = Field(default=False, description="Flux only, with "
                                         "also_act: suspend the Kustomization until the "
                                         "pull request is merged or declined (at the "
                                         "latest after GITOPS_SUSPEND_TIMEOUT).")
    values: HelmValues | None = Field(default=None, description="Helm-sourced applications: "
                                      "the values file and key to change.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data not in MODES:
                raise ValueError(f"unknown gitops mode {data!r}; one of {', '.join(MODES)}")
            return {"mode": data}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> GitopsPolicy:
        if self.mode != "propose" and (self.also_act or self.push_to or self.values
                                        or self.suspend_while_proposed):
            raise ValueError("also_act, push_to, suspend_while_proposed and values "
                             "only apply to mode: propose")
        if self.suspend_while_proposed and not self.also_act:
            raise ValueError("suspend_while_proposed needs also_act: true")
        return self
