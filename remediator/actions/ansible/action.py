"""The `ansible.playbook` action: run a repair play through ansible-runner.

The request was rendered and validated by `specs.AnsiblePlaybook`; this
module checks it again (it may come back from the job table) and never lets
it choose anything outside the playbook directory. Alert data reaches the
play only as extra variables, passed as unsafe data: see `remediator.actions.ansible.runner`.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remediator.actions.ansible.inventory import InventoryUnreadable, inventory_hosts
from remediator.actions.ansible.playbook import EventCallback, PlaybookRequest, PlaybookResult
from remediator.actions.ansible.runner import run_playbook_async
from remediator.model import validation
from remediator.model.actions import ActionError, ActionRequest, ActionResult, TargetGone

ACTION_TYPE = "ansible.playbook"

# Variables a rule must not set: they steer connections, privileges or Ansible itself.
_RESERVED = frozenset({
    "environment", "group_names", "groups", "hostvars", "inventory_dir", "inventory_file",
    "inventory_hostname", "inventory_hostname_short", "omit", "play_hosts", "playbook_dir",
    "role_path", "vars",
})


class AnsiblePlaybookAction:
    """Runs playbooks found under `playbook_dir` against `inventory`."""

    def __init__(self, playbook_dir: Path, *, inventory: Path | Mapping[str, Any] | None = None,
                 roles_path: Sequence[Path] | None = None,
                 private_data_root: Path | None = None,
                 envvars: Mapping[str, str] | None = None,
                 secrets: Sequence[str] = (),
                 max_concurrent: int = 2,
                 tail_lines: int = 40,
                 on_event: EventCallback | None = None) -> None:
        """
        playbook_dir: where rule `playbook` paths are looked up (e.g. `playbooks/`).
        inventory: an inventory file or directory, or an inventory mapping.
        roles_path: defaults to `roles/` beside `playbook_dir` when it exists.
        private_data_root: where each run's private data directory is made
            (and removed); the system temporary directory by default.
        envvars: fixed environment for ansible-playbook (ANSIBLE_* settings);
            alert data never goes there.
        secrets: values to keep out of the audit detail (vault passwords, tokens).
        max_concurrent: plays running at once; others wait their turn.
        """
        self._playbook_dir = Path(playbook_dir).resolve()
        self._inventory = inventory
        if roles_path is None:
            sibling = self._playbook_dir.parent / "roles"
            roles_path = [sibling] if sibling.is_dir() else []
        self._roles_path = tuple(roles_path)
        self._private_data_root = private_data_root
        self._envvars = dict(envvars or {})
        self._secrets = tuple(secrets)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tail_lines = tail_lines
        self._on_event = on_event
        self._hosts: frozenset[str] | None = None

    async def run(self, request: ActionRequest) -> ActionResult:
        playbook_request = self._playbook_request(request)
        async with self._slots:
            result = await run_playbook_async(
                playbook_request, on_event=self._on_event,
                private_data_root=self._private_data_root, tail_lines=self._tail_lines)
        return _outcome(playbook_request, result)

    def _playbook_request(self, request: ActionRequest) -> PlaybookRequest:
        if request.type != ACTION_TYPE:
            raise ActionError(f"{ACTION_TYPE} cannot run a {request.type!r} request")
        params = request.params
        playbook = self._playbook(params.get("playbook"))
        limit = str(params.get("limit") or "all")
        try:
            if limit != "all":
                validation.host(limit)
            tags = [validation.identifier(str(tag)) for tag in params.get("tags") or ()]
            extravars = _extravars(params.get("extravars") or {})
        except validation.InvalidTarget as error:
            raise ActionError(str(error)) from None
        if params.get("limit_from_labels"):
            self._check_one_host(limit)
        return PlaybookRequest(
            project_dir=self._playbook_dir, playbook=playbook, inventory=self._inventory,
            limit=None if limit == "all" else limit, extravars=extravars, tags=tags,
            check=bool(params.get("check", False)), timeout=request.timeout,
            roles_path=self._roles_path, envvars=self._envvars, secrets=self._secrets)

    def _check_one_host(self, limit: str) -> None:
        """Again at run time (the request may come back from the job table): a
        limit from labels must be one host of the inventory the play runs on."""
        if self._inventory is None:
            return
        if self._hosts is None:
            try:
                self._hosts = inventory_hosts(self._inventory)
            except InventoryUnreadable as error:
                raise ActionError(str(error)) from None
        if limit not in self._hosts:
            raise ActionError(f"limit {limit!r} from labels is not a host of the inventory; "
                              "not run")

    def _playbook(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ActionError("request has no playbook")
        normal = posixpath.normpath(value)
        path = (self._playbook_dir / normal).resolve()
        if (normal.startswith(("/", "..")) or not normal.endswith((".yml", ".yaml"))
                or not path.is_relative_to(self._playbook_dir)):
            raise ActionError(
                f"playbook {value!r} is not a .yml file inside the playbook directory")
        if not path.is_file():
            raise ActionError(f"playbook {value!r} not found in {self._playbook_dir}")
        return normal


def _extravars(values: Any) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise validation.InvalidTarget("extravars must be a mapping")
    checked: dict[str, str] = {}
    for key, value in values.items():
        name = validation.identifier(str(key))
        if name.startswith("ansible_") or name in _RESERVED:
            raise validation.InvalidTarget(f"extravar {name!r} is reserved by Ansible")
        if not isinstance(value, str):
            raise validation.InvalidTarget(f"extravar {name!r} must be a string")
        checked[name] = value
    return checked


def _outcome(request: PlaybookRequest, result: PlaybookResult) -> ActionResult:
    detail = result.to_json()
    if result.status == "timeout":
        raise ActionError("timeout", transient=False, detail=detail)
    if result.status == "canceled":
        raise ActionError("canceled", transient=False, detail=detail)
    if request.limit is not None and not result.recap and _no_host_matched(result):
        raise TargetGone(f"no inventory host matches {request.limit!r}", detail=detail)
    if not result.ok:
        raise ActionError(_failure_message(request, result), transient=False, detail=detail)
    changed = sum(line.changed for line in result.recap.values())
    hosts = ", ".join(sorted(result.recap)) or "no hosts"
    mode = " (check mode)" if request.check else ""
    return ActionResult(
        message=f"{request.playbook} succeeded on {hosts}{mode}: {changed} changed"
                + _findings(result),
        detail=detail)


def _findings(result: PlaybookResult) -> str:
    """`; findings: worker-1: disk / ...` when a diagnosis play published its report.

    The whole report stays in `detail.stats.diagnosis`; the message names what
    looks wrong, so the audit list reads without opening the entry.
    """
    diagnosis = result.stats.get("diagnosis")
    if not isinstance(diagnosis, Mapping):
        return ""
    parts = []
    for host, report in sorted(diagnosis.items()):
        found = report.get("findings") if isinstance(report, Mapping) else None
        if isinstance(found, list):
            parts.append(f"{host}: {', '.join(map(str, found)) or 'nothing wrong found'}")
    summary = "; ".join(parts)
    return f"; findings: {summary[:500]}" if parts else ""


def _no_host_matched(result: PlaybookResult) -> bool:
    return any("Could not match supplied host pattern" in line
               or "no hosts to target" in line or "no hosts matched" in line
               for line in result.tail)


def _failure_message(request: PlaybookRequest, result: PlaybookResult) -> str:
    if result.failures:
        first = result.failures[0]
        what = "unreachable" if first.unreachable else "failed"
        return f"{request.playbook}: host {first.host} {what} at task {first.task!r}"
    if result.failed_hosts:
        return f"{request.playbook} failed on {', '.join(result.failed_hosts)}"
    return f"{request.playbook} failed with rc={result.rc}"
