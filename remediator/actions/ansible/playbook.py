"""What a playbook run is asked to do and what it reports: typed, frozen values.

`runner` turns a `PlaybookRequest` into ansible-runner's untyped keyword
arguments and its events into a `PlaybookResult`; callers (the
`ansible.playbook` action, cluster provisioning) see only these values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["successful", "failed", "timeout", "canceled"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True, kw_only=True)
class PlaybookRequest:
    """What to run. Paths are on the controller; nothing here goes through a shell."""

    project_dir: Path
    """The directory holding the playbooks (ansible-runner's project dir, the cwd)."""
    playbook: str
    """Path of the playbook relative to `project_dir`."""
    inventory: Path | Mapping[str, Any] | None = None
    limit: str | None = None
    extravars: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    skip_tags: Sequence[str] = ()
    check: bool = False
    diff: bool = False
    timeout: float = 600.0
    roles_path: Sequence[Path] = ()
    envvars: Mapping[str, str] = field(default_factory=dict)
    """Operator settings (ANSIBLE_* and the like), never alert data."""
    secrets: Sequence[str] = ()
    """Values to blank out of everything kept (tokens passed as extravars, ...)."""
    forks: int | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        for tag in (*self.tags, *self.skip_tags):
            if not _TAG.fullmatch(tag):
                raise ValueError(f"invalid tag {tag!r}")


@dataclass(frozen=True, kw_only=True)
class HostRecap:
    """One line of Ansible's PLAY RECAP."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    def to_json(self) -> dict[str, int]:
        return {"ok": self.ok, "changed": self.changed, "failed": self.failed,
                "unreachable": self.unreachable, "skipped": self.skipped,
                "rescued": self.rescued, "ignored": self.ignored}


@dataclass(frozen=True, kw_only=True)
class TaskFailure:
    """A task that failed (or found its host unreachable), with a redacted message."""

    host: str
    task: str
    message: str
    unreachable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "task": self.task, "message": self.message,
                "unreachable": self.unreachable}


EventKind = Literal["play", "task", "ok", "changed", "failed", "skipped", "unreachable"]


@dataclass(frozen=True, kw_only=True)
class PlaybookEvent:
    """Progress of a run, for live displays. Carries no module results."""

    kind: EventKind
    play: str = ""
    task: str = ""
    host: str = ""


EventCallback = Callable[[PlaybookEvent], None]


@dataclass(frozen=True, kw_only=True)
class PlaybookResult:
    status: Status
    rc: int
    recap: Mapping[str, HostRecap]
    duration: float
    tail: tuple[str, ...] = ()
    failures: tuple[TaskFailure, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    """Custom stats published by the play with `set_stats`."""

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0 and not self.failed_hosts

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(host for host, line in self.recap.items()
                      if line.failed or line.unreachable)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rc": self.rc,
            "recap": {host: line.to_json() for host, line in sorted(self.recap.items())},
            "duration": round(self.duration, 3),
            "tail": list(self.tail),
            "failures": [failure.to_json() for failure in self.failures],
            "stats": dict(self.stats),
        }
