"""The service under test as a child process: spawn, time start-up, watch memory, stop.

Every spawn gets its own loopback port, a random webhook token and API token
(auth stays on the path: no `--dev`), `REMEDIATOR_KUBERNETES=off` unless a
scenario points it at an emulator (a benchmark must never touch a real
cluster), and logs to a file in the scenario's work directory.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The run cannot produce an honest figure (the service died, never got ready, ...)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_kb(pid: int, key: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/PID/status, in kB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name == key:
                return int(rest.split()[0])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and every descendant alive now, plus what the exited
    ones left in their parents' `cutime`/`cstime` once reaped (PostgreSQL: the
    postmaster and one backend per connection). Take the difference of two calls."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        spent[child] = sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(spent.get(member, 0.0) for member in tree)


_COMPILED: list[bool] = []


def compile_bytecode() -> None:
    """Compile the service's own code once, as a deployed service has it.

    The image compiles its Python and pip compiles what it installs, but a
    development checkout is an editable install, and with
    `PYTHONDONTWRITEBYTECODE` set (as in this sandbox) every start would
    compile ~130 of our modules from source again, a cost no user pays. The
    bytecode goes where Python looks for it (`__pycache__`, git-ignored).
    """
    if not _COMPILED:
        repo = Path(__file__).resolve().parent.parent
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(repo / "remediator")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        _COMPILED.append(True)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The benchmark's environment without REMEDIATOR_* settings, bytecode compiled."""
    compile_bytecode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    return env | dict(extra or {})


def remediator_command() -> list[str]:
    script = Path(sys.executable).with_name("remediator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "remediator"]


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    api_token: str
    database_url: str
    log_file: Path
    startup_s: float = float("nan")
    rss_samples: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since sampling started, RSS in MB)."""
    _stop_sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return proc_kb(self.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark, or the highest sample if that is higher."""
        return max([proc_kb(self.pid, "VmHWM") / 1024, *(s[1] for s in self.rss_samples)])

    def cpu_s(self) -> float:
        return proc_cpu_s(self.pid)

    def sample_rss(self, interval: float) -> None:
        """Sample RSS every `interval` seconds in a thread until `stop()`."""
        self._stop_sampling.clear()
        started = time.perf_counter()

        def loop() -> None:
            while True:
                rss = self.rss_mb()
                if rss:
                    self.rss_samples.append((time.perf_counter() - started, rss))
                if self._stop_sampling.wait(interval):
                    return
        threading.Thread(target=loop, daemon=True, name="rss-sampler").start()

    def stop_sampling(self) -> None:
        self._stop_sampling.set()

    def stop(self) -> int | None:
        """SIGTERM, wait (20 s), then SIGKILL. Returns the exit code."""
        self._stop_sampling.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def clean_exit(self) -> bool:
        return self.process.returncode in (0, -signal.SIGTERM)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def spawn(*, workdir: Path, database_url: str, rules: Path, name: str = "service",
          env: Mapping[str, str] | None = None, kubernetes: str = "off",
          startup_timeout: float = 60, log_level: str = "WARNING") -> Service:
    """Start `remediator serve`; return once `GET /-/ready` answered 200 (start-up timed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    token, api_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    port = free_port()
    environment = child_env({
        "REMEDIATOR_WEBHOOK_TOKEN": token, "REMEDIATOR_API_TOKEN": api_token,
        "REMEDIATOR_KUBERNETES": kubernetes, "REMEDIATOR_LOG_LEVEL": log_level,
        "PYTHONUNBUFFERED": "1", **(env or {})})
    command = [*remediator_command(), "serve", "--database-url", database_url,
               "--listen", f"127.0.0.1:{port}", "--rules", str(rules)]
    log_file = workdir / f"{name}.log"
    url = f"http://127.0.0.1:{port}"
    with log_file.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=environment, cwd=workdir, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    service = Service(process=process, url=url, token=token, api_token=api_token,
                      database_url=database_url, log_file=log_file)
    deadline = started + startup_timeout
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode} during start-up:\n"
                                 f"{service.log_tail()}")
            try:
                if client.get(url + "/-/ready").status_code == 200:
                    service.startup_s = time.perf_counter() - started
                    return service
            except httpx.TransportError:
                pass
            time.sleep(0.005)  # polling readiness against a deadline
    service.stop()
    raise BenchError(f"{name} not ready after {startup_timeout:g}s:\n{service.log_tail()}")
