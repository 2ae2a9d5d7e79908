"""`remediator serve --demo`: the real service against an emulated cluster.

Everything inside the service is what production runs: the webhook, the
rule engine and guards, the store (a fresh SQLite file), the worker, the
official Kubernetes client (loading a kubeconfig that names the emulator),
evidence collection and verification. Only the world outside is emulated:
the cluster (kmock's KubernetesEmulator with a small seeded scene and a
controller), and Alertmanager (a script posting alerts to the webhook once
the service is ready, resolving them when the cluster recovers).

It must be impossible to mistake for production, so it refuses to start
with anything that reaches something real: a KUBECONFIG or an in-cluster
account, a database other than a demo SQLite file, Prometheus, Alertmanager,
an Ansible inventory, a notification URL. `~/.kube/config` is never read
(the client sees only the demo's kubeconfig).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from remediator.app import logs
from remediator.app.settings import Settings
from remediator.store.location import DEFAULT_DATABASE_URL
from remediator.web.server import serve

if TYPE_CHECKING:  # kmock is optional: imported once its absence has been reported
    from remediator.demo.emulator import EmulatedCluster

log = logging.getLogger("remediator")

DEMO_RULES = Path(__file__).parent / "rules"
DEFAULT_RULES = ["rules"]
INSTALL = "install remediator[demo]"
_REAL = {"prometheus_url": "Prometheus", "alertmanager_url": "Alertmanager",
         "ansible_inventory": "an Ansible inventory (real hosts)",
         "notify_slack_url": "a Slack webhook", "notify_webhook_url": "a notification webhook",
         "database_url_file": "a database URL file"}


def refusal(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Why demo mode must not start with these settings, in one line; None: it may."""
    if environ.get("KUBECONFIG"):
        return ("KUBECONFIG is set: the demo acts only on its emulated cluster; unset it "
                "(~/.kube/config is never read)")
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return ("KUBERNETES_SERVICE_HOST is set (running in a pod): the demo never runs "
                "beside a real cluster's service account")
    for name, what in _REAL.items():
        if getattr(settings, name):
            return (f"--{name.replace('_', '-')} is set ({what}): the demo connects to "
                    "nothing real")
    if demo_database(settings) is None and settings.database_url != DEFAULT_DATABASE_URL:
        scheme = settings.database_url.split(":", 1)[0]
        return (f"--database-url is set ({scheme}): the demo uses a fresh SQLite file of its "
                "own; only a sqlite:/// file whose name contains 'demo' is accepted")
    return None


def demo_database(settings: Settings) -> str | None:
    """A SQLite file the user chose for the demo (its name says `demo`), or None."""
    url = settings.database_url
    if url.startswith("sqlite:///") and "demo" in Path(url.removeprefix("sqlite:///")).name:
        return url
    return None


def demo_settings(settings: Settings, scratch: Path) -> Settings:
    """The service's settings: its own database and rules, no token needed, Kubernetes on."""
    update: dict[str, object] = {
        "database_url": demo_database(settings) or f"sqlite:///{scratch}/remediator-demo.db",
        "kubernetes": "on"}
    if settings.rules == DEFAULT_RULES:
        update["rules"] = [str(DEMO_RULES)]
    if settings.resolved_webhook_token() is None:
        update["dev"] = True
    return settings.model_copy(update=update)


def serve_demo(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Check, start the emulated cluster, serve; the cluster stops when the service does."""
    logs.setup(settings.log_level, settings.log_format)
    for chatty in ("aiohttp.access", "httpx"):  # the emulator's and the script's requests
        logging.getLogger(chatty).setLevel(logging.WARNING)
    problem = refusal(settings, os.environ if environ is None else environ)
    if problem is not None:
        _refuse(f"demo: {problem}")
    try:
        from remediator.demo import scene
        from remediator.demo.emulator import EmulatedCluster, write_kubeconfig
    except ImportError as error:
        _refuse(f"demo: {INSTALL} ({error})")
    with tempfile.TemporaryDirectory(prefix="remediator-demo-") as directory:
        scratch = Path(directory)
        demo = demo_settings(settings, scratch)
        started = time.monotonic()
        cluster = EmulatedCluster(scene.build(datetime.now(UTC)))
        url = cluster.start()
        kubeconfig = write_kubeconfig(scratch / "kubeconfig", url)
        log.info("demo mode: emulated cluster at %s, nothing real is touched (started in "
                 "%.2f s; database %s, rules %s)", url, time.monotonic() - started,
                 demo.database_url, ",".join(demo.rules))
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            serve(demo, kube_environ={"KUBECONFIG": str(kubeconfig), "HOME": directory},
                  on_listening=lambda base: _alerts(cluster, base, demo))
        except KeyboardInterrupt:
            raise SystemExit(128 + signal.SIGINT) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
            cluster.stop()


def _terminated(signum: int, frame: object) -> NoReturn:
    """uvicorn re-raises the signal it stopped on once it has shut down: exit through
    Python here, not the default action, so the temporary directory is removed."""
    raise SystemExit(128 + signum)


def _alerts(cluster: EmulatedCluster, base: str, settings: Settings) -> None:
    """Start the demo's Alertmanager on the cluster's loop; its failure is logged."""
    from remediator.demo.alertmanager import DemoAlertmanager

    token = settings.resolved_webhook_token()
    sending = cluster.submit(lambda: DemoAlertmanager(cluster.objects(), base,
                                                      token=token).run())
    sending.add_done_callback(_report)


def _report(done: Future[None]) -> None:
    if done.cancelled():  # the cluster stopped first (the service is shutting down)
        return
    error = done.exception()
    if error is not None:
        log.error("demo alertmanager stopped: %s", error)
    else:
        log.info("demo alertmanager: every scripted alert sent; approve the rollback in "
                 "the console to see it run")


def _refuse(message: str) -> NoReturn:
    log.error("refusing to start: %s", message)
    sys.exit(2)
