"""A small typed adapter over ansible-runner's untyped `run(**kwargs)`.

One call runs one playbook in a private data directory of its own, removed
afterwards, and returns a `PlaybookResult`: status, return code, the play
recap per host, custom stats (`set_stats`), the failed tasks, the duration
and a bounded, redacted tail of the output.

Safety properties the rest of the service relies on:
- extra variables reach Ansible as data, written by ansible-runner to
  `env/extravars` and wrapped as *unsafe*, so a label value such as
  `{{ lookup('pipe', 'reboot') }}` or `x'; reboot; '` stays a literal string:
  no shell, no command line, no Jinja evaluation;
- nothing from the request is put in the process environment;
- a timeout (or a cancellation) kills the whole process group of the run;
- secrets (given values, vault blobs, `password=`-like pairs) never reach the
  tail, the failure messages or the event callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ansible_runner

from remediator.evidence.detectors import detectors
from remediator.evidence.redact import redact_text

Status = Literal["successful", "failed", "timeout", "canceled"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SECRET_PAIR = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[\w-]*"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)")
_MARKER = "REMEDIATOR_PLAYBOOK_RUN"

log = logging.getLogger(__name__)


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


class Redactor:
    """Blanks out known secret values and every secret shape `evidence.redact` knows.

    That is vault blobs, `password=`-like pairs, CLI flags, tokens and private
    keys, the same redaction as the evidence kept for Kubernetes actions.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 4}))
        detectors()  # loaded now (about a second), not in the run's first event

    def __call__(self, text: str) -> str:
        return redact_text(text, known=self._secrets)


class _Collector:
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


def _recap(stats: Mapping[str, Any] | None) -> dict[str, HostRecap]:
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


def _unsafe(value: Any) -> Any:
    """Mark strings as unsafe for Ansible's templating (JSON form of `!unsafe`)."""
    if isinstance(value, str):
        return {"__ansible_unsafe": value}
    if isinstance(value, Mapping):
        return {str(key): _unsafe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unsafe(item) for item in value]
    return value


def _environment(request: PlaybookRequest, private_dir: Path) -> dict[str, str]:
    env = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
           "ANSIBLE_LOCAL_TEMP": str(private_dir / "tmp")}
    # The ansible-playbook that belongs to this interpreter, even when its
    # virtualenv is not activated.
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "ansible-playbook").exists():
        env["PATH"] = os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)])
    # The service's own secrets stay out of the plays.
    env.update({key: "" for key in os.environ if key.startswith("REMEDIATOR_")})
    env.update(request.envvars)
    return env


def _runner_kwargs(request: PlaybookRequest, private_dir: Path, marker: str) -> dict[str, Any]:
    flags = [flag for flag, on in (("--check", request.check), ("--diff", request.diff)) if on]
    name, _, value = marker.partition("=")
    kwargs: dict[str, Any] = {
        "private_data_dir": str(private_dir),
        "project_dir": str(request.project_dir),
        "playbook": request.playbook,
        "envvars": {**_environment(request, private_dir), name: value},
        "settings": {"pexpect_timeout": 0.2, "suppress_output_file": True},
        "quiet": True,
        "ident": "run",
    }
    if request.extravars:
        kwargs["extravars"] = _unsafe(dict(request.extravars))
    if request.inventory is not None:
        inventory = request.inventory
        kwargs["inventory"] = str(inventory) if isinstance(inventory, Path) else dict(inventory)
    if request.limit is not None:
        kwargs["limit"] = request.limit
    if request.tags:
        kwargs["tags"] = ",".join(request.tags)
    if request.skip_tags:
        kwargs["skip_tags"] = ",".join(request.skip_tags)
    if flags:
        kwargs["cmdline"] = " ".join(flags)
    if request.roles_path:
        kwargs["roles_path"] = [str(path) for path in request.roles_path]
    if request.forks is not None:
        kwargs["forks"] = request.forks
    return kwargs


