"""Everything a running service holds, built once from settings (and injectables).

Tests pass their own clock, database, metric registry, actions and verifier;
production builds them from `Settings`. The web app, the scheduler and the
CLI all receive this one object instead of reaching for globals.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remediator.actions.deferred import DeferredActions
from remediator.actions.kubernetes.deferred import deferred_kubernetes
from remediator.actions.kubernetes.source import KubeConfigError, find_kube_source, kubeconfig_paths
from remediator.actions.registry import ActionRegistry
from remediator.app.audit_head import audit_head_gauges
from remediator.app.gitops import service_proposer
from remediator.app.metrics import Metrics
from remediator.app.policy_settings import policy_from_settings, read_inventory_hosts
from remediator.app.settings import Settings
from remediator.clients.alertmanager import AlertmanagerClient
from remediator.clients.prometheus import PrometheusConfig, PrometheusExecutor
from remediator.execute.gitops_gate import GitopsConfig, GitopsGate
from remediator.execute.preflight import Preflight, PreflightConfig
from remediator.execute.verify import NoVerifier, PrometheusVerifier
from remediator.execute.worker import Worker
from remediator.gitops.proposals import Proposer
from remediator.intake.catchup import CatchUp
from remediator.intake.intake import Intake
from remediator.intake.writer import DecisionWriter
from remediator.model.abc import Action, Verifier
from remediator.model.clock import Clock, utcnow
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.rules.model import Rule
from remediator.store import Database
from remediator.store.approving import ApprovalStore
from remediator.store.audit.seal import AuditSeal
from remediator.store.intake_store import IntakeStore
from remediator.store.operating import OperatorStore
from remediator.store.preflight_store import PreflightStore
from remediator.store.readmodel import ReadModel
from remediator.store.service import Store
from remediator.store.sessions import SessionStore
from remediator.store.timeouts import Timeouts

if TYPE_CHECKING:  # built only when configured: httpx and the chat stack stay unloaded
    from remediator.app.timeline import Timeline
    from remediator.operate.chat.hub import Chat

log = logging.getLogger(__name__)

_SERVICE_THREADS = 6
"""Threads beside the workers': the webhook's writer, the scheduler's jobs, catch-up."""


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
    reads: ReadModel
    """What the console, the API and the CLI show (one read transaction per call)."""
    sessions: SessionStore
    """Console sessions and failed sign-ins, shared by every replica."""
    operator_store: OperatorStore
    """Operator actions and their audit entries (`operate.operator_log`, sessions, status)."""
    approval_store: ApprovalStore
    """Answers to approval requests and their expiry (`operate.approvals`)."""
    alertmanager: AlertmanagerClient | None = None
    catch_up: CatchUp | None = None
    prometheus: PrometheusExecutor | None = None
    kubernetes: DeferredActions | None = None
    """The Kubernetes actions while their client loads in the background (see `start`)."""
    chat: Chat | None = None
    """Slack/Mattermost approvals, when configured (`operate.chat`)."""
    timeline: Timeline | None = None
    """PagerDuty/Opsgenie/Grafana incident timelines, when configured (`operate.timeline`)."""

    def start(self) -> None:
        """Begin what may run once the service serves: loading the Kubernetes client,
        checkpointing SQLite's log in the background.

        Called on the event loop. Sizes the loop's thread pool first: every
        job of the worker holds a thread while it writes to the database or
        waits for the API server, and the default pool (cores + 4 threads,
        shared with the webhook's writer and the scheduler) left `workers`
        jobs queueing for threads instead of running.
        """
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(
            max_workers=self.settings.workers + _SERVICE_THREADS,
            thread_name_prefix="remediator"))
        self.database.checkpoint_in_background()
        if self.kubernetes is not None:
            self.kubernetes.start()

    async def aclose(self) -> None:
        """Release connections (Alertmanager client, database pools)."""
        if self.catch_up is not None:
            await self.catch_up.stop()
        if self.alertmanager is not None:
            await self.alertmanager.aclose()
        if self.chat is not None:
            await self.chat.aclose()
        if self.timeline is not None:
            await self.timeline.aclose()
        if self.prometheus is not None:
            self.prometheus.close()
        self.database.dispose()

    @classmethod
    def build(cls, settings: Settings, *, database: Database | None = None,
              metrics: Metrics | None = None, clock: Clock = utcnow,
              actions: ActionRegistry | None = None, verifier: Verifier | None = None,
              kube_environ: Mapping[str, str] | None = None,
              proposer: Proposer | None = None) -> Services:
        """`kube_environ`: the kubeconfig's environment (the demo's); `proposer`: git's side."""
        metrics = metrics or Metrics.create()
        # Rules, then the cluster: either refuses to start before anything is written.
        rulebook = RuleBook(settings.rules, metrics=metrics.rules, clock=clock)
        cluster, deferred = "injected actions", None
        if actions is None:
            actions, cluster, deferred = service_actions(settings, kube_environ)
        database = database or Database(settings.database_url, seal=open_seal(settings),
                                        timeouts=database_timeouts(settings))
        database.migrate()
        audit_head_gauges(database, metrics.audit_head)  # right from the first scrape
        executable = frozenset(actions.types())
        warn_about_reach(settings, executable)
        policy = policy_from_settings(settings, executable=executable,
                                      inventory_hosts=read_inventory_hosts(settings))
        log.info("%s", startup_summary(settings, rulebook, database, cluster))
        intake = Intake(store=IntakeStore(database), rulebook=rulebook, policy=policy,
                        metrics=metrics.intake, clock=clock)
        prometheus_config = PrometheusConfig.from_settings(settings)
        prometheus = (PrometheusExecutor.connect(prometheus_config) if prometheus_config
                      else None)
        if verifier is None:
            verifier = (PrometheusVerifier(prometheus.client.config, executor=prometheus)
                        if prometheus is not None else NoVerifier())
        worker = build_worker(settings, database=database, rulebook=rulebook, policy=policy,
                              actions=actions, verifier=verifier, prometheus=prometheus,
                              metrics=metrics, clock=clock,
                              proposer=proposer or service_proposer(settings))
        alertmanager = (AlertmanagerClient(settings.alertmanager_url,
                                           receiver=settings.alertmanager_receiver)
                        if settings.alertmanager_url else None)
        if alertmanager is not None:
            log.info("%s", alertmanager.scope())
        reads = ReadModel(database=database)
        return cls(settings=settings, database=database, rulebook=rulebook, intake=intake,
                   worker=worker, metrics=metrics, clock=clock, executable=executable,
                   writer=DecisionWriter(intake), reads=reads,
                   chat=chat_if_configured(settings, database=database, reads=reads,
                                           metrics=metrics, clock=clock),
                   timeline=timeline_if_configured(settings, database=database,
                                                   metrics=metrics, clock=clock),
                   sessions=SessionStore(database), operator_store=OperatorStore(database),
                   approval_store=ApprovalStore(database), alertmanager=alertmanager,
                   catch_up=CatchUp(alertmanager, intake, on_decided=worker.wake),
                   prometheus=prometheus, kubernetes=deferred)


