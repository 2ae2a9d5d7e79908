"""Everything a running service holds, built once from settings (and injectables).

Tests pass their own clock, database, metric registry, actions and verifier;
production builds them from `Settings`. The web app, the scheduler and the
CLI all receive this one object instead of reaching for globals.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from remediator.actions.base import Action, ActionRegistry
from remediator.alertmanager import AlertmanagerClient
from remediator.clock import Clock, utcnow
from remediator.intake import Intake
from remediator.metrics import Metrics
from remediator.policy import Policy
from remediator.preflight import Preflight, PreflightConfig
from remediator.prometheus import PrometheusConfig, PrometheusExecutor
from remediator.rulebook import RuleBook
from remediator.settings import Settings
from remediator.store import Database
from remediator.verify import NoVerifier, PrometheusVerifier, Verifier
from remediator.worker import Worker
from remediator.writer import DecisionWriter

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    database: Database
    rulebook: RuleBook
    intake: Intake
    worker: Worker
    metrics: Metrics
    clock: Clock
    executable: frozenset[str]
    writer: DecisionWriter
    alertmanager: AlertmanagerClient | None = None
    prometheus: PrometheusExecutor | None = None

    async def aclose(self) -> None:
        """Release connections (Alertmanager client, database pools)."""
        if self.alertmanager is not None:
            await self.alertmanager.aclose()
        if self.prometheus is not None:
            self.prometheus.close()
        self.database.dispose()

    @classmethod
    def build(cls, settings: Settings, *, database: Database | None = None,
              metrics: Metrics | None = None, clock: Clock = utcnow,
              actions: ActionRegistry | None = None,
              verifier: Verifier | None = None) -> Services:
        metrics = metrics or Metrics.create()
        database = database or Database(settings.database_url)
        database.migrate()
        rulebook = RuleBook(settings.rules, metrics=metrics, clock=clock)
        if actions is None:
            actions = default_actions(settings)
        executable = frozenset(actions.types())
        if not any(t.startswith("kubernetes.") for t in executable):
            log.warning("no Kubernetes connection: Kubernetes actions run as dry-runs "
                        "(decided and audited, not executed)")
        policy = Policy.from_settings(settings, executable=executable)
        if "kube-system" not in settings.denied_namespaces:
            log.warning("kube-system is not in DENIED_NAMESPACES (%s): setting the list "
                        "replaces the default", ",".join(settings.denied_namespaces) or "empty")
        intake = Intake(database=database, rulebook=rulebook, policy=policy, metrics=metrics,
                        clock=clock)
        prometheus_config = PrometheusConfig.from_settings(settings)
        prometheus = (PrometheusExecutor.connect(prometheus_config) if prometheus_config
                      else None)
        if verifier is None:
            verifier = (PrometheusVerifier(prometheus.client.config, executor=prometheus)
                        if prometheus is not None else NoVerifier())
        preflight = Preflight(database=database, actions=actions, prometheus=prometheus,
                              rules=lambda name: rulebook.current.by_name(name), clock=clock,
                              config=PreflightConfig.from_settings(settings))
        worker = Worker(database=database, intake=intake, actions=actions, verifier=verifier,
                        metrics=metrics, clock=clock, concurrency=settings.workers,
                        retries=settings.action_retries, backoff=settings.retry_backoff,
                        preflight=preflight)
        alertmanager = (AlertmanagerClient(settings.alertmanager_url)
                        if settings.alertmanager_url else None)
        return cls(settings=settings, database=database, rulebook=rulebook, intake=intake,
                   worker=worker, metrics=metrics, clock=clock, executable=executable,
                   writer=DecisionWriter(intake), alertmanager=alertmanager,
                   prometheus=prometheus)


def kube_config_present(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the client would find a configuration (checked without importing it).

    Importing the Kubernetes client costs about a second and 30 MB; a service
    without a cluster should not pay that at every start.
    """
    env = os.environ if environ is None else environ
    if env.get("KUBERNETES_SERVICE_HOST"):
        return True
    paths = (env["KUBECONFIG"].split(os.pathsep) if env.get("KUBECONFIG")
             else [str(Path.home() / ".kube" / "config")])
    return any(path and Path(path).is_file() for path in paths)


def default_actions(settings: Settings) -> ActionRegistry:
    """Kubernetes actions when a cluster is configured; plays when an inventory is.

    Whatever is not configured is decided and audited as a dry-run, so a
    newcomer can watch the service decide without a cluster.
    """
    registry: dict[str, Action] = {}
    wanted = settings.kubernetes == "on" or (settings.kubernetes == "auto"
                                             and kube_config_present())
    if wanted:
        from remediator.actions import kubernetes

        client = kubernetes.load_api_client(settings.kubernetes)
        if client is not None:
            registry.update(kubernetes.kubernetes_actions(client))
    if settings.ansible_inventory is not None:
        from remediator.actions.ansible import AnsiblePlaybookAction

        registry["ansible.playbook"] = AnsiblePlaybookAction(
            settings.playbook_dir, inventory=settings.ansible_inventory)
    return ActionRegistry(registry)