def run_playbook(request: PlaybookRequest, *, on_event: EventCallback | None = None,
                 cancel: threading.Event | None = None,
                 private_data_root: Path | None = None,
                 tail_lines: int = 40, tail_chars: int = 4000) -> PlaybookResult:
    """Run one playbook to completion (blocking); see `run_playbook_async`."""
    redact = Redactor([*request.secrets, *_secret_like(request.extravars)])
    collector = _Collector(redact=redact, on_event=on_event,
                           tail_lines=tail_lines, tail_chars=tail_chars)
    if private_data_root is not None:
        private_data_root.mkdir(parents=True, exist_ok=True)
    private_dir = Path(tempfile.mkdtemp(prefix="remediator-run-", dir=private_data_root))
    marker = f"{_MARKER}={private_dir.name}"
    started = time.monotonic()
    deadline = started + request.timeout
    timed_out = threading.Event()

    def should_cancel() -> bool:
        if time.monotonic() >= deadline:
            timed_out.set()
        elif cancel is None or not cancel.is_set():
            return False
        _kill_run(marker)
        return True

    try:
        (private_dir / "tmp").mkdir(mode=0o700)
        runner = ansible_runner.run(
            **_runner_kwargs(request, private_dir, marker),
            event_handler=collector.handle,
            cancel_callback=should_cancel,
            # A hard stop for a run that never gets to check the callback.
            timeout=math.ceil(request.timeout) + 30,
        )
        raw_status, rc = str(runner.status), runner.rc
    except BaseException:  # KeyboardInterrupt, a failing callback: leave nothing running
        _kill_run(marker)
        raise
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)
    duration = time.monotonic() - started
    status: Status
    if timed_out.is_set() or raw_status == "timeout":
        status = "timeout"
    elif raw_status == "canceled":
        status = "canceled"
    elif raw_status == "successful" and rc == 0:
        status = "successful"
    else:
        status = "failed"
    stats = collector.stats_event or {}
    custom = stats.get("artifact_data") or {}
    return PlaybookResult(
        status=status, rc=int(rc if rc is not None else -1), recap=_recap(stats),
        duration=duration, tail=collector.tail(), failures=tuple(collector.failures),
        stats=_redact_data(custom, redact))


def _kill_run(marker: str) -> None:
    """SIGKILL every process of one run, found by the marker in its environment.

    ansible-runner kills the process group of `ansible-playbook`, but Ansible's
    workers start sessions of their own (and so do the commands they run), so
    a killed run would leave its tasks running. Every process of the run
    inherits the marker, so we find them all, however they detached.
    """
    needle = marker.encode() + b"\0"
    for _ in range(10):
        pids = [pid for pid in _marked_processes(needle) if pid != os.getpid()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _marked_processes(needle: bytes) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if needle in environ.read():
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def _secret_like(extravars: Mapping[str, Any]) -> list[str]:
    """Values of extravars whose name says they are secret."""
    found: list[str] = []
    for key, value in extravars.items():
        if isinstance(value, str) and _SECRET_PAIR.search(f"{key}=x"):
            found.append(value)
    return found


def _redact_data(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_data(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_data(v, redact) for v in value]
    return value


async def run_playbook_async(request: PlaybookRequest, *,
                             on_event: EventCallback | None = None,
                             private_data_root: Path | None = None,
                             tail_lines: int = 40, tail_chars: int = 4000) -> PlaybookResult:
    """Run a playbook in a thread of its own so the event loop keeps serving.

    `on_event` is called from that thread. Cancelling the awaiting task kills
    the run (its process group) and waits until it is gone before re-raising.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[PlaybookResult] = loop.create_future()
    cancel = threading.Event()

    def settle(result: PlaybookResult | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        result: PlaybookResult | None = None
        failure: BaseException | None = None
        try:
            result = run_playbook(request, on_event=on_event, cancel=cancel,
                                  private_data_root=private_data_root,
                                  tail_lines=tail_lines, tail_chars=tail_chars)
        except BaseException as error:  # handed to the awaiting task
            failure = error
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result, failure)

    thread = threading.Thread(target=target, name=f"playbook:{request.playbook}", daemon=True)
    thread.start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        cancel.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.shield(done)
        raise
