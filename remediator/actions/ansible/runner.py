"""A small typed adapter over ansible-runner's untyped `run(**kwargs)`.

One call runs one playbook in a private data directory of its own, removed
afterwards, and returns a `PlaybookResult` (`playbook`): status, return code,
the play recap per host, custom stats (`set_stats`), the failed tasks, the
duration and a bounded, redacted tail of the output (`events`, `redaction`).

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
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import ansible_runner

from remediator.actions.ansible.events import EventCollector, recap
from remediator.actions.ansible.playbook import (
    EventCallback,
    PlaybookRequest,
    PlaybookResult,
    Status,
)
from remediator.actions.ansible.processes import kill_run
from remediator.actions.ansible.redaction import Redactor, redact_data, secret_like

_MARKER = "REMEDIATOR_PLAYBOOK_RUN"


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
    redact = Redactor([*request.secrets, *secret_like(request.extravars)])
    collector = EventCollector(redact=redact, on_event=on_event,
                               tail_lines=tail_lines, tail_chars=tail_chars)
    with _private_dir(private_data_root) as private_dir:
        started = time.monotonic()
        raw_status, rc, timed_out = _run(request, private_dir, collector.handle, cancel,
                                         deadline=started + request.timeout)
    duration = time.monotonic() - started
    stats = collector.stats_event or {}
    custom = stats.get("artifact_data") or {}
    return PlaybookResult(
        status=_status(raw_status, rc, timed_out=timed_out),
        rc=int(rc if rc is not None else -1), recap=recap(stats),
        duration=duration, tail=collector.tail(), failures=tuple(collector.failures),
        stats=redact_data(custom, redact))


@contextlib.contextmanager
def _private_dir(root: Path | None) -> Iterator[Path]:
    """ansible-runner's private data directory for one run, removed afterwards."""
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    private_dir = Path(tempfile.mkdtemp(prefix="remediator-run-", dir=root))
    try:
        yield private_dir
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


def _run(request: PlaybookRequest, private_dir: Path,
         handler: Callable[[Mapping[str, Any]], bool], cancel: threading.Event | None, *,
         deadline: float) -> tuple[str, int | None, bool]:
    """ansible-runner's status and return code, and whether the deadline ended the run.

    Past the deadline or once `cancel` is set, every process of the run is
    killed; so is it when the run itself fails (a KeyboardInterrupt, a failing
    callback), so that nothing is left running.
    """
    marker = f"{_MARKER}={private_dir.name}"
    timed_out = threading.Event()

    def should_cancel() -> bool:
        if time.monotonic() >= deadline:
            timed_out.set()
        elif cancel is None or not cancel.is_set():
            return False
        kill_run(marker)
        return True

    try:
        (private_dir / "tmp").mkdir(mode=0o700)
        runner = ansible_runner.run(
            **_runner_kwargs(request, private_dir, marker),
            event_handler=handler,
            cancel_callback=should_cancel,
            # A hard stop for a run that never gets to check the callback.
            timeout=math.ceil(request.timeout) + 30,
        )
    except BaseException:  # KeyboardInterrupt, a failing callback: leave nothing running
        kill_run(marker)
        raise
    return str(runner.status), runner.rc, timed_out.is_set()


def _status(raw_status: str, rc: int | None, *, timed_out: bool) -> Status:
    if timed_out or raw_status == "timeout":
        return "timeout"
    if raw_status == "canceled":
        return "canceled"
    if raw_status == "successful" and rc == 0:
        return "successful"
    return "failed"


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
