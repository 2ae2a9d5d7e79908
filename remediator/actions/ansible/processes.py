"""Every process of one playbook run, found and killed however it detached."""

from __future__ import annotations

import contextlib
import os
import signal
import time


def kill_run(marker: str) -> None:
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