def chat_if_configured(settings: Settings, *, database: Database, reads: ReadModel,
                       metrics: Metrics, clock: Clock) -> Chat | None:
    """Slack/Mattermost, imported only when configured (start-up stays without httpx)."""
    if settings.slack_signing_secret_file is None and settings.mattermost_token_file is None:
        return None
    from remediator.app.chat import build_chat

    return build_chat(settings, database=database, reads=reads, metrics=metrics, clock=clock)


def timeline_if_configured(settings: Settings, *, database: Database, metrics: Metrics,
                           clock: Clock) -> Timeline | None:
    """PagerDuty/Opsgenie/Grafana, imported only when configured."""
    if (settings.pagerduty_routing_key_file is None and settings.opsgenie_api_key_file is None
            and settings.grafana_token_file is None):
        return None
    from remediator.app.timeline import build_timeline

    return build_timeline(settings, database=database, metrics=metrics, clock=clock)


def warn_about_reach(settings: Settings, executable: frozenset[str]) -> None:
    """What start-up says when the service can do less (or more) than the user may think."""
    if not any(t.startswith("kubernetes.") for t in executable):
        log.warning("no Kubernetes connection (%s): Kubernetes actions run as dry-runs "
                    "(decided and audited, not executed)", no_kubernetes_reason(settings))
    if "kube-system" not in settings.denied_namespaces:
        log.warning("kube-system is not in DENIED_NAMESPACES (%s): setting the list "
                    "replaces the default", ",".join(settings.denied_namespaces) or "empty")


def build_worker(settings: Settings, *, database: Database, rulebook: RuleBook,
                 policy: Policy, actions: ActionRegistry, verifier: Verifier,
                 prometheus: PrometheusExecutor | None, metrics: Metrics,
                 clock: Clock, proposer: Proposer | None = None) -> Worker:
    """The worker and its pre-flight, each given its side of the store facade (built
    here once; the scheduler's retention uses the worker's) and the rules as reloaded."""

    def rule(name: str) -> Rule | None:
        return rulebook.current.by_name(name)

    preflight = Preflight(store=PreflightStore(database), actions=actions,
                          prometheus=prometheus, rules=rule, clock=clock,
                          config=PreflightConfig.from_settings(settings),
                          gitops=GitopsGate(actions=actions, proposer=proposer, clock=clock,
                                            config=GitopsConfig.from_settings(settings)))
    return Worker(store=Store(database), policy=policy, rules=rule, actions=actions,
                  verifier=verifier, metrics=metrics.worker, clock=clock,
                  concurrency=settings.workers, retries=settings.action_retries,
                  backoff=settings.retry_backoff, preflight=preflight)


def database_timeouts(settings: Settings) -> Timeouts:
    """The PostgreSQL session bounds from settings (store.timeouts says why)."""
    return Timeouts(lock=settings.db_lock_timeout.total_seconds(),
                    statement=settings.db_statement_timeout.total_seconds(),
                    idle_in_transaction=settings.db_idle_in_transaction_timeout.total_seconds(),
                    connect=settings.db_connect_timeout.total_seconds(),
                    keepalive=settings.db_keepalive.total_seconds())


