"""ansible-runner's events, read into progress, failures, the play recap and a tail."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

from remediator.actions.ansible.playbook import (
    EventCallback,
    EventKind,
    HostRecap,
    PlaybookEvent,
    TaskFailure,
)
from remediator.actions.ansible.redaction import Redactor

log = logging.getLogger(__name__)


class EventCollector:
    """Turns ansible-runner events into progress, failures, recap and a tail."""

    def __init__(self, *, redact: Redactor, on_event: EventCallback | None,
                 tail_lines: int, tail_chars: int) -> None:
        self._redact = redact
        self._on_event = on_event
        self._tail: deque[str] = deque(maxlen=tail_lines)
        self._tail_chars = tail_chars
        self.failures: list[TaskFailure] = []
        self.stats_event: Mapping[str, Any] | None = None
        self._play = ""

    def handle(self, event: Mapping[str, Any]) -> bool:
        """ansible-runner's event_handler: returning False keeps events off the disk."""
        self._keep_output(str(event.get("stdout") or ""))
        name = event.get("event", "")
        data = event.get("event_data") or {}
        if name == "playbook_on_stats":
            self.stats_event = data
            return False
        kind = _event_kind(name, data)
        if kind is None:
            return False
        if kind == "play":
            self._play = str(data.get("name") or data.get("play") or "")
        task = str(data.get("task") or data.get("name") or "") if kind != "play" else ""
        host = str(data.get("host") or "")
        if kind in ("failed", "unreachable"):
            self.failures.append(TaskFailure(
                host=host, task=task, message=self._message(data.get("res")),
                unreachable=kind == "unreachable"))
        if self._on_event is not None:
            try:
                self._on_event(PlaybookEvent(kind=kind, play=self._play, task=task, host=host))
            except Exception:  # a broken display must not break the run
                log.exception("playbook event callback failed")
        return False

    def _keep_output(self, stdout: str) -> None:
        # Redacted whole first: a private key printed by a task spans lines.
        for line in self._redact(stdout.replace("\r", "")).splitlines():
            if line.strip():
                self._tail.append(line[:self._tail_chars])

    def _message(self, res: Any) -> str:
        if not isinstance(res, Mapping):
            return ""
        parts = [str(res[key]) for key in ("msg", "stderr", "reason") if res.get(key)]
        return self._redact(" | ".join(parts))[:1000]

    def tail(self) -> tuple[str, ...]:
        kept: list[str] = []
        size = 0
        for line in reversed(self._tail):
            size += len(line) + 1
            if size > self._tail_chars:
                break
            kept.append(line)
        return tuple(reversed(kept))


def _event_kind(name: str, data: Mapping[str, Any]) -> EventKind | None:
    if name == "playbook_on_play_start":
        return "play"
    if name == "playbook_on_task_start":
        return "task"
    if name == "runner_on_ok":
        res = data.get("res")
        return "changed" if isinstance(res, Mapping) and res.get("changed") else "ok"
    if name == "runner_on_failed":
        return "ok" if data.get("ignore_errors") else "failed"
    if name == "runner_on_skipped":
        return "skipped"
    if name == "runner_on_unreachable":
        return "unreachable"
    return None


def recap(stats: Mapping[str, Any] | None) -> dict[str, HostRecap]:
    if not stats:
        return {}
    columns = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
               "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
    hosts: set[str] = set()
    for key in (*columns, "processed"):
        hosts.update((stats.get(key) or {}).keys())
    recap: dict[str, HostRecap] = {}
    for host in hosts:
        counts = {name: int((stats.get(key) or {}).get(host, 0)) for key, name in columns.items()}
        recap[str(host)] = HostRecap(**counts)
    return recap
