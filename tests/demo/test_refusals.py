"""`serve --demo` refuses anything that reaches something real, in one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT, demo_argv, environment

REAL = "postgresql+psycopg://remediator:hunter2@db.prod.example.org/remediator"


def start(*flags: str, argv: list[str] | None = None,
          **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv or demo_argv(*flags), capture_output=True, text=True,
                          timeout=60, env=environment(**env), cwd=ROOT, check=False)


@pytest.mark.parametrize(("flags", "env", "says"), [
    pytest.param(("--database-url", REAL), {},
                 "demo: --database-url is set (postgresql+psycopg): the demo uses a fresh "
                 "SQLite file of its own", id="postgresql"),
    pytest.param(("--database-url", "sqlite:////var/lib/remediator/remediator.db"), {},
                 "demo: --database-url is set (sqlite)", id="production-sqlite"),
    pytest.param((), {"REMEDIATOR_DATABASE_URL": REAL},
                 "demo: --database-url is set (postgresql+psycopg)", id="database-env"),
    pytest.param((), {"KUBECONFIG": "/etc/rancher/k3s/k3s.yaml"},
                 "demo: KUBECONFIG is set: the demo acts only on its emulated cluster",
                 id="kubeconfig"),
    pytest.param((), {"KUBERNETES_SERVICE_HOST": "10.43.0.1"},
                 "demo: KUBERNETES_SERVICE_HOST is set (running in a pod)", id="in-cluster"),
    pytest.param(("--ansible-inventory", "inventory/hosts.yml"), {},
                 "demo: --ansible-inventory is set (an Ansible inventory (real hosts))",
                 id="inventory"),
    pytest.param(("--alertmanager-url", "http://alertmanager:9093"), {},
                 "demo: --alertmanager-url is set (Alertmanager): the demo connects to "
                 "nothing real", id="alertmanager"),
])
def test_refuses_what_reaches_something_real(flags: tuple[str, ...], env: dict[str, str],
                                             says: str) -> None:
    done = start(*flags, "--log-format", "console", **env)

    assert done.returncode == 2, done.stderr
    refusals = [line for line in done.stderr.splitlines() if "refusing to start" in line]
    assert len(refusals) == 1, done.stderr
    assert f"refusing to start: {says}" in refusals[0]
    assert "hunter2" not in done.stderr
    assert "emulated cluster at" not in done.stderr


def test_without_kmock_it_says_which_extra_to_install() -> None:
    blocked = ("import sys; sys.modules['kmock'] = None; sys.argv = ['remediator', 'serve', "
               "'--demo', '--log-format', 'console']; from remediator.cli import main; main()")

    done = start(argv=[sys.executable, "-c", blocked])

    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "refusing to start: demo: install remediator[demo]" in line


def test_a_demo_sqlite_file_of_ones_own_is_accepted() -> None:
    from remediator.app.settings import load_settings
    from remediator.demo.serve import demo_settings, refusal

    chosen = load_settings(database_url="sqlite:///kept-demo.db")
    assert refusal(chosen, {}) is None
    assert demo_settings(chosen, ROOT).database_url == "sqlite:///kept-demo.db"
    fresh = demo_settings(load_settings(), ROOT)
    assert fresh.database_url == f"sqlite:///{ROOT}/remediator-demo.db"
    assert fresh.dev and fresh.kubernetes == "on"
    assert fresh.rules[0].endswith("remediator/demo/rules")