class SharedSecretsMissing(ValueError):
    """PostgreSQL without the keys every replica must share: `serve` refuses (exit 2)."""


def open_seal(settings: Settings) -> AuditSeal:
    """The audit key from settings: generated on first start with SQLite; with PostgreSQL
    it (and the session key) must be configured, or the service refuses to start."""
    problem = settings.shared_secrets_problem()
    if problem is not None:
        raise SharedSecretsMissing(problem)
    key_file, head_file = settings.audit_files()
    return AuditSeal.open(key_file, head_file,
                          create=settings.database_url.startswith("sqlite"))


def kube_config_present(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the client would find a configuration (checked without importing it).

    Importing the Kubernetes client costs about a second and 30 MB; a service
    without a cluster should not pay that at every start. The client adapter
    asks the same `find_kube_source`, so both agree on `KUBECONFIG=~/kc`.
    """
    return find_kube_source(environ) is not None


def missing_kubeconfig(environ: Mapping[str, str] | None = None) -> str | None:
    """The KUBECONFIG that was set but names no existing file, or None.

    Like kubectl, the client then looks elsewhere (the in-cluster account) or
    runs without a cluster (`--kubernetes auto`): the path goes into the
    warning, or the refusal with `--kubernetes on`, so a typo is visible.
    """
    env = os.environ if environ is None else environ
    listed = env.get("KUBECONFIG", "")
    if not listed or any(path.is_file() for path in kubeconfig_paths(env)):
        return None
    return listed


def no_kubernetes_reason(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """Why the service runs without Kubernetes, for the start-up warning."""
    if settings.kubernetes == "off":
        return "kubernetes is off"
    missing = missing_kubeconfig(environ)
    if missing is not None:
        return f"KUBECONFIG names {missing}, which does not exist"
    return "no KUBECONFIG, ~/.kube/config or in-cluster ServiceAccount found"


def default_actions(settings: Settings) -> ActionRegistry:
    """Kubernetes actions when a cluster is configured; plays when an inventory is.

    Whatever is not configured is decided and audited as a dry-run, so a
    newcomer can watch the service decide without a cluster.
    """
    return actions_and_cluster(settings)[0]


def actions_and_cluster(settings: Settings) -> tuple[ActionRegistry, str]:
    """`default_actions`, and the Kubernetes API server they talk to ("none")."""
    cluster = "none"
    registry = ActionRegistry(_playbooks(settings))
    wanted = settings.kubernetes == "on" or (settings.kubernetes == "auto"
                                             and kube_config_present())
    if wanted:
        from remediator.actions.kubernetes import actions as kubernetes

        client = kubernetes.load_api_client(settings.kubernetes)
        if client is not None:
            for type_, action in kubernetes.kubernetes_actions(
                    client, evidence_readers=settings.workers).items():
                registry.register(type_, action)
            cluster = str(client.configuration.host)
    return registry, cluster


def service_actions(settings: Settings, environ: Mapping[str, str] | None = None,
                    ) -> tuple[ActionRegistry, str, DeferredActions | None]:
    """`actions_and_cluster` for `serve`: the Kubernetes client loads in the background.

    Its configuration is checked now (a broken one is a start-up error) and
    its action types are registered now, so decisions do not depend on
    whether the import has finished; `Services.start` begins it.
    """
    missing = missing_kubeconfig(environ)
    if settings.kubernetes == "on" and missing and find_kube_source(environ) is None:
        raise KubeConfigError(f"KUBECONFIG names {missing}, which does not exist "
                              "(--kubernetes on requires a cluster)")
    registry = ActionRegistry(_playbooks(settings))
    deferred, cluster = deferred_kubernetes(settings.kubernetes, environ=environ,
                                            evidence_readers=settings.workers)
    if deferred is not None:
        registry.register_deferred(deferred)
    return registry, cluster, deferred


def _playbooks(settings: Settings) -> dict[str, Action]:
    if settings.ansible_inventory is None:
        return {}
    from remediator.actions.ansible.action import AnsiblePlaybookAction

    return {"ansible.playbook": AnsiblePlaybookAction(settings.playbook_dir,
                                                      inventory=settings.ansible_inventory)}


def startup_summary(settings: Settings, rulebook: RuleBook, database: Database,
                    cluster: str) -> str:
    """One line saying what the service runs with (no secrets: the password is masked)."""
    rules = rulebook.current
    inventory = settings.ansible_inventory or "none (plays are dry-runs)"
    return (f"loaded {len(rules.rules)} rules from {len(rules.sources)} file(s) "
            f"[{', '.join(rules.sources) or 'none'}] digest {rules.digest or '-'}; "
            f"database {database.display_url}; kubernetes {cluster}; "
            f"ansible inventory {inventory}; dry-run {'on' if settings.dry_run else 'off'}")
